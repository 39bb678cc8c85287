// The nodejs package's API: fromYaml / fromFiles, check, route, explain,
// locate, errors as JS Errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { Mesh, version } = require('../pkg/node/meshroute_wasm.js');
const examples = JSON.parse(readFileSync(new URL('../playground/src/examples.json', import.meta.url), 'utf8'));
const jason = examples.find((e) => e.id === 'routing-jason');

const REVIEWS = { host: 'reviews', port: 9080, path: '/reviews/0' };

test('version is the crate version', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test('a header decides between reviews v1 and v2 (rules in order, first match wins)', () => {
  const mesh = Mesh.fromYaml(jason.yaml);
  const v2 = mesh.route({ ...REVIEWS, headers: { 'end-user': 'jason' } });
  assert.equal(v2.outcome, 'route');
  assert.equal(v2.virtualService, 'default/reviews');
  assert.deepEqual(v2.rule, { index: 0 });
  assert.equal(v2.destinations.length, 1);
  assert.equal(v2.destinations[0].host, 'reviews.default.svc.cluster.local');
  assert.equal(v2.destinations[0].subset, 'v2');
  assert.equal(v2.destinations[0].weight, 100);
  assert.equal(v2.trace, undefined, 'route() carries no trace');

  const v1 = mesh.route({ ...REVIEWS, headers: { 'end-user': 'Jason' } });
  assert.deepEqual(v1.rule, { index: 1 });
  assert.equal(v1.destinations[0].subset, 'v1');
  mesh.free();
});

test('explain returns the same decision with a trace a person can follow', () => {
  const mesh = Mesh.fromYaml(jason.yaml);
  const request = { ...REVIEWS, headers: { 'end-user': 'mary' } };
  const explained = mesh.explain(request);
  const { trace, ...rest } = explained;
  assert.deepEqual(rest, mesh.route(request));
  assert.ok(Array.isArray(trace) && trace.length > 0);
  for (const entry of trace) {
    assert.equal(typeof entry.stage, 'string');
    assert.equal(typeof entry.subject, 'string');
    assert.ok(['matched', 'failed', 'skipped', 'note'].includes(entry.verdict), entry.verdict);
    assert.ok(entry.detail.length > 0);
  }
  assert.ok(trace.some((t) => t.verdict === 'failed'), 'the jason rule is shown as not matching');
});

// The docs' destination-rule-all.yaml names ratings subsets (v2-mysql, v2-mysql-vm)
// that Bookinfo does not deploy: istioctl analyze reports them (IST0173), so does check.
const istioctlReportsItToo = (m) => m.code === 'IST0173' && m.resource === 'DestinationRule default/ratings';

test('check is clean for the bookinfo example and reports a typo at its line', () => {
  assert.deepEqual(
    Mesh.fromYaml(jason.yaml).check().filter((m) => m.severity === 'Error' && !istioctlReportsItToo(m)),
    [],
  );
  const lines = jason.yaml.split('\n');
  const typoLine = lines.findIndex((l) => l.trim() === 'subset: v2') + 1;
  assert.ok(typoLine > 0);
  lines[typoLine - 1] = lines[typoLine - 1].replace('subset:', 'subet:');
  const messages = Mesh.fromYaml(lines.join('\n'), { fileName: 'mesh.yaml' }).check();
  const typo = messages.find((m) => m.text.includes('subet'));
  assert.ok(typo, JSON.stringify(messages));
  assert.equal(typo.severity, 'Error');
  assert.equal(typo.source.file, 'mesh.yaml');
  assert.equal(typo.source.line, typoLine);
  assert.match(typo.code, /^(IST|MR)\d{4}$/);
});

test('invalid YAML is a message, not a throw; strict mode throws an Error with the messages', () => {
  const broken = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x\n';
  const messages = Mesh.fromYaml(broken).check();
  assert.ok(messages.some((m) => m.severity === 'Error' && m.source.line >= 1));
  assert.throws(() => Mesh.fromYaml(broken, { strict: true }), (e) => e instanceof Error && /error/.test(e.message));
  // Strict mode refuses errors, the ratings MySQL subsets istioctl reports too among them.
  assert.throws(() => Mesh.fromYaml(jason.yaml, { strict: true }), /IST0173/);
  const deployedSubsetsOnly = jason.yaml.replace(/ {2}- name: v2-mysql(-vm)?\n {4}labels:\n {6}version: v2-mysql(-vm)?\n/g, '');
  assert.doesNotThrow(() => Mesh.fromYaml(deployedSubsetsOnly, { strict: true }));
});

// A root VirtualService whose `delegate` entries, each counted as the leaf's
// routes, carry more HTTP routes than limits::MAX_RULES_PER_HOST
// (317 x 317 = 100,489 > 100,000) in a few kilobytes of text.
function overTheRulesPerHostLimit() {
  const perSide = 317;
  return 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: root}\nspec:\n  hosts: [t.example]\n  http:\n'
    + '  - delegate: {name: leaf}\n'.repeat(perSide)
    + '---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: leaf}\nspec:\n  http:\n'
    + '  - route: [{destination: {host: t.example}}]\n'.repeat(perSide)
    + '---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\n'
    + 'spec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n';
}

test('a VirtualService left out for exceeding the rules-per-host limit is reported', () => {
  const text = overTheRulesPerHostLimit();
  const mesh = Mesh.fromYaml(text, { fileName: 'limit.yaml' });
  const limits = mesh.check().filter((m) => m.code === 'MR0005');
  assert.equal(limits.length, 1, JSON.stringify(limits));
  const [limit] = limits;
  assert.equal(limit.severity, 'Error');
  assert.equal(limit.resource, 'VirtualService default/root');
  assert.equal(limit.source.file, 'limit.yaml');
  assert.equal(limit.source.line, 6);
  assert.match(limit.text, /MAX_RULES_PER_HOST/);
  assert.equal(mesh.route({ host: 't.example' }).virtualService, undefined, 'left out of the table');
  mesh.free();
  assert.throws(() => Mesh.fromYaml(text, { strict: true }), (e) => e instanceof Error && e.message.includes('MAX_RULES_PER_HOST'));
});

test('a kind meshroute does not model is an Info message, and strict mode accepts it', () => {
  const text = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n';
  const messages = Mesh.fromYaml(text, { fileName: 'route.yaml', strict: true }).check();
  assert.equal(messages.length, 1, JSON.stringify(messages));
  const [m] = messages;
  assert.equal(m.code, 'MR0007');
  assert.equal(m.severity, 'Info');
  assert.equal(m.resource, 'HTTPRoute default/r');
  assert.deepEqual([m.source.file, m.source.line, m.source.column], ['route.yaml', 1, 1]);
  assert.equal(m.text, 'HTTPRoute default/r is not modelled: ignored');
});

test('a malformed request throws an Error naming the problem', () => {
  const mesh = Mesh.fromYaml(jason.yaml);
  assert.throws(() => mesh.route({ host: 'reviews', hedaers: {} }), (e) => e instanceof Error && e.message.includes('hedaers'));
  assert.throws(() => mesh.route({ host: '' }), (e) => e instanceof Error && e.message.includes('host is empty'));
  assert.throws(() => mesh.explain({ path: '/' }), (e) => e instanceof Error && e.message.includes('host'));
  assert.throws(() => mesh.route('reviews'), Error);
  assert.throws(() => mesh.route({ host: 'reviews', path: '/' + 'a'.repeat(100000) }), (e) => e instanceof Error && /limit|more than/.test(e.message));
  // The nearest valid request works.
  assert.equal(mesh.route({ host: 'reviews', port: 9080 }).outcome, 'route');
  // A service's name is routed on its own ports only (Envoy's listeners): port 80 is not one.
  assert.equal(mesh.route({ host: 'reviews' }).outcome, 'passthrough');
});

test('invalid mesh options throw an Error', () => {
  assert.throws(() => Mesh.fromYaml('', { outboundTrafficPolicy: 'DENY' }), (e) => e instanceof Error && e.message.includes('REGISTRY_ONLY'));
  assert.throws(() => Mesh.fromYaml('', { defaultNamepsace: 'x' }), (e) => e instanceof Error && e.message.includes('defaultNamepsace'));
});

test('outboundTrafficPolicy decides unknown hosts', () => {
  assert.equal(Mesh.fromYaml('').route({ host: 'example.org' }).outcome, 'passthrough');
  const strict = Mesh.fromYaml('', { outboundTrafficPolicy: 'REGISTRY_ONLY' }).route({ host: 'example.org' });
  assert.notEqual(strict.outcome, 'passthrough');
});

test('meshConfig (YAML or object) decides unknown hosts and is named by explain and check', () => {
  const REGISTRY_ONLY = 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n';
  for (const meshConfig of [REGISTRY_ONLY, { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }]) {
    const mesh = Mesh.fromYaml('', { meshConfig });
    const d = mesh.route({ host: 'example.org' });
    assert.equal(d.outcome, 'directResponse');
    assert.equal(d.directResponse.status, 502);
    assert.ok(mesh.explain({ host: 'example.org' }).trace.some((t) => t.detail.includes('REGISTRY_ONLY') && t.detail.includes('<meshConfig>')));
  }
  // The ConfigMap istio-system/istio among the files is read too, and meshConfig replaces it.
  const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n';
  assert.equal(Mesh.fromYaml(configMap).route({ host: 'example.org' }).outcome, 'directResponse');
  const replaced = Mesh.fromYaml(configMap, { meshConfig: { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } } });
  assert.equal(replaced.route({ host: 'example.org' }).outcome, 'passthrough');
  assert.ok(replaced.check().some((m) => m.text.includes('replaced by mesh config file <meshConfig>')));
  const typo = Mesh.fromYaml('', { meshConfig: 'outboundTraficPolicy: {mode: REGISTRY_ONLY}\n' });
  assert.ok(typo.check().some((m) => m.source.file === '<meshConfig>' && m.fix.includes('outboundTrafficPolicy')));
  assert.throws(() => Mesh.fromYaml('', { meshConfig: 3 }), (e) => e instanceof Error && e.message.includes('meshConfig'));
  assert.throws(() => Mesh.fromYaml('', { meshConfig: {}, rootNamespace: 'x' }), (e) => e instanceof Error && e.message.includes('with meshConfig'));
});

test('fromFiles loads several files in order and names them in messages', () => {
  const mesh = Mesh.fromFiles({ 'routing.yaml': jason.yaml, 'bad.yaml': 'kind: VirtualService\nspec: {hosts: [a]}\n' });
  assert.equal(mesh.route({ ...REVIEWS, headers: { 'end-user': 'jason' } }).destinations[0].subset, 'v2');
  assert.ok(mesh.check().some((m) => m.source.file === 'bad.yaml'));
  assert.ok(mesh.resourceCount > 10);
  assert.throws(() => Mesh.fromFiles({ 'a.yaml': 3 }), (e) => e instanceof Error && e.message.includes('a.yaml'));
});

test('locate finds the matched rule in the text', () => {
  const mesh = Mesh.fromYaml(jason.yaml, { fileName: 'c.yaml' });
  const d = mesh.route({ ...REVIEWS, headers: { 'end-user': 'jason' } });
  const at = mesh.locate('VirtualService', d.virtualService, `spec.http[${d.rule.index}]`);
  const lines = jason.yaml.split('\n');
  assert.equal(at.file, 'c.yaml');
  assert.match(lines[at.line - 1], /^\s*- match:/);
  assert.equal(mesh.locate('VirtualService', 'default/nope', 'spec'), undefined);
});

test('the TypeScript declarations carry real types', () => {
  const dts = readFileSync(new URL('../pkg/node/meshroute_wasm.d.ts', import.meta.url), 'utf8');
  assert.match(dts, /route\(request: RouteRequest\): Decision;/);
  assert.match(dts, /explain\(request: RouteRequest\): Decision;/);
  assert.match(dts, /check\(\): Message\[\];/);
  assert.match(dts, /static fromYaml\(text: string, options\?: MeshOptions \| null\): Mesh;/);
  assert.match(dts, /static fromFiles\(files: Record<string, string>, options\?: MeshOptions \| null\): Mesh;/);
  assert.match(dts, /export function runRouteTests\(text: string, files\?: Record<string, string>( \| null)?, name\?: string( \| null)?\): RouteTestReport;/);
  assert.doesNotMatch(dts, /\bany\b/);
});

test('RE2 regex matching works in the wasm build (Unicode classes, case folding, ASCII \\w)', () => {
  const vs = (regex) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {x: {regex: ${JSON.stringify(regex)}}}}]
    route: [{destination: {host: reviews, subset: hit}}]
  - route: [{destination: {host: reviews, subset: miss}}]
`;
  const subset = (regex, value) => {
    const mesh = Mesh.fromYaml(jason.yaml.replace(/^# samples\/bookinfo\/networking\/virtual-service-reviews-test-v2.yaml[\s\S]*?(?=---)/m, '') + '---' + vs(regex));
    // No load or admission errors (analysis may note the subsets lack a DestinationRule).
    assert.deepEqual(mesh.check().filter((m) => m.severity === 'Error' && (m.code.startsWith('MR') || m.code === 'IST0106')), []);
    return mesh.route({ host: 'reviews', port: 9080, headers: { x: value } }).destinations[0].subset;
  };
  assert.equal(subset('\\p{Greek}+', 'αβγ'), 'hit');
  assert.equal(subset('\\p{Greek}+', 'abc'), 'miss');
  assert.equal(subset('(?i)jason', 'JASON'), 'hit');
  assert.equal(subset('(?i)jason', 'jasonx'), 'miss');
  assert.equal(subset('\\w+', 'abc_1'), 'hit');
  assert.equal(subset('\\w+', 'é'), 'miss', 'RE2 \\w is ASCII');
  assert.equal(subset('\\pL+', 'héllo'), 'hit');
});
