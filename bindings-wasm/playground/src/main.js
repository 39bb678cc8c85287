// The meshroute playground: everything runs in the page (the engine is the
// WASM package); nothing is sent anywhere.
import init, { Mesh } from '../../pkg/web/meshroute_wasm.js';
import { EditorView, basicSetup } from 'codemirror';
import { EditorState, StateEffect, StateField, RangeSetBuilder } from '@codemirror/state';
import { Decoration } from '@codemirror/view';
import { yaml } from '@codemirror/lang-yaml';
import { setDiagnostics, lintGutter } from '@codemirror/lint';
import examples from './examples.json';

const DEBOUNCE_MS = 150;
const $ = (sel) => document.querySelector(sel);
const form = $('#request');
const field = (name) => form.elements.namedItem(name);

// ---------- request form <-> request object ----------

/** Headers textarea (`name: value` lines) to a header map; repeated names become lists. */
function parseHeaders(text) {
  const headers = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (!name) continue;
    if (name in headers) headers[name] = [].concat(headers[name], value);
    else headers[name] = value;
  }
  return headers;
}

function formatHeaders(headers = {}) {
  return Object.entries(headers)
    .flatMap(([n, v]) => [].concat(v).map((one) => `${n}: ${one}`))
    .join('\n');
}

/** `a=b, c=d` to a label map. */
function parseLabels(text) {
  const labels = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    labels[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return labels;
}

const formatLabels = (labels = {}) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ');

/** The request the form describes, in the engine's shape (RouteRequest). */
function readRequest() {
  const request = {
    host: field('host').value.trim(),
    method: field('method').value || 'GET',
    path: field('path').value.trim() || '/',
    headers: parseHeaders(field('headers').value),
    gateway: field('gateway').value.trim() || 'mesh',
    source: {
      namespace: field('namespace').value.trim() || 'default',
      labels: parseLabels(field('labels').value),
    },
  };
  const port = field('port').value.trim();
  if (port !== '') request.port = Number(port);
  return request;
}

function writeRequest(request) {
  field('host').value = request.host ?? '';
  field('method').value = request.method ?? 'GET';
  field('port').value = request.port ?? '';
  field('path').value = request.path ?? '/';
  field('headers').value = formatHeaders(request.headers);
  field('gateway').value = request.gateway ?? 'mesh';
  field('namespace').value = request.source?.namespace ?? 'default';
  field('labels').value = formatLabels(request.source?.labels);
}

// ---------- state in the URL ----------
// `#ex=<id>&r=<request>` while the YAML is an unchanged example, else
// `#z=<deflated YAML>&r=<request>`; base64url throughout.

const b64 = {
  encode: (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  decode: (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
};

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

async function encodeState(yamlText, request) {
  const params = new URLSearchParams();
  const example = examples.find((e) => e.yaml === yamlText);
  if (example) params.set('ex', example.id);
  else {
    const deflated = await pipe(new TextEncoder().encode(yamlText), new CompressionStream('deflate-raw'));
    let bin = '';
    for (let i = 0; i < deflated.length; i += 0x8000) bin += String.fromCharCode(...deflated.subarray(i, i + 0x8000));
    params.set('z', btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  }
  params.set('r', b64.encode(new TextEncoder().encode(JSON.stringify(request))));
  return '#' + params.toString();
}

async function decodeState(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  let yamlText;
  if (params.has('ex')) yamlText = examples.find((e) => e.id === params.get('ex'))?.yaml;
  else if (params.has('z')) {
    yamlText = new TextDecoder().decode(await pipe(b64.decode(params.get('z')), new DecompressionStream('deflate-raw')));
  }
  let request;
  if (params.has('r')) request = JSON.parse(new TextDecoder().decode(b64.decode(params.get('r'))));
  return { yamlText, request };
}

// ---------- editor ----------

const setHighlight = StateEffect.define();
const highlightField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setHighlight)) deco = e.value;
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

let scheduled = null;
const schedule = () => {
  clearTimeout(scheduled);
  scheduled = setTimeout(update, DEBOUNCE_MS);
};

const view = new EditorView({
  parent: $('#editor'),
  state: EditorState.create({
    doc: '',
    extensions: [
      basicSetup,
      yaml(),
      lintGutter(),
      highlightField,
      EditorView.updateListener.of((u) => { if (u.docChanged) schedule(); }),
    ],
  }),
});

function setEditorText(text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/** Lines of the YAML block item starting at `line` (1-based): up to the next line indented less than or as much as its dash. */
function blockLines(doc, line, column) {
  const itemIndent = Math.max(0, column - 1);
  let last = line;
  for (let n = line + 1; n <= doc.lines; n++) {
    const text = doc.line(n).text;
    if (text.trim() === '' || text.trimStart().startsWith('#')) continue;
    const indent = text.search(/\S/);
    if (indent < itemIndent || (indent === itemIndent - 2 && text.trimStart().startsWith('-')) || text.startsWith('---')) break;
    if (indent === itemIndent && text.trimStart().startsWith('-') === false && itemIndent === 0) break;
    last = n;
  }
  return [line, last];
}

function highlightMatch(mesh, decision, protocol) {
  const doc = view.state.doc;
  const builder = new RangeSetBuilder();
  let ruleStart = null;
  if (decision?.virtualService) {
    const vs = mesh.locate('VirtualService', decision.virtualService, 'metadata.name');
    const rule = decision.rule
      ? mesh.locate('VirtualService', decision.virtualService, `spec.${protocol}[${decision.rule.index}]`)
      : undefined;
    const lines = new Map();
    if (vs && vs.line > 0 && vs.line <= doc.lines) lines.set(vs.line, 'cm-vs-line');
    if (rule && rule.line > 0 && rule.line <= doc.lines) {
      const [from, to] = blockLines(doc, rule.line, rule.column);
      for (let n = from; n <= to; n++) lines.set(n, 'cm-rule-line');
      ruleStart = rule.line;
    }
    for (const n of [...lines.keys()].sort((a, b) => a - b)) {
      builder.add(doc.line(n).from, doc.line(n).from, Decoration.line({ class: lines.get(n) }));
    }
  }
  view.dispatch({ effects: setHighlight.of(builder.finish()) });
  return ruleStart;
}

function scrollToLine(line) {
  if (!line || line > view.state.doc.lines) return;
  view.dispatch({ effects: EditorView.scrollIntoView(view.state.doc.line(line).from, { y: 'center' }) });
}

// ---------- rendering ----------

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};

const COLORS = ['#2d5bd7', '#1d7a46', '#b35c00', '#8e3ab5', '#00838f', '#b3261e', '#5b6474'];
const OUTCOME_WORDS = {
  route: 'routed',
  redirect: 'redirected',
  directResponse: 'answered by the proxy',
  notFound: 'no route (404 NR)',
  defaultRoute: 'default route (no VirtualService)',
  passthrough: 'passthrough (unknown host)',
};

function destinationLabel(d) {
  return `${d.subset ? d.subset + ' · ' : ''}${d.host}${d.port ? ':' + d.port : ''}`;
}

function renderSplit(destinations) {
  const total = destinations.reduce((s, d) => s + d.weight, 0) || 1;
  const bar = el('div', { class: 'split', role: 'img', 'aria-label': 'traffic split' },
    destinations.map((d, i) => el('div', {
      style: `width:${(100 * d.weight) / total}%;background:${COLORS[i % COLORS.length]}`,
      title: `${destinationLabel(d)}: ${((100 * d.weight) / total).toFixed(1)}%`,
    }, d.weight / total >= 0.12 ? `${d.subset ?? d.host.split('.')[0]} ${Math.round((100 * d.weight) / total)}%` : '')));
  const legend = el('ul', { class: 'legend' }, destinations.map((d, i) => el('li', { class: 'destination' },
    el('span', { class: 'swatch', style: `background:${COLORS[i % COLORS.length]}` }),
    el('strong', {}, destinationLabel(d)), ` — weight ${d.weight} (${((100 * d.weight) / total).toFixed(1)}%)`,
    el('span', { class: 'hint' }, ` ${d.cluster}`),
    d.problem ? el('div', { class: 'problem' }, '⚠ ', d.problem) : null)));
  return [bar, legend];
}

function policyText(p) {
  if (!p) return null;
  const parts = [];
  if (p.loadBalancer?.simple) parts.push(`lb ${p.loadBalancer.simple}`);
  if (p.loadBalancer?.consistentHash) parts.push(`consistent hash ${JSON.stringify(p.loadBalancer.consistentHash)}`);
  if (p.connectionPool) parts.push(`connection pool ${JSON.stringify(p.connectionPool)}`);
  if (p.outlierDetection) parts.push(`outlier detection ${JSON.stringify(p.outlierDetection)}`);
  if (p.tls?.mode) parts.push(`tls ${p.tls.mode}`);
  return parts.length ? parts.join('; ') : null;
}

function facts(decision) {
  const rows = [];
  const add = (name, value) => { if (value !== null && value !== undefined && value !== '') rows.push([name, value]); };
  if (decision.redirect) add('Redirect', `${decision.redirect.status} → ${decision.redirect.location}`);
  if (decision.directResponse) add('Direct response', `${decision.directResponse.status}${decision.directResponse.body ? ' "' + decision.directResponse.body + '"' : ''}`);
  const f = decision.fault;
  if (f?.delay) add('Fault: delay', `${f.delay.fixedDelay} for ${f.delay.percent}% of requests`);
  if (f?.abort) add('Fault: abort', `${f.abort.httpStatus !== undefined ? 'HTTP ' + f.abort.httpStatus : 'gRPC ' + f.abort.grpcStatus} for ${f.abort.percent}% of requests`);
  add('Timeout', decision.timeout ?? (decision.outcome === 'route' ? 'none' : null));
  const r = decision.retries;
  if (r) add('Retries', `${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${r.perTryTimeout ? ', ' + r.perTryTimeout + ' per try' : ''}${r.retryOn ? ', on ' + r.retryOn : ''}${r.backoff ? ', backoff ' + r.backoff : ''}${r.default ? ' (Istio default)' : ''}`);
  if (decision.rewrite) add('Rewrite', [decision.rewrite.path && `path ${decision.rewrite.path}`, decision.rewrite.authority && `authority ${decision.rewrite.authority}`].filter(Boolean).join(', '));
  for (const m of decision.mirrors ?? []) add('Mirror', `${m.percent}% → ${destinationLabel(m)}`);
  for (const [name, ops] of [['Request headers', decision.requestHeaders], ['Response headers', decision.responseHeaders]]) {
    if (!ops) continue;
    const parts = [];
    for (const [k, v] of Object.entries(ops.set ?? {})) parts.push(`set ${k}: ${v}`);
    for (const [k, v] of Object.entries(ops.add ?? {})) parts.push(`add ${k}: ${v}`);
    for (const k of ops.remove ?? []) parts.push(`remove ${k}`);
    add(name, parts.join('; '));
  }
  if (decision.cors) add('CORS', JSON.stringify(decision.cors));
  (decision.destinations ?? []).forEach((d) => add(`Policy ${d.subset ?? d.host.split('.')[0]}`, policyText(d.policy)));
  return rows.length
    ? el('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, v)]))
    : null;
}

function renderDecision(decision, ruleLine) {
  const box = $('#decision');
  box.replaceChildren(
    el('div', { class: 'pane-title' }, 'Decision'),
    el('span', { class: `outcome ${decision.outcome}`, id: 'outcome' }, OUTCOME_WORDS[decision.outcome] ?? decision.outcome),
    decision.virtualService
      ? el('div', { class: 'where' }, 'by VirtualService ',
        el('a', { onclick: () => scrollToLine(ruleLine), id: 'matched-vs' }, decision.virtualService),
        decision.delegatedFrom ? ` (delegated from ${decision.delegatedFrom})` : '',
        decision.rule ? [', rule ', el('strong', { id: 'matched-rule' }, `#${decision.rule.index}${decision.rule.name ? ' "' + decision.rule.name + '"' : ''}`)] : '')
      : '',
    ...(decision.destinations?.length ? renderSplit(decision.destinations) : []),
    facts(decision) ?? '',
  );
}

function renderError(text) {
  $('#decision').replaceChildren(
    el('div', { class: 'pane-title' }, 'Decision'),
    el('span', { class: 'outcome error', id: 'outcome' }, 'error'),
    el('p', { class: 'error-text' }, text),
  );
  $('#trace').replaceChildren();
}

const VERDICT_MARK = { matched: '✓', failed: '✗', skipped: '–', note: '•' };
function renderTrace(trace = []) {
  $('#trace').replaceChildren(...trace.map((t) => el('li', { class: t.verdict },
    el('span', { class: 'v', title: t.verdict }, VERDICT_MARK[t.verdict] ?? '?'),
    el('span', { class: 'stage' }, `${t.stage} `), el('code', {}, t.subject), ' — ', t.detail)));
}

function renderMessages(messages) {
  const doc = view.state.doc;
  const diagnostics = messages.map((m) => {
    const lineNo = Math.min(Math.max(m.source.line || 1, 1), doc.lines);
    const line = doc.line(lineNo);
    const from = Math.min(line.from + Math.max((m.source.column || 1) - 1, 0), line.to);
    return {
      from,
      to: line.to > from ? line.to : from,
      severity: m.severity === 'Error' ? 'error' : m.severity === 'Warning' ? 'warning' : 'info',
      source: m.code,
      message: `${m.resource ? m.resource + ': ' : ''}${m.text}${m.fix ? '\nfix: ' + m.fix : ''}`,
    };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
  const errors = messages.filter((m) => m.severity === 'Error').length;
  const warnings = messages.filter((m) => m.severity === 'Warning').length;
  const summary = $('#check-summary');
  summary.className = errors ? 'count-error' : warnings ? 'count-warning' : 'count-ok';
  summary.textContent = errors || warnings
    ? `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`
    : 'no problems';
  summary.dataset.lines = messages.map((m) => m.source.line).join(',');
}

// ---------- the loop ----------

let mesh = null;
let meshText = null;
let revision = 0;
let lastMatch = null;

function compile(text) {
  if (text === meshText && mesh) return;
  mesh?.free();
  mesh = Mesh.fromYaml(text, { fileName: 'config.yaml' });
  meshText = text;
  renderMessages(mesh.check());
  const gateways = new Set(['mesh']);
  for (const m of text.matchAll(/^kind:\s*Gateway\s*$[\s\S]*?^\s+name:\s*(\S+)[\s\S]*?(?:^\s+namespace:\s*(\S+))?/gm)) {
    gateways.add(`${m[2] ?? 'default'}/${m[1]}`);
  }
  $('#gateways').replaceChildren(...[...gateways].map((g) => el('option', { value: g })));
}

/**
 * Average cost of one decision, in microseconds, over `calls` calls. Each
 * call is a whole `route()` of the request object (read again every time)
 * and uses its decision as a caller does: the outcome, then the first
 * destination's host and subset, or the redirect's location.
 */
function timeDecision(request, calls) {
  let used = 0;
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const d = mesh.route(request);
    const first = d.destinations?.[0];
    const target = first ? first.host + (first.subset ?? '') : d.redirect?.location ?? '';
    used += d.outcome.length + target.length;
  }
  const micros = ((performance.now() - t0) * 1000) / calls;
  if (used === 0) throw new Error('timeDecision: no decision was read');
  return micros;
}

async function update() {
  const text = view.state.doc.toString();
  const request = readRequest();
  compile(text);
  try {
    const decision = mesh.explain(request);
    const protocol = request.protocol ?? 'http';
    const ruleLine = highlightMatch(mesh, decision, protocol);
    // Bring the matched rule into view when the match changes (not on every keystroke).
    const matchKey = `${decision.virtualService}|${decision.rule?.index}`;
    if (matchKey !== lastMatch) scrollToLine(ruleLine);
    lastMatch = matchKey;
    renderDecision(decision, ruleLine);
    renderTrace(decision.trace);
    // Best of three rounds: the first calls after a change run before the engine's code is optimised.
    const micros = Math.min(...[0, 1, 2].map(() => timeDecision(request, 300)));
    $('#timing').textContent = `One decision takes ${micros.toFixed(2)} µs in this page (Mesh.route, best of 3 × 300 calls).`;
  } catch (e) {
    highlightMatch(mesh, null);
    renderError(e.message);
  }
  history.replaceState(null, '', await encodeState(text, request));
  document.body.dataset.revision = String(++revision);
}

function loadExample(id) {
  const example = examples.find((e) => e.id === id);
  if (!example) return;
  writeRequest(example.request);
  setEditorText(example.yaml);
  clearTimeout(scheduled);
  update();
}

async function main() {
  await init({ module_or_path: new URL('meshroute_wasm_bg.wasm', import.meta.url) });
  const select = $('#example');
  for (const e of examples) select.append(el('option', { value: e.id }, e.title));
  select.addEventListener('change', () => loadExample(select.value));
  form.addEventListener('input', schedule);
  form.addEventListener('submit', (e) => e.preventDefault());
  $('#share').addEventListener('click', async () => {
    await update();
    try {
      await navigator.clipboard.writeText(location.href);
      $('#share-status').textContent = 'link copied';
    } catch {
      $('#share-status').textContent = 'copy the address bar';
    }
  });
  window.addEventListener('hashchange', () => restore());
  // For tests and the curious: time `calls` decisions of the current request.
  window.meshroute = { timeDecision: (calls = 100000) => timeDecision(readRequest(), calls), mesh: () => mesh, view: () => view };
  await restore();
  document.body.dataset.ready = '1';
}

async function restore() {
  const { yamlText, request } = location.hash ? await decodeState(location.hash) : {};
  if (yamlText === undefined && request === undefined) {
    loadExample(examples[0].id);
    $('#example').value = examples[0].id;
    return;
  }
  writeRequest(request ?? examples[0].request);
  const example = examples.find((e) => e.yaml === yamlText);
  $('#example').value = example?.id ?? '';
  if (yamlText !== view.state.doc.toString()) setEditorText(yamlText ?? '');
  clearTimeout(scheduled);
  await update();
}

main().catch((e) => {
  document.body.dataset.ready = 'failed';
  renderError(`the playground failed to start: ${e.message}`);
});
