// route() reads the request without JSON text and builds the decision from a
// tape (src/convert.rs, src/convert.js); explain() still goes through JSON
// both ways. These tests hold the two to the same results, key order and
// errors included, and check that millions of route() calls keep memory bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { conformanceDir } from '../scripts/paths.mjs';
import { loadCatchingMemory } from '../scripts/memory.mjs';

const require = createRequire(import.meta.url);
// The module's memory, for the bound test.
const {
  exports: { Mesh, runRouteTests },
  memory,
} = loadCatchingMemory(() => require('../pkg/node/meshroute_wasm.js'));

/** explain() without its trace: the decision through serde JSON and JSON.parse. */
function viaJson(mesh, request) {
  const { trace, ...decision } = mesh.explain(request);
  assert.ok(Array.isArray(trace));
  return decision;
}

/** route() equals the JSON path: same keys in the same order, same values. */
function assertSameAsJson(mesh, request, label) {
  const fast = mesh.route(request);
  assert.equal(Object.getPrototypeOf(fast), Object.prototype, `${label}: a plain object`);
  assert.equal(JSON.stringify(fast), JSON.stringify(viaJson(mesh, request)), label);
  return fast;
}

/** The error message a call throws, or null. */
function thrown(f) {
  try {
    f();
    return null;
  } catch (e) {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    return e.message;
  }
}

/** The inline block of a route-test file, de-indented (as scripts/make-examples.mjs reads it). */
function inlineBlock(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s+inline:\s*\|/.test(l));
  if (start < 0) return '';
  const indent = lines[start].search(/\S/) + 2;
  const out = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) < indent) break;
    out.push(line.slice(indent));
  }
  return out.join('\n');
}

const dir = conformanceDir;
const names = readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
const files = Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));

test('every conformance request: route() gives the core\'s decision JSON, key order included', () => {
  let compared = 0;
  for (const name of names.filter((n) => n.endsWith('.routetest.yaml'))) {
    const text = files[name];
    const listed = /^\s+files:\s*\[([^\]]*)\]/m.exec(text)?.[1].split(',').map((s) => s.trim()).filter(Boolean) ?? [];
    const config = Object.fromEntries(listed.map((f) => [f, files[f]]));
    config['inline.yaml'] = inlineBlock(text);
    const mesh = Mesh.fromFiles(config);
    const report = runRouteTests(text, files, name);
    assert.ok(report.cases.length > 0, name);
    for (const c of report.cases) {
      const label = `${name}: ${c.name}`;
      if ('error' in c.actual) {
        assert.equal(thrown(() => mesh.route(c.request)), thrown(() => mesh.explain(c.request)), label);
        continue;
      }
      const fast = assertSameAsJson(mesh, c.request, label);
      // The route-test runner's decision (the core's serde JSON, keys sorted) for the same config.
      assert.deepEqual(fast, c.actual, label);
      compared++;
    }
    mesh.free();
  }
  assert.ok(compared >= 30, `compared ${compared} decisions`);
});

// Every field of the decision, through a configuration that sets them all.
const EVERYTHING = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{port: 80, name: http}, {port: 8080, name: http-alt}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: default}
spec:
  host: web.default.svc.cluster.local
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user}}
    connectionPool: {tcp: {maxConnections: 10}, http: {http1MaxPendingRequests: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s}
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web.default.svc.cluster.local]
  http:
  - name: moved
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, redirectCode: 308}
  - name: teapot
    match: [{uri: {exact: /tea}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - name: main
    match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v2/api, authority: backend}
    timeout: 5s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset"}
    fault:
      delay: {fixedDelay: 1s, percentage: {value: 10}}
      abort: {httpStatus: 503, percentage: {value: 1.5}}
    mirror: {host: web.default.svc.cluster.local, subset: v1}
    mirrorPercentage: {value: 25}
    corsPolicy:
      allowOrigins: [{exact: "https://a.example"}]
      allowMethods: [GET, POST]
      maxAge: 24h
      allowCredentials: true
    headers:
      request:
        set: {x-set: "1", __proto__: "kept as a key"}
        add: {x-add: two}
        remove: [x-remove]
      response:
        set: {x-resp: "é✓"}
    route:
    - destination: {host: web.default.svc.cluster.local, subset: v2, port: {number: 8080}}
      weight: 75
    - destination: {host: web.default.svc.cluster.local, subset: v3}
      weight: 25
  - route:
    - destination: {host: nowhere.default.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  ports: [{port: 9080, name: http}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    delegate: {name: leaf, namespace: team}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: leaf, namespace: team}
spec:
  http:
  - match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
`;

test('every decision field, in the core\'s order and shape', () => {
  const mesh = Mesh.fromYaml(EVERYTHING);
  const web = { host: 'web.default.svc.cluster.local', port: 80 };
  const main = assertSameAsJson(mesh, { ...web, path: '/api/x' }, 'main rule');
  assert.equal(main.rule.name, 'main');
  for (const key of ['rewrite', 'timeout', 'retries', 'fault', 'mirrors', 'cors', 'requestHeaders', 'responseHeaders']) {
    assert.ok(key in main, `${key} in ${JSON.stringify(main)}`);
  }
  assert.equal(main.destinations.length, 2);
  assert.ok(main.destinations[0].policy, 'a destination policy');
  assert.deepEqual(Object.keys(main.requestHeaders.set).sort(), ['__proto__', 'x-set']);
  assert.equal(Object.getPrototypeOf(main.requestHeaders.set), Object.prototype, '__proto__ is a key, not the prototype');
  assert.equal(main.responseHeaders.set['x-resp'], 'é✓');
  assert.equal(assertSameAsJson(mesh, { ...web, path: '/old/page?q=1' }, 'redirect').outcome, 'redirect');
  assert.equal(assertSameAsJson(mesh, { ...web, path: '/tea' }, 'direct response').outcome, 'directResponse');
  const fallthrough = assertSameAsJson(mesh, { ...web, path: '/other' }, 'unnamed rule, unknown destination');
  assert.equal(fallthrough.rule.name, undefined);
  assert.ok(fallthrough.destinations[0].problem, JSON.stringify(fallthrough));
  const delegated = assertSameAsJson(mesh, { host: 'reviews', port: 9080, path: '/api/v2/x' }, 'delegate');
  assert.equal(delegated.delegatedFrom, 'default/root');
  assert.equal(assertSameAsJson(mesh, { host: 'unknown.example.org' }, 'passthrough').outcome, 'passthrough');
  assertSameAsJson(mesh, { host: 'api.example.com', port: 443, scheme: 'https' }, 'service entry, default route');
  assertSameAsJson(mesh, { host: 'api.example.com', port: 443, protocol: 'tls', sni: 'api.example.com' }, 'tls');
  assertSameAsJson(mesh, { host: 'web.default.svc.cluster.local', port: 80, protocol: 'tcp', destinationIp: '10.0.0.1' }, 'tcp');
  mesh.free();
});

test('requests: the packed path reads what JSON reads, and odd ones give the JSON path\'s errors', () => {
  const mesh = Mesh.fromYaml(JSON.parse(readFileSync(new URL('../playground/src/examples.json', import.meta.url), 'utf8'))[0].yaml);
  const base = { host: 'reviews', port: 9080, path: '/reviews/0' };
  const same = [
    base,
    { host: 'reviews' },
    { ...base, headers: { 'End-User': 'jason' } },
    { ...base, headers: { 'end-user': ['ja', 'son'], 'x-b': [] } },
    { ...base, method: 'POST', scheme: 'https', gateway: 'mesh' },
    { ...base, source: { namespace: 'other', labels: { app: 'productpage', version: 'v1' } } },
    { ...base, source: {} },
    { ...base, port: 0 },
    { ...base, port: -0 },
    { ...base, path: '/é/✓?q=ü' },
    { host: 'reviews:9080' },
    { ...base, protocol: 'tcp', destinationIp: '10.1.2.3' },
    { ...base, protocol: 'tls', sni: 'reviews' },
    { ...base, port: undefined },
    { ...base, port: NaN },
    { ...base, headers: { a: undefined } },
    { ...base, toJSON() { return { host: 'ratings', port: 9080 }; } },
    Object.assign(Object.create({ inherited: 1 }), base),
  ];
  for (const request of same) {
    const label = JSON.stringify(request) ?? String(request);
    assertSameAsJson(mesh, request, label);
  }
  assert.equal(mesh.route({ ...base, toJSON() { return { host: 'ratings', port: 9080 }; } }).virtualService, 'default/ratings');
  const errors = [
    { host: 'reviews', hedaers: {} },
    { host: 'reviews', source: { namepsace: 'x' } },
    { path: '/' },
    { host: '' },
    { ...base, port: 65536 },
    { ...base, port: 9080.5 },
    { ...base, port: '9080' },
    { ...base, method: null },
    { ...base, protocol: 'udp' },
    { ...base, headers: { a: 1 } },
    { ...base, headers: { a: ['1', 2] } },
    { ...base, headers: { a: '\ud800' } },
    { ...base, path: '/' + 'a'.repeat(70000) },
    { ...base, headers: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`h${i}`, 'v'])) },
    { ...base, headers: { many: Array.from({ length: 1025 }, () => 'v') } },
    { ...base, get path() { throw new Error('getter'); } },
    'reviews',
    null,
    [base],
  ];
  for (const request of errors) {
    const label = (() => { try { return JSON.stringify(request).slice(0, 80); } catch { return 'throwing getter'; } })();
    const fast = thrown(() => mesh.route(request));
    assert.ok(fast, `${label}: route() throws`);
    assert.equal(fast, thrown(() => mesh.explain(request)), label);
  }
  // NUL is legal in a JSON string; strings cross with their lengths, so it crosses as it is.
  assertSameAsJson(mesh, { ...base, headers: { x: 'a\0b' } }, 'NUL in a header value');
  assertSameAsJson(mesh, { ...base, path: '/a\0b' }, 'NUL in the path');
  // After all of that the mesh still decides, and can be freed.
  assert.equal(mesh.route(base).outcome, 'route');
  mesh.free();
});

test('1,000,000 route() calls, each redirected to a new location, keep memory bounded', () => {
  assert.ok(memory instanceof WebAssembly.Memory);
  // Every decision carries a string made from the request (the Location),
  // the kind the string table must not keep piling up.
  // The ServiceEntry gives the sidecar its port-80 listener (Istio routes a
  // VirtualService-only host there only when some service listens on 80).
  const mesh = Mesh.fromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: old, namespace: default}
spec: {hosts: [old.example.org], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: moved, namespace: default}
spec:
  hosts: [old.example.org]
  http:
  - redirect: {authority: new.example.org}
`);
  const call = (i) => mesh.route({ host: 'old.example.org', path: `/p/${i}`, headers: { 'x-i': String(i) } });
  for (let i = 0; i < 20000; i++) call(i);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  gc();
  const before = { wasm: memory.buffer.byteLength, heap: process.memoryUsage().heapUsed };
  let last;
  for (let i = 0; i < 1_000_000; i++) last = call(i);
  assert.deepEqual(last.redirect, { status: 301, location: 'http://new.example.org/p/999999' });
  gc();
  const wasmGrowth = memory.buffer.byteLength - before.wasm;
  const heapGrowth = process.memoryUsage().heapUsed - before.heap;
  assert.ok(wasmGrowth <= 1024 * 1024, `wasm memory grew by ${wasmGrowth} bytes`);
  assert.ok(heapGrowth <= 16 * 1024 * 1024, `JS heap grew by ${heapGrowth} bytes`);
  mesh.free();
});
