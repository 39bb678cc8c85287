// The JavaScript half of the conversions in src/convert.rs for Mesh.route: a
// request object packed into one string (one crossing into wasm), and a
// decision built as a plain object from a tape of numbers and a table of
// strings the page already holds (no JSON text, no UTF-8 decoding of known
// strings). Plain JS, no dependencies; src/convert.rs documents the layouts.

// The keys of `meshroute::Request` (serde, camelCase). Anything else makes
// `packRequest` give up, and the caller parses the request through JSON so the
// error is the core's own ("unknown field `hedaers`, expected one of ...").
const PROTOCOLS = new Set(['http', 'tls', 'tcp']);

// A string that can cross in the packed form: no NUL (the separator).
const plain = (v) => typeof v === 'string' && v.indexOf('\0') === -1;
// An object JSON.stringify would write as an object of its own keys.
const record = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.toJSON !== 'function';
// Present optional field: `=value`; absent: empty.
const some = (v) => '=' + v;

/**
 * `request` as one string for `convert::request_from_packed`, or `undefined`
 * when it is not exactly a well-formed request of strings and integers
 * (unknown key, wrong type, undefined / null / function values, NUL in a
 * string, a lone surrogate, a `toJSON`...): then the caller takes the JSON path.
 *
 * Layout, NUL-separated: host, port, method, path, scheme, gateway, protocol,
 * sni, destinationIp, source namespace (each empty when absent, `=value` when
 * present; host as is), the number of label pairs, the label pairs, then
 * header name/value pairs (a list of values gives one pair per value).
 */
export function packRequest(r) {
  // Never throws (a throwing getter, a Proxy...): an exception must not
  // unwind through the Rust frames that called this; the JSON path reports it.
  try {
    return pack(r);
  } catch {
    return undefined;
  }
}

function pack(r) {
  if (!record(r)) return undefined;
  let host;
  let port = '', method = '', path = '', scheme = '', gateway = '', protocol = '', sni = '', ip = '', ns = '';
  let labels = '', labelCount = 0, headers = '';
  for (const key of Object.keys(r)) {
    const v = r[key];
    switch (key) {
      case 'host': if (!plain(v)) return undefined; host = v; break;
      case 'port':
        if (!Number.isInteger(v) || v < 0 || v > 65535) return undefined;
        port = some(v); break;
      case 'method': if (!plain(v)) return undefined; method = some(v); break;
      case 'path': if (!plain(v)) return undefined; path = some(v); break;
      case 'scheme': if (!plain(v)) return undefined; scheme = some(v); break;
      case 'gateway': if (!plain(v)) return undefined; gateway = some(v); break;
      case 'protocol': if (!PROTOCOLS.has(v)) return undefined; protocol = some(v); break;
      case 'sni': if (!plain(v)) return undefined; sni = some(v); break;
      case 'destinationIp': if (!plain(v)) return undefined; ip = some(v); break;
      case 'headers': {
        if (!record(v)) return undefined;
        for (const name of Object.keys(v)) {
          if (name.indexOf('\0') !== -1) return undefined;
          const value = v[name];
          if (plain(value)) {
            headers += '\0' + name + '\0' + value;
          } else if (Array.isArray(value)) {
            for (const one of value) {
              if (!plain(one)) return undefined;
              headers += '\0' + name + '\0' + one;
            }
          } else {
            return undefined;
          }
        }
        break;
      }
      case 'source': {
        if (!record(v)) return undefined;
        for (const k of Object.keys(v)) {
          const s = v[k];
          if (k === 'namespace') {
            if (!plain(s)) return undefined;
            ns = some(s);
          } else if (k === 'labels') {
            if (!record(s)) return undefined;
            for (const name of Object.keys(s)) {
              const value = s[name];
              if (name.indexOf('\0') !== -1 || !plain(value)) return undefined;
              labels += '\0' + name + '\0' + value;
              labelCount++;
            }
          } else {
            return undefined;
          }
        }
        break;
      }
      default: return undefined;
    }
  }
  if (host === undefined) return undefined;
  const packed = host + '\0' + port + '\0' + method + '\0' + path + '\0' + scheme + '\0' + gateway + '\0'
    + protocol + '\0' + sni + '\0' + ip + '\0' + ns + '\0' + labelCount + labels + headers;
  // A lone surrogate would cross as U+FFFD; JSON makes it an error instead.
  return wellFormed(packed) ? packed : undefined;
}

const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/[\ud800-\udfff]/.test(s);

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
