// Input limits raised (or lowered) on purpose: the `limits` option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Mesh } = require('../pkg/node/meshroute_wasm.js');

const SERVICE = 'apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {ports: [{name: http, port: 9080}]}\n';
const TWO = `${SERVICE}---\n${SERVICE.replace('reviews', 'ratings')}`;

const limitTexts = (mesh) => mesh.check().filter((m) => m.code === 'MR0005').map((m) => m.text).join('\n');

test('a lowered document limit is hit and the message says how to raise it', () => {
  const defaults = Mesh.fromYaml(TWO);
  assert.equal(limitTexts(defaults), '');
  defaults.free();
  const lowered = Mesh.fromYaml(TWO, { limits: { max_documents: 1 } });
  assert.match(limitTexts(lowered), /--limit max_documents=N/);
  lowered.free();
  const files = Mesh.fromFiles({ 'a.yaml': TWO }, { limits: { max_documents: '1_000' } });
  assert.equal(limitTexts(files), '');
  files.free();
});

test('a raised request limit applies to the mesh decisions', () => {
  const headers = Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`x-${i}`, 'v']));
  const request = { host: 'reviews', port: 9080, headers };
  const defaults = Mesh.fromYaml(SERVICE);
  assert.throws(() => defaults.route(request), /--limit max_request_headers=N/);
  defaults.free();
  const raised = Mesh.fromYaml(SERVICE, { limits: { max_request_headers: 2000 } });
  assert.equal(raised.route(request).outcome, 'defaultRoute');
  assert.equal(raised.explain(request).outcome, 'defaultRoute');
  raised.free();
});

test('an unknown limit or a bad value throws an Error naming it', () => {
  assert.throws(() => Mesh.fromYaml(SERVICE, { limits: { max_documnets: 5 } }), /did you mean max_documents\?/);
  assert.throws(() => Mesh.fromYaml(SERVICE, { limits: { max_input_bytes: '64 parsecs' } }), /max_input_bytes.*a size/);
  assert.throws(() => Mesh.fromYaml(SERVICE, { limits: { max_regex_len: 4096 } }), /max_regex_len is fixed/);
  assert.throws(() => Mesh.fromYaml(SERVICE, { limits: { max_documents: -1 } }), /invalid mesh options/);
});
