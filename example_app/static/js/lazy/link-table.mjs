// Writes the overview's "This server so far" table: for each page this server process
// has answered, how many links of each kind its last Link header had. Loaded by app.mjs
// with import(): the page's late-discovered resource.
import { param } from '../lib/link-header.mjs';

function summary(links) {
  const counts = new Map();
  for (const link of links) {
    const rel = param(link, 'rel') ?? '(no rel)';
    const kind = rel === 'preload' ? `preload as=${param(link, 'as')}` : rel;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const kinds = [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
  return `${links.length}: ${kinds}`;
}

// pages: [[path, parsed links], ...], as app.mjs read them from /api/stats.
export function renderHeaderTable(table, pages) {
  const rows = pages.map(([path, links]) => {
    const row = document.createElement('tr');
    row.insertCell().textContent = path;
    row.insertCell().textContent = summary(links);
    return row;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
}
