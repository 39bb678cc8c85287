// The generated .d.ts type-checks real use and rejects wrong use (tsc --strict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const check = (file) => spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext',
  '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,esnext.disposable', '--skipLibCheck', 'false', fileURLToPath(new URL(file, import.meta.url))], { encoding: 'utf8' });

test('typed use of the package compiles under --strict', () => {
  const r = check('./types-check.ts');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('a misspelt request key, limit name and a wrong result type are type errors', () => {
  const r = check('./types-negative.ts');
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /hedaers/);
  assert.match(r.stdout, /max_documnets/);
  assert.match(r.stdout, /Type '("route"|Outcome)[^']*' is not assignable to type 'number'|not assignable to type 'number'/);
});
