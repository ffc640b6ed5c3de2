// Writes the overview's "In plain words" table: each link of the page's Link header,
// what it asks the browser to do, and whether the browser fetched the file, according to
// Resource Timing. Loaded by app.mjs with import(): the page's late-discovered resource.
import { param } from '../lib/link-header.mjs';

const AS_WORDS = {
  style: 'a stylesheet',
  script: 'a classic script',
  font: 'a font',
  image: 'an image',
  fetch: 'data for fetch()',
  track: 'a text track',
};

function describe(link) {
  const rel = param(link, 'rel') ?? '(no rel)';
  const as = param(link, 'as');
  const words = [];
  if (rel === 'modulepreload') words.push('preload a JavaScript module');
  else if (rel === 'preload') words.push(`preload ${AS_WORDS[as] ?? `as=${as}`}`);
  else words.push(rel);
  for (const [name, value] of link.params) {
    if (name === 'crossorigin') words.push('in CORS mode (crossorigin)');
    else if (name === 'type') words.push(`of type ${value}`);
    else if (name === 'nopush') words.push('not to be pushed by a proxy (nopush)');
    else if (name === 'fetchpriority') words.push(`with ${value} priority`);
    else if (name !== 'rel' && name !== 'as') words.push(value === null ? name : `${name}=${value}`);
  }
  return words.join(', ');
}

function formatSize(bytes) {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${bytes} B`;
}

function fetchedCell(cell, link) {
  const url = new URL(link.target, document.baseURI).href;
  const entries = performance.getEntriesByName(url, 'resource');
  if (entries.length === 0) {
    cell.className = 'fetched-no';
    cell.textContent = 'not (yet)';
    return;
  }
  const entry = entries[0];
  const how = [`started by: ${entry.initiatorType}`];
  if (entry.nextHopProtocol) how.push(entry.nextHopProtocol);
  if (entry.transferSize > 0) how.push(formatSize(entry.transferSize));
  else if (entry.decodedBodySize > 0) how.push('from the cache');
  if (entries.length > 1) how.push(`${entries.length} times!`);
  cell.className = 'fetched-yes';
  cell.textContent = `yes (${how.join(', ')})`;
}

export function renderLinkTable(table, links) {
  const body = table.tBodies[0];
  const rows = links.map((link) => {
    const row = document.createElement('tr');
    const file = row.insertCell();
    file.textContent = link.target;
    row.insertCell().textContent = describe(link);
    const fetched = row.insertCell();
    fetchedCell(fetched, link);
    return { row, link, fetched };
  });
  body.replaceChildren(...rows.map(({ row }) => row));
  // Some files arrive after this runs (the font, this very module's siblings): update
  // the "fetched" column as Resource Timing reports them.
  const refresh = () => rows.forEach(({ link, fetched }) => fetchedCell(fetched, link));
  new PerformanceObserver(refresh).observe({ type: 'resource' });
  window.addEventListener('load', refresh);
}

export function renderMessage(table, message) {
  const row = document.createElement('tr');
  const cell = row.insertCell();
  cell.colSpan = 3;
  cell.textContent = message;
  table.tBodies[0].replaceChildren(row);
}
