//! Routing behaviours a user relies on, one test each: a config, a request,
//! and the decision fields that matter.

use meshroute::decide::Protocol;
use meshroute::load::load_str;
use meshroute::{Mesh, Request};
use serde_json::{json, Value};

const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: default}
spec:
  replicas: 2
  template: {metadata: {labels: {app: reviews, version: v1}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: default}
spec:
  template: {metadata: {labels: {app: reviews, version: v2}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: http-admin, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"#;

fn mesh(extra: &str) -> Mesh {
    let text = format!("{SERVICES}\n---\n{extra}");
    let config = load_str(&text, "test.yaml");
    let errors: Vec<_> = config.messages.iter().filter(|m| m.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    Mesh::compile(&config)
}

fn decide(m: &Mesh, req: Request) -> Value {
    let d = m.decide(&req).unwrap();
    let explained = m.explain(&req).unwrap();
    let mut e = explained.to_json();
    e.as_object_mut().unwrap().remove("trace");
    assert_eq!(d.to_json(), e, "decide and explain agree");
    d.to_json()
}

#[test]
fn regex_is_a_true_full_match() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "/foo|/foo/bar"}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {regex: "/a.*?"}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"#,
    );
    let rule =
        |p: &str| decide(&m, Request::new("reviews").port(9080).path(p))["rule"]["index"].clone();
    assert_eq!(rule("/foo/bar"), json!(0));
    assert_eq!(rule("/foo"), json!(0));
    assert_eq!(rule("/abc"), json!(1));
    assert_eq!(
        rule("/foo/barx"),
        json!(2),
        "a substring match is not a match"
    );
    assert_eq!(rule("/xabc"), json!(2));
}

#[test]
fn headers_query_and_without_headers() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{queryParams: {debug: {exact: "1"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{withoutHeaders: {x-canary: {}}, headers: {x-env: {prefix: pro}}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{headers: {x-multi: {exact: "a,b"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
"#,
    );
    let r = |req: Request| decide(&m, req.port(9080));
    assert_eq!(
        r(Request::new("reviews").path("/x?debug=1&debug=2"))["rule"]["index"],
        json!(0)
    );
    assert_eq!(
        r(Request::new("reviews").path("/x?debug=2&debug=1"))["outcome"],
        json!("notFound"),
        "first value only"
    );
    assert_eq!(
        r(Request::new("reviews").header("x-env", "prod"))["rule"]["index"],
        json!(1)
    );
    assert_eq!(
        r(Request::new("reviews")
            .header("x-env", "prod")
            .header("x-canary", "1"))["outcome"],
        json!("notFound"),
        "withoutHeaders {{}} requires absence"
    );
    assert_eq!(
        r(Request::new("reviews")
            .header("x-multi", "a")
            .header("x-multi", "b"))["rule"]["index"],
        json!(2)
    );
}

#[test]
fn ignore_uri_case_applies_to_prefix_not_regex() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /API}, ignoreUriCase: true}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {regex: /ADMIN}, ignoreUriCase: true}]
    route: [{destination: {host: reviews, subset: v2}}]
"#,
    );
    assert_eq!(
        decide(&m, Request::new("reviews").port(9080).path("/api/x"))["rule"]["index"],
        json!(0)
    );
    assert_eq!(
        decide(&m, Request::new("reviews").port(9080).path("/admin"))["outcome"],
        json!("notFound")
    );
}

#[test]
fn rewrite_replaces_only_the_matched_prefix() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /foo}}]
    rewrite: {uri: /, authority: reviews-v2}
    route: [{destination: {host: reviews}}]
  - match: [{uri: {prefix: /re}}]
    rewrite: {uriRegexRewrite: {match: "^/re/([a-z]+)/(.*)$", rewrite: "/\\2/\\1"}}
    route: [{destination: {host: reviews}}]
  - rewrite: {uri: /v2}
    route: [{destination: {host: reviews}}]
"#,
    );
    let d = decide(&m, Request::new("reviews").port(9080).path("/foo/bar?x=1"));
    assert_eq!(
        d["rewrite"],
        json!({"path": "//bar?x=1", "authority": "reviews-v2"})
    );
    let d = decide(&m, Request::new("reviews").port(9080).path("/re/abc/def"));
    assert_eq!(d["rewrite"]["path"], json!("/def/abc"));
    let d = decide(&m, Request::new("reviews").port(9080).path("/x"));
    assert_eq!(
        d["rewrite"]["path"],
        json!("/v2x"),
        "a catch-all replaces the leading /"
    );
}

#[test]
fn redirect_location_and_direct_response() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - match: [{uri: {prefix: /old/}}]
    redirect: {prefixRewrite: /new/, scheme: https, port: 443, redirectCode: 308}
  - match: [{uri: {exact: /moved}}]
    redirect: {uri: "/here?x=1", authority: other.example, derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {exact: /gone}}]
    directResponse: {status: 410, body: {string: gone}}
    headers: {response: {set: {content-type: text/plain}}}
"#,
    );
    let d = decide(&m, Request::new("web").path("/old/page?q=2"));
    assert_eq!(d["outcome"], json!("redirect"));
    assert_eq!(
        d["redirect"],
        json!({"status": 308, "location": "https://web/new/page?q=2"})
    );
    let d = decide(&m, Request::new("web:8080").path("/moved?y=2"));
    assert_eq!(
        d["redirect"]["location"],
        json!("http://other.example:8080/here?x=1")
    );
    let d = decide(&m, Request::new("web").path("/gone"));
    assert_eq!(d["directResponse"], json!({"status": 410, "body": "gone"}));
    assert_eq!(
        d["responseHeaders"]["set"]["content-type"],
        json!("text/plain")
    );
}

#[test]
fn weights_zero_dropped_and_lone_destination_is_100() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {x: {exact: one}}}]
    route: [{destination: {host: reviews, subset: v1}, weight: 5}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 0}
    - {destination: {host: reviews, subset: v2}, weight: 10}
"#,
    );
    let d = decide(&m, Request::new("reviews").port(9080).header("x", "one"));
    assert_eq!(d["destinations"][0]["weight"], json!(100));
    let d = decide(&m, Request::new("reviews").port(9080));
    let w: Vec<_> = d["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["weight"].clone())
        .collect();
    assert_eq!(w, [json!(90), json!(10)]);
    assert_eq!(
        d["destinations"][0]["cluster"],
        json!("outbound|9080|v1|reviews.default.svc.cluster.local")
    );
}

#[test]
fn missing_subset_is_a_runtime_503_not_a_route_failure() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v9}}]
"#,
    );
    let d = decide(&m, Request::new("reviews").port(9080));
    assert_eq!(d["outcome"], json!("route"));
    assert!(d["destinations"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("503"));
}

#[test]
fn port_level_policy_replaces_top_level_and_subset_replaces_blocks() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 10}}
    loadBalancer: {simple: ROUND_ROBIN}
    portLevelSettings:
    - port: {number: 8080}
      loadBalancer: {simple: RANDOM}
  subsets:
  - name: canary
    labels: {track: canary}
    trafficPolicy:
      connectionPool: {http: {maxRetries: 3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - match: [{headers: {canary: {exact: "1"}}}]
    route: [{destination: {host: web, subset: canary, port: {number: 80}}}]
  - route: [{destination: {host: web}}]
"#,
    );
    let d = decide(&m, Request::new("web").port(8080));
    assert_eq!(
        d["destinations"][0]["port"],
        json!(8080),
        "no explicit port, several ports: the listener port"
    );
    assert_eq!(
        d["destinations"][0]["policy"],
        json!({"loadBalancer": {"simple": "RANDOM"}}),
        "port-level replaces the whole policy"
    );
    let d = decide(&m, Request::new("web").port(80));
    assert_eq!(
        d["destinations"][0]["policy"]["connectionPool"],
        json!({"tcp": {"maxConnections": 10}})
    );
    let d = decide(&m, Request::new("web").port(80).header("canary", "1"));
    assert_eq!(
        d["destinations"][0]["policy"],
        json!({"connectionPool": {"http": {"maxRetries": 3}}, "loadBalancer": {"simple": "ROUND_ROBIN"}}),
        "the subset's connectionPool replaces the top-level one whole"
    );
}

#[test]
fn gateway_merges_virtual_services_and_moves_catch_alls_last() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
  - port: {number: 8443, name: redirect, protocol: HTTP}
    hosts: ["*"]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: web, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, creationTimestamp: "2024-02-01T00:00:00Z"}
spec:
  hosts: [shop.example.com]
  gateways: [default/gw]
  http:
  - match: [{uri: {prefix: /reviews}}]
    route: [{destination: {host: reviews}}]
"#,
    );
    let gw = |p: &str, host: &str, port: u16| {
        decide(
            &m,
            Request::new(host)
                .path(p)
                .port(port)
                .via_gateway("default/gw"),
        )
    };
    let d = gw("/reviews/1", "shop.example.com", 80);
    assert_eq!(
        d["virtualService"],
        json!("default/b"),
        "the catch-all of the older VS moved after b's rule"
    );
    assert_eq!(d["destinations"][0]["port"], json!(9080));
    assert_eq!(
        gw("/", "shop.example.com", 80)["virtualService"],
        json!("default/a")
    );
    assert_eq!(
        gw("/", "other.example.com", 80)["outcome"],
        json!("notFound"),
        "no virtual host"
    );
    assert_eq!(
        gw("/", "example.com", 80)["outcome"],
        json!("notFound"),
        "*.example.com does not cover example.com"
    );
    assert_eq!(
        gw("/x", "shop.example.com", 8443)["redirect"]["location"],
        json!("https://shop.example.com/x")
    );
    // Sidecars do not use gateway-bound VirtualServices.
    assert_eq!(
        decide(&m, Request::new("shop.example.com"))["outcome"],
        json!("passthrough")
    );
}

#[test]
fn delegate_routes_replace_the_root_route() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /api}}]
    delegate: {name: leaf, namespace: team}
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: leaf, namespace: team}
spec:
  http:
  - match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
    timeout: 2s
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
"#,
    );
    let d = decide(&m, Request::new("reviews").port(9080).path("/api/v2/x"));
    assert_eq!(d["virtualService"], json!("team/leaf"));
    assert_eq!(d["delegatedFrom"], json!("default/root"));
    assert_eq!(d["rule"]["index"], json!(0));
    assert_eq!(d["timeout"], json!("2s"));
    // /other conflicts with the root's /api prefix: that delegate route is dropped.
    let d = decide(&m, Request::new("reviews").port(9080).path("/other"));
    assert_eq!(d["virtualService"], json!("default/root"));
    assert_eq!(d["destinations"][0]["subset"], json!("v1"));
}

#[test]
fn source_conditions_and_match_gateways_narrow() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{sourceNamespace: team}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{gateways: [some-gateway]}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"#,
    );
    let labels = [("app".to_string(), "productpage".to_string())]
        .into_iter()
        .collect();
    assert_eq!(
        decide(&m, Request::new("reviews").port(9080).from_labels(labels))["rule"]["index"],
        json!(0)
    );
    assert_eq!(
        decide(
            &m,
            Request::new("reviews.default")
                .port(9080)
                .from_namespace("team")
        )["rule"]["index"],
        json!(1)
    );
    assert_eq!(
        decide(&m, Request::new("reviews").port(9080))["rule"]["index"],
        json!(3),
        "match gateways cannot add a sidecar"
    );
}

#[test]
fn short_names_resolve_from_the_callers_namespace_and_export_to_hides() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  exportTo: ["."]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
"#,
    );
    assert_eq!(
        decide(&m, Request::new("reviews").port(9080))["virtualService"],
        json!("default/reviews")
    );
    let d = decide(
        &m,
        Request::new("reviews.default")
            .port(9080)
            .from_namespace("other"),
    );
    assert_eq!(
        d["outcome"],
        json!("defaultRoute"),
        "the VS is private to default"
    );
    let d = decide(
        &m,
        Request::new("reviews").port(9080).from_namespace("other"),
    );
    assert_eq!(
        d["outcome"],
        json!("passthrough"),
        "reviews from namespace other is reviews.other..."
    );
}

#[test]
fn tls_by_sni_and_tcp_by_subnet() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: ["*.bank.example"]
  ports: [{number: 443, name: tls, protocol: TLS}, {number: 5432, name: tcp, protocol: TCP}]
  location: MESH_EXTERNAL
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext}
spec:
  hosts: ["*.bank.example"]
  tls:
  - match: [{sniHosts: [login.bank.example], port: 443}]
    route: [{destination: {host: login.bank.example, port: {number: 443}}}]
  tcp:
  - match: [{destinationSubnets: [10.1.0.0/16], port: 5432}]
    route: [{destination: {host: db.bank.example, port: {number: 5432}}}]
"#,
    );
    let tls = |sni: &str| {
        decide(
            &m,
            Request::new(sni).port(443).protocol(Protocol::Tls).sni(sni),
        )
    };
    assert_eq!(tls("login.bank.example")["rule"]["index"], json!(0));
    assert_eq!(tls("www.bank.example")["outcome"], json!("defaultRoute"));
    let mut req = Request::new("db.bank.example")
        .port(5432)
        .protocol(Protocol::Tcp);
    req.destination_ip = Some("10.1.2.3".into());
    assert_eq!(
        decide(&m, req.clone())["destinations"][0]["host"],
        json!("db.bank.example")
    );
    req.destination_ip = Some("10.2.0.1".into());
    assert_eq!(decide(&m, req)["outcome"], json!("defaultRoute"));
}

#[test]
fn retries_timeout_fault_and_mirrors() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {x: {exact: "off"}}}]
    retries: {attempts: 0}
    route: [{destination: {host: reviews}}]
  - timeout: 3s
    retries: {attempts: 4, perTryTimeout: 500ms, retryOn: "5xx,reset"}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 10}}
      abort: {grpcStatus: UNAVAILABLE}
    mirrors:
    - destination: {host: reviews, subset: v2}
      percentage: {value: 5}
    route: [{destination: {host: reviews, subset: v1}}]
"#,
    );
    let d = decide(&m, Request::new("reviews").port(9080).header("x", "off"));
    assert_eq!(d["retries"], json!({"attempts": 0}));
    let d = decide(&m, Request::new("reviews").port(9080));
    assert_eq!(d["timeout"], json!("3s"));
    assert_eq!(
        d["retries"],
        json!({"attempts": 4, "perTryTimeout": "500ms", "retryOn": "5xx,reset"})
    );
    assert_eq!(
        d["fault"]["delay"],
        json!({"fixedDelay": "2s", "percent": 10.0})
    );
    assert_eq!(
        d["fault"]["abort"],
        json!({"grpcStatus": "UNAVAILABLE", "percent": 0.0}),
        "no percentage: inert"
    );
    assert_eq!(d["mirrors"][0]["subset"], json!("v2"));
    assert_eq!(d["mirrors"][0]["percent"], json!(5.0));
}

#[test]
fn explain_names_the_losers_and_the_defaults() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"#,
    );
    let d = m
        .explain(
            &Request::new("reviews")
                .port(9080)
                .header("end-user", "mary"),
        )
        .unwrap();
    let text: Vec<String> = d
        .trace()
        .iter()
        .map(|t| format!("{} {} {:?} {}", t.stage, t.subject, t.verdict, t.detail))
        .collect();
    let all = text.join("\n");
    assert!(
        all.contains("http[0] (jason) Failed") && all.contains("\"mary\""),
        "{all}"
    );
    assert!(all.contains("http[1] Matched"), "{all}");
    assert!(all.contains("Istio's default 2 retries"), "{all}");
    assert!(all.contains("no timeout"), "{all}");
}

#[test]
fn mesh_is_shared_across_threads() {
    let m = std::sync::Arc::new(mesh(""));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let d = m
                        .decide(&Request::new("reviews").port(9080).path(format!("/{i}")))
                        .unwrap();
                    assert_eq!(d.outcome().as_str(), "defaultRoute");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn paths_are_normalized_before_matching() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /admin}}]
    directResponse: {status: 403}
  - route: [{destination: {host: reviews}}]
"#,
    );
    let d = decide(
        &m,
        Request::new("reviews")
            .port(9080)
            .path("/public/../admin/x"),
    );
    assert_eq!(
        d["directResponse"]["status"],
        json!(403),
        "dot segments are resolved before routing"
    );
    let d = decide(&m, Request::new("reviews").port(9080).path("/%61dmin"));
    assert_eq!(
        d["directResponse"]["status"],
        json!(403),
        "unreserved escapes are decoded"
    );
    let d = decide(&m, Request::new("reviews").port(9080).path("/a%00b"));
    assert_eq!(d["directResponse"]["status"], json!(400));
}

#[test]
fn a_redirect_without_authority_keeps_the_request_port() {
    let m = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - redirect: {uri: /new}
"#,
    );
    let d = decide(&m, Request::new("reviews:9080").path("/old"));
    assert_eq!(d["redirect"]["location"], json!("http://reviews:9080/new"));
}
