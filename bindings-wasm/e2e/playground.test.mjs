// End-to-end: the built playground (playground/dist) served from 127.0.0.1 by
// python3 -m http.server, driven in Debian's headless Chromium by playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dist = fileURLToPath(new URL('../playground/dist', import.meta.url));
const outDir = fileURLToPath(new URL('../test-output', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let server, context, base, profile;
const external = [];
const problems = [];

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitForServer(url) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${url} did not start`);
}

before(async () => {
  mkdirSync(outDir, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dist], { stdio: 'ignore' });
  await waitForServer(base);
  profile = mkdtempSync(join(tmpdir(), 'meshroute-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) external.push(r.url()); });
});

after(async () => {
  await context?.close();
  server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(url) {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 });
  return page;
}

const revision = (page) => page.evaluate(() => Number(document.body.dataset.revision ?? 0));
async function nextRender(page, since) {
  await page.waitForFunction((r) => Number(document.body.dataset.revision ?? 0) > r, since, { timeout: 5000 });
}
const legend = (page) => page.locator('.legend .destination').allTextContents();
const editorText = (page) => page.evaluate(() => window.meshroute.view().state.doc.toString());

let sharedUrl, sharedState;

test('load the bookinfo example, type a header, the decision changes to v2', async () => {
  const page = await open(base);
  let r = await revision(page);
  await page.selectOption('#example', 'routing-jason');
  await nextRender(page, r);
  assert.equal(await page.textContent('#outcome'), 'routed');
  assert.equal(await page.textContent('#matched-vs'), 'default/reviews');
  assert.doesNotMatch(await page.textContent('#decision'), /null|undefined|\[object/);
  assert.match((await legend(page)).join('|'), /^v1 · reviews\.default\.svc\.cluster\.local:9080/);
  assert.match(await page.textContent('#matched-rule'), /#1/);

  r = await revision(page);
  await page.locator('textarea[name="headers"]').pressSequentially('end-user: jason', { delay: 20 });
  await page.waitForFunction(() => /^v2 ·/.test(document.querySelector('.legend .destination')?.textContent ?? ''), null, { timeout: 5000 });
  assert.ok((await revision(page)) > r);
  assert.match((await legend(page)).join('|'), /^v2 · reviews\.default\.svc\.cluster\.local:9080 — weight 100/);
  assert.match(await page.textContent('#matched-rule'), /#0/);
  // The matched rule is highlighted in the editor: its first line is the `- match:` item.
  const ruleLines = await page.locator('.cm-rule-line').allTextContents();
  assert.match(ruleLines[0], /^\s*- match:/);
  assert.ok(ruleLines.some((l) => /exact: jason/.test(l)), ruleLines.join('\n'));
  assert.ok(ruleLines.some((l) => /subset: v2/.test(l)));
  assert.equal(ruleLines.some((l) => /subset: v1/.test(l)), false, 'only the matched rule is highlighted');
  // The trace is a list a person can follow, and the page measured a decision.
  const trace = await page.locator('#trace li').allTextContents();
  assert.ok(trace.length >= 2, trace.join('\n'));
  assert.ok(trace.some((t) => t.startsWith('✓')));
  assert.match(await page.textContent('#timing'), /One decision takes [\d.]+ µs/);
  sharedUrl = page.url();
  sharedState = { text: await editorText(page), headers: await page.inputValue('textarea[name="headers"]'), legend: await legend(page) };
  await page.screenshot({ path: join(outDir, 'playground-v2.png'), fullPage: true });
  await page.close();
});

test('a typo shows a marker at its line', async () => {
  const page = await open(sharedUrl);
  const line = await page.evaluate(() => {
    const view = window.meshroute.view();
    const doc = view.state.doc;
    for (let n = 1; n <= doc.lines; n++) {
      const l = doc.line(n);
      const i = l.text.indexOf('subset: v2');
      if (i >= 0) {
        // Cursor after "sub", then the test presses Delete: "subset" becomes "subet".
        view.dispatch({ selection: { anchor: l.from + i + 3 }, scrollIntoView: true });
        view.focus();
        return n;
      }
    }
    return 0;
  });
  assert.ok(line > 0);
  const r = await revision(page);
  await page.keyboard.press('Delete');
  await nextRender(page, r);
  await page.waitForSelector('.cm-lintRange-error', { timeout: 5000 });
  const markerLines = await page.evaluate(() => {
    const view = window.meshroute.view();
    return [...document.querySelectorAll('.cm-lintRange-error')].map((e) => view.state.doc.lineAt(view.posAtDOM(e)).number);
  });
  // Besides the typo, the two ratings subsets Bookinfo does not deploy (v2-mysql,
  // v2-mysql-vm) are errors, as istioctl analyze reports them (IST0173).
  const subsetLines = await page.evaluate(() => {
    const doc = window.meshroute.view().state.doc;
    const lines = [];
    // The message points at the subset's `labels:` line, the one after its name.
    for (let n = 1; n < doc.lines; n++) if (/name: v2-mysql(-vm)?$/.test(doc.line(n).text)) lines.push(n + 1);
    return lines;
  });
  assert.deepEqual([...new Set(markerLines)].filter((n) => !subsetLines.includes(n)), [line]);
  assert.match(await page.textContent('#check-summary'), /^3 errors/);
  assert.ok((await page.locator('.cm-gutter-lint .cm-lint-marker-error').count()) >= 1);
  // A resource with an error is left out: reviews now has no VirtualService.
  assert.equal(await page.textContent('#outcome'), 'default route (no VirtualService)');
  assert.doesNotMatch(await page.textContent('#decision'), /null|undefined|\[object/);
  assert.match((await legend(page)).join('|'), /^reviews\.default\.svc\.cluster\.local:9080 — weight 100/);
  await page.locator('.cm-lintRange-error').first().hover();
  await page.waitForSelector('.cm-tooltip-lint', { timeout: 3000 });
  assert.match(await page.textContent('.cm-tooltip-lint'), /subet/);
  await page.screenshot({ path: join(outDir, 'playground-typo.png'), fullPage: true });
  await page.close();
});

test('opening a shared URL reproduces the same state', async () => {
  const page = await open(sharedUrl);
  assert.equal(await editorText(page), sharedState.text);
  assert.equal(await page.inputValue('textarea[name="headers"]'), sharedState.headers);
  assert.deepEqual(await legend(page), sharedState.legend);
  assert.equal(await page.inputValue('#example'), 'routing-jason');
  // An edited config travels in the URL too (compressed), not only example ids.
  let r = await revision(page);
  await page.evaluate(() => {
    const view = window.meshroute.view();
    view.dispatch({ changes: { from: 0, insert: '# edited by hand\n' } });
  });
  await nextRender(page, r);
  const edited = page.url();
  assert.match(edited, /#z=/);
  const again = await open(edited);
  assert.ok((await editorText(again)).startsWith('# edited by hand\n'));
  assert.deepEqual(await legend(again), sharedState.legend);
  await again.screenshot({ path: join(outDir, 'playground.png'), fullPage: true });
  await again.close();
  await page.close();
});

test('a decision in the page is measured with performance.now over many calls', async () => {
  const page = await open(sharedUrl);
  await page.evaluate(() => window.meshroute.timeDecision(20000)); // warm-up
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await page.evaluate(() => window.meshroute.timeDecision(100000)));
  const best = Math.min(...runs);
  console.log(`# decision in Chromium: best ${best.toFixed(3)} µs (target 2 µs), runs ${runs.map((x) => x.toFixed(3)).join(' ')} µs (100,000 calls each)`);
  // The 2 µs target (issue 7) is reported, not enforced: on a shared, loaded
  // machine the figure varies 2x from run to run (README, "Size and speed").
  // This bound catches a binding that regresses badly.
  const budget = Number(process.env.DECISION_BUDGET_US ?? 50);
  assert.ok(best < budget, `a decision takes ${best.toFixed(3)} µs, over the ${budget} µs budget`);
  await page.close();
});

test('the page made no request to another host and logged no error', () => {
  assert.deepEqual(external, []);
  assert.deepEqual(problems, []);
});
