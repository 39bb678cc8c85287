//! The C ABI entry points with arbitrary bytes and handles used as C callers
//! use them (including misuse the ABI defines: NULL, double free, unknown
//! ids, out-of-range indexes): no call panics or reports a panic, every
//! returned string is UTF-8 of the stated length, `decide` equals `explain`
//! without its trace, and destinations' weights add up to 100.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute_capi::*;
use std::ptr;

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    name: Vec<u8>,
    method: Vec<u8>,
    authority: Vec<u8>,
    path: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    namespace: Vec<u8>,
    labels: Vec<(Vec<u8>, Vec<u8>)>,
    gateway: Vec<u8>,
    json: Vec<u8>,
    random: u64,
    index: u16,
    outlier_config: (i8, u16, u16, i32),
    outlier: Vec<(u8, u16, u32, u64)>,
    pool_config: (i8, i8, i8, bool),
    pool: Vec<(bool, u8, u64)>,
    balancer: (Vec<(Vec<u8>, u32)>, u32, u32, u64, Vec<(bool, u8, u64)>),
}

#[derive(Arbitrary, Debug)]
enum Config {
    Bookinfo,
    Reviews,
    Text(Vec<u8>),
}

const BOOKINFO: &str = concat!(
    include_str!("../../examples/bookinfo/bookinfo.yaml"),
    "\n---\n",
    include_str!("../../examples/bookinfo/destination-rule-all.yaml"),
    "\n---\n",
    include_str!("../../examples/bookinfo/virtual-service-reviews-jason.yaml"),
    "\n---\n",
    include_str!("../../examples/bookinfo/bookinfo-gateway.yaml"),
);
const REVIEWS: &str = include_str!("../../bindings-c/tests/reviews.yaml");

fn s(b: &[u8]) -> meshroute_str {
    meshroute_str { ptr: if b.is_empty() { ptr::null() } else { b.as_ptr().cast() }, len: b.len() }
}

/// A string the library returned: readable, UTF-8, of the stated length.
fn text(out: &meshroute_str) -> String {
    if out.len == 0 {
        return String::new();
    }
    assert!(!out.ptr.is_null(), "non-empty string with a NULL pointer");
    // SAFETY: the ABI promises `len` readable bytes at `ptr` while the owner lives.
    let bytes = unsafe { std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len) };
    std::str::from_utf8(bytes).expect("returned strings are UTF-8").to_string()
}

fn ok(status: meshroute_status) -> bool {
    assert_ne!(status, meshroute_status::MESHROUTE_STATUS_PANIC, "a panic reached the C boundary: {}", text(&meshroute_last_error()));
    status == meshroute_status::MESHROUTE_STATUS_OK
}

fn json_without_trace(d: *const meshroute_decision) -> serde_json::Value {
    let mut out = meshroute_str { ptr: ptr::null(), len: 0 };
    // SAFETY: `d` is a live decision.
    assert!(ok(unsafe { meshroute_decision_json(d, &mut out) }));
    let mut v: serde_json::Value = serde_json::from_str(&text(&out)).expect("decision JSON parses");
    if let Some(o) = v.as_object_mut() {
        o.remove("trace");
    }
    v
}

/// Every accessor of a decision, with in-range and out-of-range indexes.
fn inspect(d: *const meshroute_decision, index: usize, random: u64) {
    // SAFETY: `d` is a live decision; every out pointer is a local.
    unsafe {
        let mut outcome = meshroute_outcome::MESHROUTE_OUTCOME_ROUTE;
        assert!(ok(meshroute_decision_outcome(d, &mut outcome)));
        let mut st = meshroute_str { ptr: ptr::null(), len: 0 };
        assert!(ok(meshroute_decision_outcome_name(d, &mut st)));
        assert!(!text(&st).is_empty());
        if ok(meshroute_decision_virtual_service(d, &mut st)) {
            assert!(text(&st).contains('/'));
        }
        let mut n = 0usize;
        let _ = ok(meshroute_decision_rule_index(d, &mut n));
        if ok(meshroute_decision_rule_name(d, &mut st)) {
            let _ = text(&st);
        }
        if ok(meshroute_decision_timeout(d, &mut st)) {
            let _ = text(&st);
        }
        let mut count = 0usize;
        assert!(ok(meshroute_decision_destination_count(d, &mut count)));
        let mut total = 0u64;
        for i in 0..count {
            let mut dest: meshroute_destination = std::mem::zeroed();
            assert!(ok(meshroute_decision_destination(d, i, &mut dest)));
            let _ = (text(&dest.host), text(&dest.subset), text(&dest.cluster));
            total += u64::from(dest.weight);
        }
        if count > 0 {
            assert_eq!(total, 100, "weights add up to 100");
        }
        let mut dest: meshroute_destination = std::mem::zeroed();
        assert!(!ok(meshroute_decision_destination(d, count + index, &mut dest)));
        let mut picked = 0usize;
        if ok(meshroute_decision_pick(d, random, &mut picked)) {
            assert!(picked < count);
        } else {
            assert_eq!(count, 0);
        }
        let mut status = 0u16;
        if ok(meshroute_decision_redirect(d, &mut status, &mut st)) {
            let _ = text(&st);
        }
        if ok(meshroute_decision_direct_response(d, &mut status, &mut st)) {
            let _ = text(&st);
        }
        let mut traces = 0usize;
        assert!(ok(meshroute_decision_trace_count(d, &mut traces)));
        for i in 0..traces.min(64) {
            let mut e: meshroute_trace_entry = std::mem::zeroed();
            assert!(ok(meshroute_decision_trace_entry(d, i, &mut e)));
            let _ = (text(&e.stage), text(&e.subject), text(&e.detail));
        }
        let mut e: meshroute_trace_entry = std::mem::zeroed();
        assert!(!ok(meshroute_decision_trace_entry(d, traces + index, &mut e)));
    }
}

fuzz_target!(|input: Input| {
    let config: &[u8] = match &input.config {
        Config::Bookinfo => BOOKINFO.as_bytes(),
        Config::Reviews => REVIEWS.as_bytes(),
        Config::Text(t) => t,
    };
    let index = usize::from(input.index);
    // SAFETY (whole block): every pointer passed is NULL, a local, a slice of
    // the input, or a handle this function created and has not freed.
    unsafe {
        let mut mesh: *mut meshroute_mesh = ptr::null_mut();
        let cfg = s(config);
        let name = s(&input.name);
        if !ok(meshroute_mesh_new(cfg.ptr, cfg.len, name.ptr, name.len, &mut mesh)) {
            assert!(mesh.is_null());
            assert!(std::str::from_utf8(config).is_err() || std::str::from_utf8(&input.name).is_err());
            return;
        }
        let mut count = 0usize;
        assert!(ok(meshroute_mesh_message_count(mesh, &mut count)));
        let mut has_errors = false;
        assert!(ok(meshroute_mesh_has_errors(mesh, &mut has_errors)));
        for i in 0..count.min(32) {
            let mut m: meshroute_message = std::mem::zeroed();
            assert!(ok(meshroute_mesh_message(mesh, i, &mut m)));
            assert!(!text(&m.text).is_empty(), "every message says something");
            let _ = (text(&m.code), text(&m.resource), text(&m.field_path), text(&m.file));
        }
        let mut m: meshroute_message = std::mem::zeroed();
        assert!(!ok(meshroute_mesh_message(mesh, count + index, &mut m)));
        let mut all = meshroute_str { ptr: ptr::null(), len: 0 };
        assert!(ok(meshroute_mesh_messages_json(mesh, &mut all)));
        let messages: serde_json::Value = serde_json::from_str(&text(&all)).expect("messages JSON parses");
        assert_eq!(messages.as_array().map(Vec::len), Some(count));

        let headers: Vec<meshroute_header> =
            input.headers.iter().take(32).map(|(n, v)| meshroute_header { name: s(n), value: s(v) }).collect();
        let labels: Vec<meshroute_header> =
            input.labels.iter().take(8).map(|(n, v)| meshroute_header { name: s(n), value: s(v) }).collect();
        let request = meshroute_request {
            method: s(&input.method),
            authority: s(&input.authority),
            path: s(&input.path),
            headers: if headers.is_empty() { ptr::null() } else { headers.as_ptr() },
            header_count: headers.len(),
            source_namespace: s(&input.namespace),
            source_labels: if labels.is_empty() { ptr::null() } else { labels.as_ptr() },
            source_label_count: labels.len(),
            gateway: s(&input.gateway),
        };
        let mut a: *mut meshroute_decision = ptr::null_mut();
        let mut b: *mut meshroute_decision = ptr::null_mut();
        let da = ok(meshroute_mesh_decide(mesh, &request, &mut a));
        let db = ok(meshroute_mesh_explain(mesh, &request, &mut b));
        assert_eq!(da, db, "decide and explain accept the same requests");
        if da {
            assert_eq!(json_without_trace(a), json_without_trace(b), "decide equals explain without its trace");
            inspect(a, index, input.random);
            inspect(b, index, input.random);
        } else {
            assert!(a.is_null() && b.is_null());
            assert!(!text(&meshroute_last_error()).is_empty(), "a failure says why");
        }
        // A kept handle, last used for another request with longer strings
        // and more headers, decides this one as a fresh handle does.
        let mut kept: *mut meshroute_decision = ptr::null_mut();
        let long = [meshroute_header { name: s(b"X-Previous-Header-Name"), value: s(b"a value longer than sixteen") }; 40];
        let previous = meshroute_request {
            method: s(b"PROPFIND-EXTENDED"),
            authority: s(b"previous.example.com:8443"),
            path: s(b"/a/much/longer/previous/path?with=query"),
            headers: long.as_ptr(),
            header_count: long.len(),
            source_namespace: s(b"previous-namespace"),
            source_labels: long.as_ptr(),
            source_label_count: 3,
            gateway: s(b"istio-system/previous-gateway"),
        };
        assert!(ok(meshroute_mesh_decide(mesh, &previous, &mut kept)));
        let dk = ok(meshroute_mesh_decide_into(mesh, &request, &mut kept));
        assert_eq!(dk, da, "decide_into accepts what decide accepts");
        if dk {
            assert_eq!(json_without_trace(kept), json_without_trace(a), "a reused handle decides as a new one");
        }
        assert!(ok(meshroute_decision_free(kept)));
        assert!(ok(meshroute_decision_free(a)));
        assert!(ok(meshroute_decision_free(b)));

        let json = s(&input.json);
        let mut c: *mut meshroute_decision = ptr::null_mut();
        let mut e: *mut meshroute_decision = ptr::null_mut();
        let dc = ok(meshroute_mesh_decide_json(mesh, json.ptr, json.len, &mut c));
        let de = ok(meshroute_mesh_explain_json(mesh, json.ptr, json.len, &mut e));
        assert_eq!(dc, de);
        if dc {
            assert_eq!(json_without_trace(c), json_without_trace(e));
            inspect(e, index, input.random);
        }
        assert!(ok(meshroute_decision_free(c)));
        assert!(ok(meshroute_decision_free(e)));
        // Decisions outlive their mesh; a second free is refused, not undefined.
        assert!(ok(meshroute_mesh_free(mesh)));
        assert_eq!(meshroute_mesh_free(mesh), meshroute_status::MESHROUTE_STATUS_INVALID_HANDLE);

        // Outlier detector: reports at arbitrary times, some to hosts it lacks.
        let mut det: *mut meshroute_outlier_detector = ptr::null_mut();
        let hosts = input.outlier.len() % 8;
        let (c5xx, interval, base, pct) = input.outlier_config;
        let oc = meshroute_outlier_config {
            consecutive_5xx_errors: i64::from(c5xx),
            consecutive_gateway_errors: i64::from(c5xx) - 3,
            split_external_local_origin_errors: c5xx % 2 == 0,
            consecutive_local_origin_failures: i64::from(c5xx % 4),
            interval_ns: u64::from(interval) * 1_000_000,
            base_ejection_time_ns: u64::from(base) * 1_000_000,
            max_ejection_percent: pct,
            min_health_percent: pct / 2,
        };
        assert!(!ok(meshroute_outlier_detector_new(ptr::null(), hosts, 0, &mut det)), "NULL config refused");
        assert!(ok(meshroute_outlier_detector_new(&oc, hosts, 0, &mut det)));
        let mut now = 0u64;
        for (host, status, dt, random) in input.outlier.iter().take(64) {
            now = now.saturating_add(u64::from(*dt) * 1_000_000);
            let h = usize::from(*host) % (hosts + 1);
            let mut ejected = false;
            let st = meshroute_outlier_detector_report_status(det, h, *status, now, *random, &mut ejected);
            // A host the detector lacks is OUT_OF_RANGE for both calls.
            assert_eq!(ok(st), h < hosts, "report_status for host {h} of {hosts}");
            let mut is = false;
            if ok(meshroute_outlier_detector_is_ejected(det, h, &mut is)) {
                assert_eq!(is, ejected);
            }
            let _ = ok(meshroute_outlier_detector_advance(det, now));
        }
        assert!(ok(meshroute_outlier_detector_free(det)));

        // Pool: acquire, release what was admitted, refuse unknown ids.
        let mut pool: *mut meshroute_pool = ptr::null_mut();
        let (mc, mp, mr, http2) = input.pool_config;
        let pc = meshroute_pool_config {
            max_connections: i32::from(mc),
            http1_max_pending_requests: i32::from(mp),
            http2_max_requests: i32::from(mr),
            max_requests_per_connection: i32::from(mc % 3),
            max_retries: i32::from(mp % 3),
            max_concurrent_streams: i32::from(mr % 5),
            http2,
        };
        assert!(!ok(meshroute_pool_new(ptr::null(), 2, &mut pool)), "NULL config refused");
        assert!(ok(meshroute_pool_new(&pc, 2, &mut pool)));
        let mut ids = Vec::new();
        for (acquire, host, id) in input.pool.iter().take(64) {
            if *acquire {
                let mut adm = meshroute_admission::MESHROUTE_ADMISSION_OVERFLOW;
                let mut rid = 0u64;
                if ok(meshroute_pool_acquire(pool, usize::from(*host % 3), &mut adm, &mut rid)) {
                    assert!(*host % 3 < 2);
                    if adm != meshroute_admission::MESHROUTE_ADMISSION_OVERFLOW {
                        assert!(!ids.contains(&rid));
                        ids.push(rid);
                    }
                }
            } else if let Some(pos) = ids.iter().position(|x| x == id) {
                assert!(ok(meshroute_pool_release(pool, ids.swap_remove(pos))));
            } else {
                assert!(!ok(meshroute_pool_release(pool, *id)));
            }
        }
        for id in ids {
            assert!(ok(meshroute_pool_release(pool, id)));
        }
        assert!(ok(meshroute_pool_free(pool)));

        // Balancer: any policy value, endpoints, picks and health changes.
        let (eps, policy, threshold, seed, ops) = &input.balancer;
        let endpoints: Vec<meshroute_endpoint> =
            eps.iter().take(16).map(|(a, w)| meshroute_endpoint { address: s(a), weight: *w }).collect();
        let mut bal: *mut meshroute_balancer = ptr::null_mut();
        let eptr = if endpoints.is_empty() { ptr::null() } else { endpoints.as_ptr() };
        if ok(meshroute_balancer_new(eptr, endpoints.len(), *policy, *threshold, *seed, &mut bal)) {
            for (pick, host, random) in ops.iter().take(64) {
                if *pick {
                    let mut h = 0usize;
                    if ok(meshroute_balancer_pick(bal, *random, &mut h)) {
                        assert!(h < endpoints.len());
                    }
                } else {
                    let _ = ok(meshroute_balancer_set_unhealthy(bal, usize::from(*host), random % 2 == 0));
                }
            }
            assert!(ok(meshroute_balancer_free(bal)));
            assert_eq!(meshroute_balancer_free(bal), meshroute_status::MESHROUTE_STATUS_INVALID_HANDLE);
        } else {
            assert!(bal.is_null());
        }
    }
});
