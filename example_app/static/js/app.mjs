// The overview page's script. A module script: the browser fetches it, and everything it
// imports, in CORS mode, which is why its preload links say crossorigin.
//
// Its module graph is what preloading is for: app.mjs is found in the HTML, but
// lib/link-header.mjs only once app.mjs has been downloaded and parsed, and
// lazy/link-table.mjs only when import() runs. The page's Link header names all three
// (rel=modulepreload), so the browser can fetch them together.
import { parseLinkHeader } from './lib/link-header.mjs';

// A dynamic import, started at once: the table renderer is only needed to show results.
const tableModule = import('./lazy/link-table.mjs');

// Sections with data-fetch="URL" show a summary of that JSON. The view preloaded the URL
// (as=fetch; crossorigin), which matches what a plain fetch() of a same-origin URL does.
async function showStats(section) {
  const text = section.querySelector('#stats-text');
  try {
    const response = await fetch(section.dataset.fetch);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const stats = await response.json();
    const headers = stats.last_link_header_by_path;
    const pages = Object.keys(headers).length;
    const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;
    text.textContent =
      `Since it started ${stats.uptime_seconds} s ago, this server process has answered ` +
      `${plural(stats.responses, 'request')} other than static files; ` +
      `${stats.responses_with_link_header} of the responses carried a Link header, for ` +
      `${plural(pages, 'different page')}. (Fetched from ${section.dataset.fetch}, which ` +
      `gets no Link header itself: it is JSON.)`;
    const { renderHeaderTable } = await tableModule;
    const parsed = Object.entries(headers).map(([path, value]) => [path, parseLinkHeader(value)]);
    renderHeaderTable(section.querySelector('#stats-table'), parsed);
  } catch (error) {
    text.textContent = `Could not fetch ${section.dataset.fetch}: ${error.message}`;
  }
}

const statsSection = document.querySelector('[data-fetch]');
if (statsSection) showStats(statsSection);
