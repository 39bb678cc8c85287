//! Generated configuration for the load+validate bench and the memory example.
#![allow(dead_code)] // each user takes the generators it needs

/// `n` VirtualServices (header match, weighted split, retries, timeout) and
/// `n` DestinationRules (two subsets, connection pool, outlier detection).
pub fn generate(n: usize) -> String {
    generate_with(n, true)
}

/// `n` VirtualServices only (no DestinationRules).
pub fn generate_virtual_services(n: usize) -> String {
    generate_with(n, false)
}

/// The configuration of [`generate`] as one JSON `List` (the shape of
/// `kubectl get -o json`), pretty-printed so every field has its own line.
pub fn generate_json(n: usize) -> String {
    // One document at a time: serde-saphyr's default budgets stop a
    // 9 MB multi-document text.
    let items: Vec<serde_json::Value> = generate(n)
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .filter_map(|d| serde_saphyr::from_str(d).ok())
        .collect();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
    });
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

fn generate_with(n: usize, destination_rules: bool) -> String {
    let mut s = String::with_capacity(n * 1200);
    for i in 0..n {
        s.push_str(&format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc-{i}
  namespace: ns-{ns}
spec:
  hosts: [svc-{i}]
  http:
  - match:
    - headers:
        end-user: {{exact: jason}}
      uri: {{prefix: /api}}
    route:
    - destination: {{host: svc-{i}, subset: v2}}
    timeout: 5s
    retries: {{attempts: 3, perTryTimeout: 2s, retryOn: \"5xx,reset\"}}
  - route:
    - destination: {{host: svc-{i}, subset: v1}}
      weight: 90
    - destination: {{host: svc-{i}, subset: v2}}
      weight: 10
---
",
            ns = i % 50
        ));
        if !destination_rules {
            continue;
        }
        s.push_str(&format!(
            "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: svc-{i}
  namespace: ns-{ns}
spec:
  host: svc-{i}
  trafficPolicy:
    connectionPool: {{http: {{http1MaxPendingRequests: 100}}, tcp: {{maxConnections: 100}}}}
    outlierDetection: {{consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}}
  subsets:
  - name: v1
    labels: {{version: v1}}
  - name: v2
    labels: {{version: v2}}
---
",
            ns = i % 50
        ));
    }
    s
}
