// Every route test of the conformance corpora (tests/conformance/, and an extra
// corpus such as ../shared/conformance/ when present) through runRouteTests: one
// node:test case per file, failing with the runner's report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDirs } from '../scripts/paths.mjs';

const require = createRequire(import.meta.url);
const { runRouteTests } = require('../pkg/node/meshroute_wasm.js');
for (const [index, dir] of conformanceDirs().entries()) {
  const names = readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  // The file resolver: every YAML file of the folder by name (config.files are relative to the test file).
  const files = Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
  const routeTests = names.filter((n) => n.endsWith('.routetest.yaml'));

  test(`there are route tests to run in ${dir}`, () => {
    assert.ok(routeTests.length >= 10, `found ${routeTests.length}`);
  });

  for (const name of routeTests) {
    test(`conformance ${index === 0 ? '' : `${dir}/`}${name}`, () => {
      const report = runRouteTests(files[name], files, name);
      const failing = report.cases.filter((c) => c.status !== 'passed').map((c) => `  ✗ ${c.name} ${c.note ?? ''}\n${JSON.stringify(c.mismatches)}`).join('\n');
      assert.equal(report.failed, 0, `${name}: ${report.summary}\n${failing}`);
      assert.ok(report.passed > 0, `${name}: no case ran`);
      assert.equal(report.passed, report.cases.length);
    });
  }
}
