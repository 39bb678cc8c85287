// The JavaScript half of the conversions in src/convert.rs for Mesh.route: a
// request object packed into one string (one crossing into wasm), and a
// decision built as a plain object from a tape of numbers and a table of
// strings the page already holds (no JSON text, no UTF-8 decoding of known
// strings). Plain JS, no dependencies; src/convert.rs documents the layouts.

const PROTOCOLS = new Set(['http', 'tls', 'tcp']);

// A string value JSON.stringify writes as a string.
const isString = (v) => typeof v === 'string';
// An object JSON.stringify writes as an object of its own keys.
const record = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.toJSON !== 'function';

const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/[\ud800-\udfff]/.test(s);
const encoder = new TextEncoder();

// The buffer being written (a view of the Rust side's scratch buffer), where,
// and whether it ran out of room. One request at a time, like the tape below.
let out, pos, full;

/** Writes one byte. */
function byte(b) {
  if (pos < out.length) out[pos++] = b;
  else full = true;
}

/**
 * Writes `s` as UTF-8. False when it cannot cross this way: a NUL (the
 * separator) or a lone surrogate (it would cross as U+FFFD; JSON makes it an
 * error), so the JSON path decides.
 */
function put(s) {
  const n = s.length;
  if (full || pos + n > out.length) {
    full = true;
    return true;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c > 0x7f) return putRest(s.slice(i));
    out[pos++] = c;
  }
  return true;
}

function putRest(rest) {
  if (rest.indexOf('\0') !== -1 || !wellFormed(rest)) return false;
  const { read, written } = encoder.encodeInto(rest, out.subarray(pos));
  if (read < rest.length) full = true;
  pos += written;
  return true;
}

/** An optional field: empty when absent, `=value` when present. */
function field(v) {
  if (v === undefined) return true;
  byte(61); // '='
  return put(v);
}

/**
 * Writes `request` into `buffer` for `convert::request_from_packed`, and
 * returns the number of bytes; -1 when it is not exactly a well-formed
 * request of strings and integers (unknown key, wrong type, undefined /
 * null / function values, NUL, a lone surrogate, a `toJSON`, a throwing
 * getter...): the caller then parses it through JSON, so every error is the
 * core's own; -2 when `buffer` is too small.
 *
 * Layout, NUL-separated UTF-8: host, port, method, path, scheme, gateway,
 * protocol, sni, destinationIp, source namespace (each empty when absent,
 * `=value` when present; host as is), the number of label pairs, the label
 * pairs, then header name/value pairs (a list of values gives one pair per
 * value).
 */
export function packRequest(request, buffer) {
  out = buffer;
  pos = 0;
  full = false;
  // Never throws: an exception must not unwind through the Rust frames that
  // called this (a throwing getter or Proxy trap takes the JSON path, which reports it).
  try {
    if (!pack(request)) return -1;
    return full ? -2 : pos;
  } catch {
    return -1;
  } finally {
    out = undefined;
  }
}

function pack(r) {
  if (!record(r)) return false;
  let host, port, method, path, scheme, gateway, protocol, sni, ip, ns, labels, headers;
  for (const key of Object.keys(r)) {
    const v = r[key];
    switch (key) {
      case 'host': if (!isString(v)) return false; host = v; break;
      case 'port':
        if (!Number.isInteger(v) || v < 0 || v > 65535) return false;
        port = '' + v; break;
      case 'method': if (!isString(v)) return false; method = v; break;
      case 'path': if (!isString(v)) return false; path = v; break;
      case 'scheme': if (!isString(v)) return false; scheme = v; break;
      case 'gateway': if (!isString(v)) return false; gateway = v; break;
      case 'protocol': if (!PROTOCOLS.has(v)) return false; protocol = v; break;
      case 'sni': if (!isString(v)) return false; sni = v; break;
      case 'destinationIp': if (!isString(v)) return false; ip = v; break;
      case 'headers': if (!record(v)) return false; headers = v; break;
      case 'source': {
        if (!record(v)) return false;
        for (const k of Object.keys(v)) {
          const s = v[k];
          if (k === 'namespace') {
            if (!isString(s)) return false;
            ns = s;
          } else if (k === 'labels') {
            if (!record(s)) return false;
            labels = s;
          } else {
            return false;
          }
        }
        break;
      }
      default: return false;
    }
  }
  if (host === undefined || !put(host)) return false;
  for (const v of [port, method, path, scheme, gateway, protocol, sni, ip, ns]) {
    byte(0);
    if (!field(v)) return false;
  }
  byte(0);
  if (labels === undefined) {
    byte(48); // '0'
  } else {
    const names = Object.keys(labels);
    put('' + names.length);
    for (const name of names) {
      const value = labels[name];
      if (!isString(value)) return false;
      byte(0);
      if (!put(name)) return false;
      byte(0);
      if (!put(value)) return false;
    }
  }
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (isString(value)) {
        if (!header(name, value)) return false;
      } else if (Array.isArray(value)) {
        for (const one of value) {
          if (!isString(one) || !header(name, one)) return false;
        }
      } else {
        return false;
      }
    }
  }
  return true;
}

function header(name, value) {
  byte(0);
  if (!put(name)) return false;
  byte(0);
  return put(value);
}

// ---------- the decision ----------

// Tape operations, as written by `convert::Tape` (keep the two in step).
const NULL = 0, FALSE = 1, TRUE = 2, NUMBER = 3, KNOWN = 4, FRESH = 5, ARRAY = 6, OBJECT = 7;
// `convert::outcome_code`.
const OUTCOMES = ['route', 'redirect', 'directResponse', 'notFound', 'defaultRoute', 'passthrough'];

/** Adds `text` to `strings` as V8 keeps property names (internalised), returns its index. */
export function keepString(strings, text) {
  for (const key in { [text]: 0 }) return strings.push(key) - 1;
  return strings.push(text) - 1;
}

// The tape being read: one at a time (building runs no user code that could
// start another), so plain module variables instead of a closure per call.
let tape, strings, fresh, at, from;

function text() {
  if (tape[at++] === KNOWN) return strings[tape[at++]];
  const end = from + tape[at++];
  const s = fresh.slice(from, end);
  from = end;
  return s;
}

/**
 * The serde value at `at`: the same value `JSON.parse` gives for its serde
 * JSON. Known strings come from `strings` by index; the others from `fresh`,
 * one after the other, each FRESH entry giving its length in UTF-16 units.
 */
function value() {
  switch (tape[at]) {
    case NULL: at++; return null;
    case FALSE: at++; return false;
    case TRUE: at++; return true;
    case NUMBER: at += 2; return tape[at - 1];
    case KNOWN:
    case FRESH: return text();
    case ARRAY: {
      const n = tape[at + 1];
      at += 2;
      const a = [];
      for (let i = 0; i < n; i++) a.push(value());
      return a;
    }
    case OBJECT: {
      const n = tape[at + 1];
      at += 2;
      const o = {};
      for (let i = 0; i < n; i++) {
        const key = text();
        // JSON.parse makes `__proto__` an own key; an assignment would set the prototype.
        if (key === '__proto__') {
          Object.defineProperty(o, key, { value: value(), enumerable: true, writable: true, configurable: true });
        } else {
          o[key] = value();
        }
      }
      return o;
    }
    default: throw new Error(`internal error: tape operation ${tape[at]}`);
  }
}

function start(t, s, f) {
  tape = t; strings = s; fresh = f; at = 0; from = 0;
}

function destination() {
  const bits = tape[at++];
  const d = { host: text() };
  if (bits & 1) d.subset = text();
  if (bits & 2) d.port = tape[at++];
  d.weight = tape[at++];
  d.cluster = text();
  if (bits & 4) d.policy = value();
  if (bits & 8) d.problem = text();
  return d;
}

function retries() {
  const bits = tape[at++];
  const r = { attempts: tape[at++] };
  if (bits & 1) r.perTryTimeout = text();
  if (bits & 2) r.retryOn = text();
  if (bits & 4) r.backoff = text();
  if (bits & 8) r.default = true;
  return r;
}

/**
 * The decision a decision tape describes (`Tape::write_decision`): the object
 * JSON.parse gives for the decision's serde JSON, keys in the same order,
 * written as named properties (fast in V8, unlike keys one by one).
 */
export function buildDecision(t, s, f) {
  start(t, s, f);
  try {
    return decision();
  } catch {
    // Never throws through the Rust caller; it reports `undefined` as an internal error.
    return undefined;
  } finally {
    tape = undefined;
  }
}

function decision() {
  const d = { outcome: OUTCOMES[tape[0]] };
  const bits = tape[1];
  at = 2;
  if (bits & 1) d.virtualService = text();
  if (bits & 2) d.delegatedFrom = text();
  if (bits & 4) {
    const rule = { index: tape[at++] };
    if (tape[at] === NULL) at++;
    else rule.name = text();
    d.rule = rule;
  }
  if (bits & 8) {
    const n = tape[at++];
    const list = [];
    for (let i = 0; i < n; i++) list.push(destination());
    d.destinations = list;
  }
  if (bits & 16) d.redirect = value();
  if (bits & 32) d.directResponse = value();
  if (bits & 64) d.rewrite = value();
  if (bits & 128) d.timeout = text();
  if (bits & 256) d.retries = retries();
  if (bits & 512) d.fault = value();
  if (bits & 1024) d.mirrors = value();
  if (bits & 2048) d.requestHeaders = value();
  if (bits & 4096) d.responseHeaders = value();
  if (bits & 8192) d.cors = value();
  if (bits & 16384) d.trace = value();
  return d;
}
