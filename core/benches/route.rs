//! Routing benchmarks: (a) a bookinfo decision, (b) 10,000 hosts x 10 rules,
//! (c) one host with 1 to 10,000 rules mixing prefix, exact and regex
//! matches, (d) a decision in a mesh of 1,000 services over 200 namespaces
//! after the first from that namespace, the compile of 10,000
//! VirtualServices, and compile plus first decision of that 200-namespace
//! mesh (what `meshroute route` pays before it answers).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use meshroute::load::load_str;
use meshroute::{Mesh, Request};

const BOOKINFO: &str = include_str!("../../examples/bookinfo/bookinfo.yaml");

fn bookinfo_routing() -> String {
    let mut s = String::from(BOOKINFO);
    s.push_str(
        r#"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v3}
      weight: 10
"#,
    );
    s
}

/// `hosts` VirtualServices of `rules` rules each, on hosts `svc-N.bench`.
fn many_hosts(hosts: usize, rules: usize) -> String {
    let mut s = String::new();
    for h in 0..hosts {
        s.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: svc-{h}, namespace: default}}\nspec:\n  hosts: [svc-{h}.bench]\n  ports: [{{number: 80, name: http, protocol: HTTP}}]\n  resolution: DNS\n"
        ));
        s.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: svc-{h}, namespace: default}}\nspec:\n  hosts: [svc-{h}.bench]\n  http:\n"
        ));
        s.push_str(&rules_text(rules, &format!("svc-{h}.bench")));
    }
    s
}

/// `n` rules mixing exact, prefix and regex path matches; the last rule is a catch-all.
fn rules_text(n: usize, host: &str) -> String {
    let mut s = String::new();
    for r in 0..n.saturating_sub(1) {
        let m = match r % 3 {
            0 => format!("exact: /api/v{r}/items"),
            1 => format!("prefix: /static/{r}/"),
            _ => format!("regex: \"/users/{r}/[0-9]+\""),
        };
        s.push_str(&format!(
            "  - match:\n    - uri: {{{m}}}\n    route:\n    - destination: {{host: {host}}}\n"
        ));
    }
    s.push_str(&format!(
        "  - route:\n    - destination: {{host: {host}}}\n"
    ));
    s
}

fn one_host(rules: usize) -> String {
    let mut s = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: big, namespace: default}\nspec:\n  hosts: [big.bench]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: default}\nspec:\n  hosts: [big.bench]\n  http:\n",
    );
    s.push_str(&rules_text(rules, "big.bench"));
    s
}

/// `services` Kubernetes Services over `namespaces` namespaces, each with a
/// DestinationRule of two subsets and a VirtualService (header match, a
/// regex path on every 4th, a 90/10 split), as `genmesh.py` writes them.
fn namespaced_mesh(services: usize, namespaces: usize) -> String {
    let mut s = String::new();
    for i in 0..services {
        let ns = format!("ns-{}", i % namespaces);
        let regex = if i % 4 == 0 {
            format!("\n    - uri: {{regex: \"/api/v[0-9]+/items/[a-z0-9-]+/{i}\"}}")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: {ns}}}\nspec:\n  selector: {{app: svc-{i}}}\n  ports: [{{name: http, port: 8080}}]\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: svc-{i}, namespace: {ns}}}\nspec:\n  host: svc-{i}\n  subsets:\n  - {{name: v1, labels: {{version: v1}}}}\n  - {{name: v2, labels: {{version: v2}}}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: svc-{i}, namespace: {ns}}}\nspec:\n  hosts: [svc-{i}]\n  http:\n  - match:\n    - headers: {{end-user: {{exact: jason}}}}{regex}\n    route: [{{destination: {{host: svc-{i}, subset: v2}}}}]\n  - route:\n    - {{destination: {{host: svc-{i}, subset: v1}}, weight: 90}}\n    - {{destination: {{host: svc-{i}, subset: v2}}, weight: 10}}\n"
        ));
    }
    s
}

fn compile(text: &str) -> Mesh {
    let config = load_str(text, "bench");
    assert!(!config.has_errors(), "{:?}", config.messages.first());
    Mesh::compile(&config)
}

fn bench(c: &mut Criterion) {
    let bookinfo = compile(&bookinfo_routing());
    let jason = Request::new("reviews")
        .port(9080)
        .path("/reviews/0")
        .header("end-user", "jason");
    c.bench_function("a_bookinfo_decision", |b| {
        b.iter(|| bookinfo.decide(black_box(&jason)))
    });

    let wide = compile(&many_hosts(10_000, 10));
    let req = Request::new("svc-7777.bench").path("/users/5/123");
    c.bench_function("b_10000_hosts_x_10_rules", |b| {
        b.iter(|| wide.decide(black_box(&req)))
    });

    let mut group = c.benchmark_group("c_one_host_rules");
    for n in [1usize, 10, 100, 1000, 10_000] {
        let mesh = compile(&one_host(n));
        // A path that only the last (catch-all) rule matches: every rule is considered.
        let req = Request::new("big.bench").path("/nothing/matches/this");
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| mesh.decide(black_box(&req)))
        });
    }
    group.finish();

    let namespaced = namespaced_mesh(1_000, 200);
    let spread = compile(&namespaced);
    let from_ns_1 = |host: &str| {
        let mut r = Request::new(host).port(8080);
        r.source.namespace = "ns-1".into();
        r
    };
    let to_svc_1 = from_ns_1("svc-1");
    c.bench_function("d_1000_services_200_namespaces", |b| {
        b.iter(|| spread.decide(black_box(&to_svc_1)))
    });

    let text = many_hosts(10_000, 1);
    let config = load_str(&text, "bench");
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("10000_virtual_services", |b| {
        b.iter(|| Mesh::compile(black_box(&config)))
    });
    let config = load_str(&namespaced, "bench");
    let to_svc_201 = from_ns_1("svc-201.ns-1");
    group.bench_function("1000_services_200_namespaces_and_first_decision", |b| {
        b.iter(|| {
            let mesh = Mesh::compile(black_box(&config));
            mesh.decide(&to_svc_201).map(|d| d.destinations().len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
