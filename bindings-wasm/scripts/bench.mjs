// Times Mesh.route on the Bookinfo "jason" request with the nodejs package
// (pkg/node), used as the playground's timeDecision uses it; best of many
// short rounds (the figure a loaded machine lets through). With a build made
// with MESHROUTE_WASM_FEATURES=bench-parts it also times the parts: reading
// the request object, the core's decision, the tape, the JS object.
//   node scripts/bench.mjs [pkg dir]
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crateDir } from './paths.mjs';
import { loadCatchingMemory } from './memory.mjs';

const require = createRequire(import.meta.url);
const pkg = process.argv[2] ?? join(crateDir, 'pkg/node');
// The module's memory, for timing packRequest alone.
const { exports: m, memory } = loadCatchingMemory(() => require(join(pkg, 'meshroute_wasm.js')));
const examples = JSON.parse(readFileSync(join(crateDir, 'playground/src/examples.json'), 'utf8'));
const jason = examples.find((e) => e.id === 'routing-jason');
const request = { ...jason.request, headers: { 'end-user': 'jason' } };
const mesh = m.Mesh.fromYaml(jason.yaml);

const CALLS = 20000;
const ROUNDS = 60;
let sink;
const round = (f) => {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) f();
  return ((performance.now() - t0) * 1000) / CALLS;
};
const parts = {
  'route() (request object in, decision used)': () => {
    const d = mesh.route(request);
    sink = d.outcome + d.destinations[0].host + d.destinations[0].subset;
  },
  'JSON.stringify(request) (the old path\'s first step)': () => { sink = JSON.stringify(request); },
};
// packRequest alone writes into a memory of its own, not the module's.
let alone = () => {}, shared = () => {};
if (m.Bench) {
  const snippet = readdirSync(join(pkg, 'snippets'), { recursive: true }).find((f) => f.endsWith('convert.js'));
  const { packRequest, useMemory } = require(join(pkg, 'snippets', snippet));
  const b = new m.Bench(JSON.stringify(request));
  const scratch = { buffer: new ArrayBuffer(65536) };
  alone = () => useMemory(scratch);
  shared = () => useMemory(memory);
  Object.assign(parts, {
    'packRequest (JS)': () => { sink = packRequest(request, 0, 4096, 8192, 256); },
    'read request (packRequest + Request)': () => { sink = b.read(request); },
    'serde_json request parse (old path)': () => { sink = b.parse(); },
    'decide (core)': () => { sink = b.decide(mesh); },
    'decide + serde_json text (old path)': () => { sink = b.serialise(mesh); },
    'decide + tape': () => { sink = b.tapeWrite(mesh); },
    'decide + tape + JS object': () => { sink = b.tapeBuild(mesh); },
  });
}
const best = Object.fromEntries(Object.keys(parts).map((k) => [k, Infinity]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, f] of Object.entries(parts)) {
    if (k.startsWith('packRequest')) alone();
    best[k] = Math.min(best[k], round(f));
    shared();
  }
}
for (const [k, v] of Object.entries(best)) console.log(`${k.padEnd(52)} ${v.toFixed(3)} µs`);
