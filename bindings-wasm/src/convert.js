// The JavaScript half of the conversions in src/convert.rs for Mesh.route: a
// request object packed into wasm memory (strings and their lengths), and a
// decision built as a plain object from a tape of numbers and a table of
// strings the page already holds (no JSON text, no UTF-8 decoding of known
// strings). Plain JS, no dependencies; src/convert.rs documents the layouts.

// The module's memory and views of all of it, made again only when the
// memory grows (which detaches the old buffer: its views read as empty).
let memory, bytes, words, numbers;

/** Called once per Mesh with the module's `WebAssembly.Memory`. */
export function useMemory(m) {
  memory = m;
  bytes = undefined;
}

function views() {
  if (bytes === undefined || bytes.byteLength === 0) {
    bytes = new Uint8Array(memory.buffer);
    words = new Uint32Array(memory.buffer);
    numbers = new Float64Array(memory.buffer);
  }
}

// A string value JSON.stringify writes as a string.
const isString = (v) => typeof v === 'string';
// An object JSON.stringify writes as an object of its own keys.
const record = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.toJSON !== 'function';

const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/[\ud800-\udfff]/.test(s);
const encoder = new TextEncoder();

// Whether a request is being packed: one packed from a getter of another
// (through another Mesh) goes the JSON way instead.
let packing = false;
// What `put` and `pack` return instead of a position: the request cannot
// be packed (JSON path), or a buffer is too small.
const ODD = -1, FULL = -2;
// A length entry for an absent field (`convert::ABSENT`).
const ABSENT = 0xffffffff;
// The length list being written (an index into `words`) and where it ends.
// The byte positions are passed along instead: V8 keeps locals in registers.
let w, wEnd;

/**
 * Writes `s` as UTF-8 into `out` at `at` (before `end`) and its byte length
 * as the next length entry; the position after it, ODD when it cannot cross
 * this way (a lone surrogate would cross as U+FFFD; JSON makes it an error),
 * FULL when it does not fit.
 */
function put(out, at, end, s) {
  const n = s.length;
  if (at + n > end || w === wEnd) return FULL;
  const start = at;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      at = putRest(out, at, end, s.slice(i));
      break;
    }
    out[at++] = c;
  }
  if (at >= 0) words[w++] = at - start;
  return at;
}

function putRest(out, at, end, rest) {
  if (!wellFormed(rest)) return ODD;
  const { read, written } = encoder.encodeInto(rest, out.subarray(at, end));
  return read < rest.length ? FULL : at + written;
}

/** An optional string: its length entry ABSENT when it is undefined. */
function optional(out, at, end, s) {
  if (s !== undefined) return put(out, at, end, s);
  if (w === wEnd) return FULL;
  words[w++] = ABSENT;
  return at;
}

/** A number as a length entry (ABSENT when undefined). */
function number(at, n) {
  if (w === wEnd) return FULL;
  words[w++] = n === undefined ? ABSENT : n;
  return at;
}

/**
 * Writes `request` for `convert::refill_request`: the strings' UTF-8 one
 * after the other into the `capacity` bytes of wasm memory at `address`,
 * and a list of u32 entries into the `count` words at `lengths`; returns
 * the number of entries, the first of which is the number of bytes. ODD (-1) when the request is not exactly a
 * well-formed request of strings and integers (unknown key, wrong type,
 * undefined / null / function values, a lone surrogate, a `toJSON`, a
 * throwing getter...): the caller then parses it through JSON, so every
 * error is the core's own; FULL (-2) when a buffer is too small.
 *
 * Entries, ABSENT (0xffffffff) for an absent field: the bytes written,
 * the byte length of host, the port, the byte lengths of method, path, scheme, gateway, the
 * protocol (0 http, 1 tls, 2 tcp), the byte lengths of sni, destinationIp,
 * source namespace, the number of labels and the byte lengths of each
 * label's name and value, then those of each header's name and value (a
 * list of values gives one pair per value).
 */
export function packRequest(request, address, capacity, lengths, count) {
  if (packing) return ODD;
  packing = true;
  views();
  const out = bytes;
  const first = lengths >>> 2;
  // Entry 0: the number of bytes written, set at the end.
  w = first + 1;
  wEnd = first + count;
  // Never throws: an exception must not unwind through the Rust frames that
  // called this (a throwing getter or Proxy trap takes the JSON path, which reports it).
  try {
    const end = pack(request, out, address, address + capacity);
    // A getter that made the memory grow (through another Mesh) detached
    // the views written to: what they held is lost.
    if (out.byteLength === 0) return ODD;
    if (end < 0) return end;
    words[first] = end - address;
    return w - first;
  } catch {
    return ODD;
  } finally {
    packing = false;
  }
}

// The request's keys, a bit each.
const HOST = 1, PORT = 2, METHOD = 4, PATH = 8, SCHEME = 16, GATEWAY = 32, PROTOCOL = 64,
  SNI = 128, IP = 256, HEADERS = 512, SOURCE = 1024;

function keyBit(key) {
  switch (key) {
    case 'host': return HOST;
    case 'port': return PORT;
    case 'method': return METHOD;
    case 'path': return PATH;
    case 'scheme': return SCHEME;
    case 'gateway': return GATEWAY;
    case 'protocol': return PROTOCOL;
    case 'sni': return SNI;
    case 'destinationIp': return IP;
    case 'headers': return HEADERS;
    case 'source': return SOURCE;
    default: return 0;
  }
}

// The last list of request keys seen and its bits: requests built alike
// have the same keys in the same order (V8 gives the same key strings), so
// most calls compare a few pointers instead of looking each name up. Only
// names are remembered, never values.
let lastKeys = [], lastBits = 0;

/** A bit per own key of the request; -1 for an unknown key. */
function keyBits(keys) {
  const n = keys.length;
  if (n === lastKeys.length) {
    let i = 0;
    while (i < n && keys[i] === lastKeys[i]) i++;
    if (i === n) return lastBits;
  }
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const bit = keyBit(keys[i]);
    if (bit === 0) return -1;
    bits |= bit;
  }
  lastKeys = keys;
  lastBits = bits;
  return bits;
}

/** Writes the request; the position after it, or ODD or FULL. */
function pack(r, out, at, end) {
  if (!record(r)) return ODD;
  const bits = keyBits(Object.keys(r));
  if (bits < 0) return ODD;
  // Own keys only (Object.keys), so a named read below reads the own
  // property, never one inherited. Each value is read once, as JSON.stringify does
  // (a field whose bit is not set stays undefined).
  let host, port, method, path, scheme, gateway, protocol, sni, ip, ns, labels, headers;
  if (bits & HOST && !isString((host = r.host))) return ODD;
  if (bits & PORT) {
    port = r.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return ODD;
    port = port | 0; // -0 as 0
  }
  if (bits & METHOD && !isString((method = r.method))) return ODD;
  if (bits & PATH && !isString((path = r.path))) return ODD;
  if (bits & SCHEME && !isString((scheme = r.scheme))) return ODD;
  if (bits & GATEWAY && !isString((gateway = r.gateway))) return ODD;
  if (bits & PROTOCOL) {
    const v = r.protocol;
    if (v === 'http') protocol = 0;
    else if (v === 'tls') protocol = 1;
    else if (v === 'tcp') protocol = 2;
    else return ODD;
  }
  if (bits & SNI && !isString((sni = r.sni))) return ODD;
  if (bits & IP && !isString((ip = r.destinationIp))) return ODD;
  if (bits & HEADERS && !record((headers = r.headers))) return ODD;
  if (bits & SOURCE) {
    const source = r.source;
    if (!record(source)) return ODD;
    for (const k of Object.keys(source)) {
      const v = source[k];
      if (k === 'namespace') {
        if (!isString(v)) return ODD;
        ns = v;
      } else if (k === 'labels') {
        if (!record(v)) return ODD;
        labels = v;
      } else {
        return ODD;
      }
    }
  }
  if (host === undefined) return ODD;
  at = put(out, at, end, host);
  if (at >= 0) at = number(at, port);
  if (at >= 0) at = optional(out, at, end, method);
  if (at >= 0) at = optional(out, at, end, path);
  if (at >= 0) at = optional(out, at, end, scheme);
  if (at >= 0) at = optional(out, at, end, gateway);
  if (at >= 0) at = number(at, protocol);
  if (at >= 0) at = optional(out, at, end, sni);
  if (at >= 0) at = optional(out, at, end, ip);
  if (at >= 0) at = optional(out, at, end, ns);
  if (at < 0) return at;
  if (labels === undefined) {
    at = number(at, 0);
  } else {
    const names = Object.keys(labels);
    at = number(at, names.length);
    for (let i = 0; i < names.length && at >= 0; i++) {
      const value = labels[names[i]];
      if (!isString(value)) return ODD;
      at = put(out, at, end, names[i]);
      if (at >= 0) at = put(out, at, end, value);
    }
  }
  if (headers === undefined || at < 0) return at;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (isString(value)) {
      at = put(out, at, end, name);
      if (at >= 0) at = put(out, at, end, value);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length && at >= 0; i++) {
        const one = value[i];
        if (!isString(one)) return ODD;
        at = put(out, at, end, name);
        if (at >= 0) at = put(out, at, end, one);
      }
    } else {
      return ODD;
    }
    if (at < 0) return at;
  }
  return at;
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

// The tape being read (a view of wasm memory), the strings the page
// holds, the fresh text, where in the tape and where in the fresh text:
// plain module variables instead of a closure per call.
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
 * The decision the tape of `len` numbers at `address` in wasm memory
 * describes (`Tape::write_decision`): the object JSON.parse gives for the
 * decision's serde JSON, keys in the same order, written as named
 * properties (fast in V8, unlike keys one by one).
 */
export function buildDecision(address, len, s, f) {
  // Building runs no user code, unless Object.prototype has a setter for a
  // decision key; if that routes again, the outer build resumes after it.
  const outer = tape === undefined ? undefined : [tape, strings, fresh, at, from];
  views();
  tape = numbers; strings = s; fresh = f; at = address >>> 3; from = 0;
  try {
    const built = decision();
    // The memory grew while building (detaching the view): it read nothing.
    return tape.byteLength === 0 ? undefined : built;
  } catch {
    // Never throws through the Rust caller; it reports `undefined` as an internal error.
    return undefined;
  } finally {
    if (outer === undefined) tape = undefined;
    else [tape, strings, fresh, at, from] = outer;
  }
}

function decision() {
  const d = { outcome: OUTCOMES[tape[at]] };
  const bits = tape[at + 1];
  at += 2;
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
