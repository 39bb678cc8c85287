//! Generated configuration for the load+validate bench and the memory example.

/// `n` VirtualServices (header match, weighted split, retries, timeout) and
/// `n` DestinationRules (two subsets, connection pool, outlier detection).
pub fn generate(n: usize) -> String {
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
apiVersion: networking.istio.io/v1
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
