// Regenerates playground/src/examples.json from the repository's conformance
// cases (tests/conformance). The output is committed.
// Each example: the routing resources of one route-test file (its `inline:`
// block), then the Bookinfo platform (Services and Deployments), and the
// request of the file's first case.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir as conformance } from './paths.mjs';

const EXAMPLES = [
  {
    id: 'routing-jason', title: 'Bookinfo: request routing by user (jason → reviews v2)',
    file: 'bookinfo-request-routing-jason.routetest.yaml',
    request: { host: 'reviews', port: 9080, path: '/reviews/0', headers: {} },
  },
  {
    id: 'shifting-50', title: 'Bookinfo: traffic shifting 50% to reviews v3',
    file: 'bookinfo-traffic-shifting-50-v3.routetest.yaml',
    request: { host: 'reviews', port: 9080, path: '/reviews/0', headers: {} },
  },
  {
    id: 'fault-abort', title: 'Bookinfo: fault injection, HTTP abort for jason',
    file: 'bookinfo-fault-injection-abort.routetest.yaml',
    request: { host: 'ratings', port: 9080, path: '/ratings/0', headers: { 'end-user': 'jason' } },
  },
  {
    id: 'fault-delay', title: 'Bookinfo: fault injection, 7s delay for jason',
    file: 'bookinfo-fault-injection-delay.routetest.yaml',
    request: { host: 'ratings', port: 9080, path: '/ratings/0', headers: { 'end-user': 'jason' } },
  },
  {
    id: 'timeouts', title: 'Bookinfo: request timeouts',
    file: 'bookinfo-request-timeouts.routetest.yaml',
    request: { host: 'reviews', port: 9080, path: '/reviews/0', headers: {} },
  },
  {
    id: 'ingress', title: 'Bookinfo: ingress gateway',
    file: 'ingress-gateway-bookinfo.routetest.yaml',
    request: { host: 'bookinfo.example.com', port: 8080, path: '/productpage', headers: {}, gateway: 'default/bookinfo-gateway' },
  },
];

/** The `inline: |` block of a route-test file, de-indented. */
function inlineBlock(text, file) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s+inline:\s*\|/.test(l));
  if (start < 0) throw new Error(`${file}: no inline block`);
  const indent = lines[start].search(/\S/) + 2;
  const out = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) < indent) break;
    out.push(line.slice(indent));
  }
  return out.join('\n').trimEnd() + '\n';
}

/** A route-test file's header comment (the docs it is backed by). */
function headerComment(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    out.push(line);
  }
  return out.join('\n');
}

const platform = readFileSync(join(conformance, 'bookinfo.yaml'), 'utf8');
const examples = EXAMPLES.map(({ id, title, file, request }) => {
  const text = readFileSync(join(conformance, file), 'utf8');
  const yaml = `${headerComment(text)}\n${inlineBlock(text, file)}---\n${platform.trimEnd()}\n`;
  return { id, title, yaml, request: { method: 'GET', gateway: 'mesh', source: { namespace: 'default', labels: {} }, ...request } };
});
writeFileSync(new URL('../playground/src/examples.json', import.meta.url), JSON.stringify(examples, null, 1) + '\n');
console.log(`wrote ${examples.length} examples`);
