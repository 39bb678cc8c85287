//! Structured configs and requests: VirtualServices (matches on URI, headers,
//! method, authority, query, port, source labels and gateways; routes,
//! redirects, direct responses and delegation), DestinationRules with
//! subsets, a Gateway and a ServiceEntry over a fixed registry, and arbitrary
//! requests. Deciding never panics, `decide` equals `explain` without its
//! trace, the same request decides the same twice, weights add up to 100 and
//! a weighted pick names one of the destinations.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute::decide::request::Protocol;
use std::fmt::Write;

const HOSTS: [&str; 6] = ["reviews", "ratings", "*.example.com", "api.example.com", "reviews.default.svc.cluster.local", "ext.test"];
const NAMESPACES: [&str; 3] = ["default", "test", "istio-system"];

#[derive(Arbitrary, Debug)]
enum StrMatch {
    Exact(String),
    Prefix(String),
    Regex(String),
}

#[derive(Arbitrary, Debug)]
struct Match {
    uri: Option<StrMatch>,
    ignore_uri_case: bool,
    headers: Vec<(String, Option<StrMatch>)>,
    method: Option<StrMatch>,
    authority: Option<StrMatch>,
    query: Option<(String, StrMatch)>,
    port: Option<u16>,
    source_label: Option<(String, String)>,
    gateway: Option<bool>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Route(Vec<(u8, Option<u8>, Option<u16>, u8)>),
    Redirect { uri: Option<String>, authority: Option<String>, code: u16 },
    Direct { status: u16, body: Option<String> },
    Delegate(u8),
}

#[derive(Arbitrary, Debug)]
struct Rule {
    name: Option<String>,
    matches: Vec<Match>,
    action: Action,
    rewrite: Option<String>,
    timeout_ms: Option<u16>,
}

#[derive(Arbitrary, Debug)]
struct Vs {
    namespace: u8,
    hosts: Vec<u8>,
    gateways: Option<Vec<bool>>,
    export_here: bool,
    rules: Vec<Rule>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    vss: Vec<Vs>,
    subsets: Vec<(u8, String)>,
    host: Option<u8>,
    raw_host: String,
    port: Option<u16>,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    namespace: u8,
    labels: Vec<(String, String)>,
    gateway: bool,
    protocol: u8,
    sni: Option<String>,
    random: u64,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn str_match(m: &StrMatch) -> String {
    match m {
        StrMatch::Exact(s) => format!("{{exact: {}}}", q(s)),
        StrMatch::Prefix(s) => format!("{{prefix: {}}}", q(s)),
        StrMatch::Regex(s) => format!("{{regex: {}}}", q(s)),
    }
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn config(input: &Input) -> String {
    let mut y = String::from(concat!(
        "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: default}\n",
        "spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}, {name: grpc, port: 9090}]}\n---\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: ratings, namespace: default}\n",
        "spec: {selector: {app: ratings}, ports: [{name: http, port: 9080}]}\n---\n",
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: default}\n",
        "spec: {hosts: [ext.test, api.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS, location: MESH_EXTERNAL}\n---\n",
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\n",
        "spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [\"*\"]}]}\n",
    ));
    for (host, name) in input.subsets.iter().take(4) {
        let _ = write!(
            y,
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr{host}, namespace: default}}\nspec: {{host: {}, subsets: [{{name: {}, labels: {{version: {}}}}}]}}\n",
            q(pick(&HOSTS, *host)),
            q(name),
            q(name)
        );
    }
    for (i, vs) in input.vss.iter().take(4).enumerate() {
        let _ = write!(
            y,
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs{i}, namespace: {}}}\nspec:\n",
            pick(&NAMESPACES, vs.namespace)
        );
        // A VirtualService without hosts is a delegate.
        let hosts: Vec<String> = vs.hosts.iter().take(3).map(|h| q(pick(&HOSTS, *h))).collect();
        let _ = writeln!(y, "  hosts: [{}]", hosts.join(", "));
        if let Some(gws) = &vs.gateways {
            let g: Vec<&str> = gws.iter().take(2).map(|m| if *m { "mesh" } else { "default/gw" }).collect();
            let _ = writeln!(y, "  gateways: [{}]", g.join(", "));
        }
        if vs.export_here {
            y.push_str("  exportTo: [\".\"]\n");
        }
        y.push_str("  http:\n");
        for rule in vs.rules.iter().take(8) {
            y.push_str("  - ");
            if let Some(n) = &rule.name {
                let _ = write!(y, "name: {}\n    ", q(n));
            }
            y.push_str("match:\n");
            for m in rule.matches.iter().take(3) {
                y.push_str("    - ignoreUriCase: ");
                y.push_str(if m.ignore_uri_case { "true\n" } else { "false\n" });
                if let Some(u) = &m.uri {
                    let _ = writeln!(y, "      uri: {}", str_match(u));
                }
                if !m.headers.is_empty() {
                    y.push_str("      headers:\n");
                    for (n, h) in m.headers.iter().take(3) {
                        let v = h.as_ref().map_or_else(|| "{}".to_string(), str_match);
                        let _ = writeln!(y, "        {}: {v}", q(n));
                    }
                }
                if let Some(u) = &m.method {
                    let _ = writeln!(y, "      method: {}", str_match(u));
                }
                if let Some(u) = &m.authority {
                    let _ = writeln!(y, "      authority: {}", str_match(u));
                }
                if let Some((k, v)) = &m.query {
                    let _ = writeln!(y, "      queryParams: {{{}: {}}}", q(k), str_match(v));
                }
                if let Some(p) = m.port {
                    let _ = writeln!(y, "      port: {p}");
                }
                if let Some((k, v)) = &m.source_label {
                    let _ = writeln!(y, "      sourceLabels: {{{}: {}}}", q(k), q(v));
                }
                if let Some(g) = m.gateway {
                    let _ = writeln!(y, "      gateways: [{}]", if g { "mesh" } else { "default/gw" });
                }
            }
            if let Some(r) = &rule.rewrite {
                let _ = writeln!(y, "    rewrite: {{uri: {}}}", q(r));
            }
            if let Some(t) = rule.timeout_ms {
                let _ = writeln!(y, "    timeout: {t}ms");
            }
            match &rule.action {
                Action::Route(dests) => {
                    y.push_str("    route:\n");
                    for (host, subset, port, weight) in dests.iter().take(4) {
                        let _ = write!(y, "    - destination: {{host: {}", q(pick(&HOSTS[..2], *host)));
                        if let Some(s) = subset {
                            let _ = write!(y, ", subset: {}", q(input.subsets.get(usize::from(*s) % 5).map_or("v1", |x| x.1.as_str())));
                        }
                        if let Some(p) = port {
                            let _ = write!(y, ", port: {{number: {p}}}");
                        }
                        let _ = writeln!(y, "}}\n      weight: {weight}");
                    }
                }
                Action::Redirect { uri, authority, code } => {
                    let _ = write!(y, "    redirect: {{redirectCode: {code}");
                    if let Some(u) = uri {
                        let _ = write!(y, ", uri: {}", q(u));
                    }
                    if let Some(a) = authority {
                        let _ = write!(y, ", authority: {}", q(a));
                    }
                    y.push_str("}\n");
                }
                Action::Direct { status, body } => {
                    let _ = write!(y, "    directResponse: {{status: {status}");
                    if let Some(b) = body {
                        let _ = write!(y, ", body: {{string: {}}}", q(b));
                    }
                    y.push_str("}\n");
                }
                Action::Delegate(d) => {
                    let _ = writeln!(y, "    delegate: {{name: vs{}, namespace: {}}}", d % 4, pick(&NAMESPACES, *d / 4));
                }
            }
        }
    }
    y
}

fuzz_target!(|input: Input| {
    let yaml = config(&input);
    let config = meshroute::load::load_str(&yaml, "fuzz.yaml");
    let mesh = meshroute::Mesh::compile(&config);
    let host = match input.host {
        Some(h) => pick(&HOSTS, h).trim_start_matches('*').trim_start_matches('.').to_string(),
        None => input.raw_host.clone(),
    };
    let mut req = meshroute::Request::new(host);
    req.port = input.port;
    if !input.method.is_empty() {
        req.method = input.method.clone();
    }
    req.path = input.path.clone();
    for (n, v) in input.headers.iter().take(16) {
        req.headers.append(n, v);
    }
    req.source.namespace = pick(&NAMESPACES, input.namespace).to_string();
    req.source.labels = input.labels.iter().take(4).cloned().collect();
    if input.gateway {
        req.gateway = "default/gw".into();
    }
    req.protocol = match input.protocol % 3 {
        0 => Protocol::Http,
        1 => Protocol::Tls,
        _ => Protocol::Tcp,
    };
    req.sni = input.sni.clone();
    let (a, b) = (mesh.decide(&req), mesh.explain(&req));
    assert_eq!(a.is_ok(), b.is_ok(), "decide and explain accept the same requests");
    let (Ok(a), Ok(b)) = (a, b) else { return };
    let mut bj = b.to_json();
    if let Some(o) = bj.as_object_mut() {
        o.remove("trace");
    }
    assert_eq!(a.to_json(), bj, "decide equals explain without its trace");
    assert_eq!(mesh.decide(&req).map(|d| d.to_json()).ok(), Some(a.to_json()), "deterministic");
    // Weights are relative (Envoy picks over their sum); a valid config sums
    // to 100 but the fuzzer's need not. Zero-weight destinations of a split
    // are dropped.
    if !a.destinations().is_empty() {
        assert!(
            a.destinations().len() == 1 || a.destinations().iter().all(|d| d.weight() > 0),
            "no zero weight in a split: {}",
            a.to_json()
        );
        let picked = a.pick(input.random).expect("a pick among destinations");
        assert!(a.destinations().iter().any(|d| std::ptr::eq(d, picked)));
        assert!(std::ptr::eq(picked, a.pick(input.random).expect("again")), "same random, same pick");
    } else {
        assert!(a.pick(input.random).is_none());
    }
});
