// Builds everything from the Rust source:
//   pkg/web, pkg/node   wasm-bindgen packages (--target web / --target nodejs), wasm-opt'd
//   playground/dist     the static playground (CodeMirror bundled by esbuild, no CDN)
// Prints the size of the optimised .wasm, raw and gzipped (limit: 700 KB gzipped).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { build } from 'esbuild';
import { crateDir, repoDir } from './paths.mjs';

const GZIP_LIMIT = 700 * 1024;
// `--converge` repeats -Oz until it stops shrinking the module: -2.8 KB gzipped.
const WASM_OPT_FLAGS = ['-Oz', '--converge'];
const version = /^version = "(.+)"/m.exec(readFileSync(join(repoDir, 'Cargo.toml'), 'utf8'))?.[1] ?? '0.0.0';

/** package.json of one generated package (wasm-bindgen writes none without wasm-pack). */
function packageJson(target) {
  const files = ['meshroute_wasm.js', 'meshroute_wasm.d.ts', 'meshroute_wasm_bg.wasm', 'snippets/'];
  if (target === 'web') files.push('meshroute_wasm_bg.wasm.d.ts');
  return {
    name: target === 'web' ? 'meshroute-web' : 'meshroute',
    version,
    description: 'Istio traffic management decisions, exactly as a mesh makes them (WebAssembly)',
    license: 'Apache-2.0',
    type: target === 'web' ? 'module' : 'commonjs',
    main: 'meshroute_wasm.js',
    types: 'meshroute_wasm.d.ts',
    files,
    sideEffects: target === 'web' ? ['./snippets/*'] : undefined,
  };
}
const bin = (name) => join(crateDir, 'node_modules', '.bin', name);
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { stdio: 'inherit', cwd: repoDir, env: { ...process.env, ...env } });

const runAsync = (cmd, args) => new Promise((resolve, reject) => {
  const child = spawn(cmd, args, { stdio: 'inherit', cwd: repoDir });
  child.on('error', reject);
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
});

/**
 * wasm-bindgen copies src/convert.js as it is (an ES module) and the
 * CommonJS glue `require`s it, which only Node >= 20.19 / 22.12 can do:
 * the nodejs package gets it as CommonJS (its exports are `export function`s).
 */
function commonJsSnippets(out) {
  const root = join(out, 'snippets');
  for (const dir of readdirSync(root, { recursive: true })) {
    const file = join(root, dir);
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(file, 'utf8');
    const names = [...text.matchAll(/^export function (\w+)/gm)].map((m) => m[1]);
    if (/^export (?!function )/m.test(text)) throw new Error(`${file}: only \`export function\` can be made CommonJS`);
    writeFileSync(file, `'use strict';\n${text.replace(/^export function /gm, 'function ')}\nmodule.exports = { ${names.join(', ')} };\n`);
  }
}

const only = process.argv[2]; // `playground` rebuilds the page only
if (only !== 'playground') {
  // LTO and one codegen unit for the wasm build only (the workspace's own
  // release profile is left as it is for native builds).
  // Opt levels, measured (README, "Size and speed"): `z` for everything keeps
  // the .wasm smallest. The core at `s` made a decision faster, but with
  // Istio's analyzers, gateway merging, Ingress and mesh config in the core
  // it is 742 KB gzipped (over the limit); at `z` 683 KB for ~+10% on
  // route() (1.36-1.42 -> 1.51-1.56 us in Node). This crate (the conversions
  // on every route() call) at `s`: with the limits and the per-namespace
  // caches the build at `2` is 702.8 KB gzipped; `s` is 688.2 KB for
  // route() 1.46-1.50 -> 1.68-1.75 us in Node (README, "Size and speed").
  const optLevels = { meshroute: 'z', 'meshroute-wasm': 's' };
  const perPackage = Object.entries(optLevels)
    .flatMap(([pkg, level]) => ['--config', `profile.release.package.${pkg}.opt-level=${/^\d$/.test(level) ? level : `"${level}"`}`]);
  // MESHROUTE_WASM_FEATURES=bench-parts adds the exports scripts/bench.mjs times.
  const features = process.env.MESHROUTE_WASM_FEATURES ? ['--features', process.env.MESHROUTE_WASM_FEATURES] : [];
  run('cargo', [...perPackage, 'build', '-p', 'meshroute-wasm', '--release', '--target', 'wasm32-unknown-unknown', ...features], {
    CARGO_PROFILE_RELEASE_LTO: 'true',
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '1',
    CARGO_PROFILE_RELEASE_PANIC: 'abort',
    CARGO_PROFILE_RELEASE_OPT_LEVEL: 'z',
  });
  const raw = join(repoDir, 'target/wasm32-unknown-unknown/release/meshroute_wasm.wasm');
  await Promise.all([['web', 'pkg/web'], ['nodejs', 'pkg/node']].map(async ([target, dir]) => {
    const out = join(crateDir, dir);
    rmSync(out, { recursive: true, force: true });
    run('wasm-bindgen', ['--target', target, '--out-dir', out, raw]);
    if (target === 'nodejs') commonJsSnippets(out);
    const wasm = join(out, 'meshroute_wasm_bg.wasm');
    await runAsync(bin('wasm-opt'), [...WASM_OPT_FLAGS, '--strip-debug', '--strip-producers', wasm, '-o', wasm]);
    writeFileSync(join(out, 'package.json'), JSON.stringify(packageJson(target), null, 2) + '\n');
  }));
  const wasm = readFileSync(join(crateDir, 'pkg/web/meshroute_wasm_bg.wasm'));
  const gz = gzipSync(wasm, { level: 9 }).length;
  console.log(`meshroute_wasm_bg.wasm: ${(wasm.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (limit ${GZIP_LIMIT / 1024} KB)`);
  if (gz > GZIP_LIMIT) throw new Error('the optimised .wasm is over the gzipped size limit');
}

const dist = join(crateDir, 'playground/dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(crateDir, 'playground/src/main.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  outfile: join(dist, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(crateDir, 'playground/src', f), join(dist, f));
copyFileSync(join(crateDir, 'pkg/web/meshroute_wasm_bg.wasm'), join(dist, 'meshroute_wasm_bg.wasm'));
const size = (f) => (statSync(join(dist, f)).size / 1024).toFixed(1);
console.log(`playground/dist: app.js ${size('app.js')} KB, meshroute_wasm_bg.wasm ${size('meshroute_wasm_bg.wasm')} KB`);
