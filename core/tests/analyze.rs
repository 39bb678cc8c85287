//! `istioctl analyze` checks: for every check, a configuration that triggers
//! it (asserting code, resource, field path and line) and its nearest
//! configuration that does not; then every configuration of the public
//! conformance corpus must analyze without errors.
//!
//! In the YAML snippets, the line the message must point at ends with `#<`.

mod corpus;
use corpus::conformance_dirs;

use meshroute::analyze::analyze;
use meshroute::load::{load, load_str, Input, LoadOptions};
use meshroute::{Message, Severity};
use std::path::{Path, PathBuf};

const REVIEWS: &str = "
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
";

const TWO_PORTS: &str = "
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: default}
spec:
  ports:
  - {name: http, port: 80}
  - {name: grpc, port: 90}
";

const REVIEWS_V1_POD: &str = "
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-abc, namespace: default, labels: {app: reviews, version: v1}}
spec: {}
";

const REVIEWS_V1_DEPLOYMENT: &str = "
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: default}
spec:
  template:
    metadata:
      labels: {app: reviews, version: v1}
";

const INGRESS_POD: &str = "
---
apiVersion: v1
kind: Pod
metadata: {name: ingress-1, namespace: istio-system, labels: {istio: ingressgateway}}
spec: {}
---
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: istio-system, labels: {istio: ingressgateway}}
spec:
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
";

/// One check: `bad` must produce a message `code` on `resource` at `path`,
/// on the line marked `#<`; `good` must produce no message with `code`.
struct Case {
    name: &'static str,
    code: &'static str,
    resource: &'static str,
    path: &'static str,
    bad: String,
    good: String,
}

fn case(
    name: &'static str,
    code: &'static str,
    resource: &'static str,
    path: &'static str,
    bad: &str,
    good: &str,
) -> Case {
    Case {
        name,
        code,
        resource,
        path,
        bad: bad.to_string(),
        good: good.to_string(),
    }
}

fn run(yaml: &str, name: &str) -> Vec<Message> {
    let config = load_str(yaml, "test.yaml");
    assert!(
        !config.has_errors(),
        "{name}: the snippet does not load: {:#?}",
        config.messages
    );
    analyze(&config)
}

fn marked_line(yaml: &str) -> Option<u32> {
    yaml.lines()
        .position(|l| l.trim_end().ends_with("#<"))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn vs(spec: &str) -> String {
    format!("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs, namespace: default}}\nspec:\n{spec}")
}

/// A Gateway on the default ingress gateway serving HTTPS with a credential.
fn tls_gateway(name: &str, credential: &str) -> String {
    format!("\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  selector: {{istio: ingressgateway}}\n  servers:\n  - port: {{number: 443, name: https, protocol: HTTPS}}\n    hosts: ['*']\n    tls:\n      mode: SIMPLE\n      credentialName: {credential}\n")
}

/// A Secret in istio-system (where the default ingress gateway runs) with a
/// PEM certificate (a minimal DER Certificate structure) under `cert_key`
/// and a key under `key_key`.
fn secret(name: &str, cert_key: &str, key_key: &str) -> String {
    format!("\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: istio-system}}\ntype: kubernetes.io/tls\ndata:\n  {cert_key}: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1BY3dBREFBQXdFQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==\n  {key_key}: a2V5\n")
}

const JWT_CLAIM_ROUTE: &str = "  hosts: [a.example.com]\n  gateways: [gw]\n  http:\n  - match:\n    - headers:\n        \"@request.auth.claims.group\":\n          exact: admin\n    route:\n    - destination: {host: reviews}\n";

fn cases() -> Vec<Case> {
    let route = |dest: &str| {
        vs(&format!(
            "  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n{dest}"
        ))
    };
    let gateway = |name: &str, selector: &str, port: u32, hosts: &str| {
        format!("\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  selector: {{{selector}}}\n  servers:\n  - port: {{number: {port}, name: http, protocol: HTTP}}\n    hosts: [{hosts}]\n")
    };
    let dr = |spec: &str| {
        format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr, namespace: default}}\nspec:\n{spec}")
    };
    let se = |name: &str, spec: &str| {
        format!("\n---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}")
    };
    let sidecar = |name: &str, ns: &str, spec: &str| {
        format!("\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}")
    };
    let subsets_dr = "\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews, namespace: default}\nspec:\n  host: reviews\n  subsets:\n  - {name: v1, labels: {version: v1}}\n";
    vec![
        case("destination host", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.host",
            &(route("        host: ratings #<\n") + REVIEWS),
            &(route("        host: reviews\n") + REVIEWS)),
        case("destination host across namespaces needs the FQDN", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.host",
            &(route("        host: reviews.default #<\n") + REVIEWS),
            &(route("        host: reviews.default.svc.cluster.local\n") + REVIEWS)),
        case("destination host not exported to the VirtualService", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.host",
            &(route("        host: ext.example.com #<\n") + &se("ext", "  hosts: [ext.example.com]\n  exportTo: [other]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n")),
            &(route("        host: ext.example.com\n") + &se("ext", "  hosts: [ext.example.com]\n  exportTo: [.]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n"))),
        case("destination under a wildcard ServiceEntry", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.host",
            &(route("        host: api.example.org #<\n") + &se("wild", "  hosts: ['*.example.com']\n  ports: [{number: 80, name: http, protocol: HTTP}]\n")),
            &(route("        host: api.example.com\n") + &se("wild", "  hosts: ['*.example.com']\n  ports: [{number: 80, name: http, protocol: HTTP}]\n"))),
        case("mirror host", "IST0101", "VirtualService default/vs",
            "spec.http[0].mirror.host",
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror:\n      host: shadow #<\n") + REVIEWS),
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror:\n      host: reviews\n") + REVIEWS)),
        case("mirrors host", "IST0101", "VirtualService default/vs",
            "spec.http[0].mirrors[0].destination.host",
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirrors:\n    - destination:\n        host: shadow #<\n") + REVIEWS),
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirrors:\n    - destination:\n        host: reviews\n") + REVIEWS)),
        case("host:port", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.port.number",
            &(route("        host: reviews\n        port:\n          number: 9999 #<\n") + REVIEWS),
            &(route("        host: reviews\n        port:\n          number: 9080\n") + REVIEWS)),
        case("tcp destination port selector required", "IST0112", "VirtualService default/vs",
            "spec.tcp[0].route[0].destination.host",
            &(vs("  hosts: [multi]\n  tcp:\n  - route:\n    - destination:\n        host: multi #<\n") + TWO_PORTS),
            &(vs("  hosts: [multi]\n  tcp:\n  - route:\n    - destination:\n        host: multi\n        port: {number: 90}\n") + TWO_PORTS)),
        case("host+subset", "IST0101", "VirtualService default/vs",
            "spec.http[0].route[0].destination.subset",
            &(route("        host: reviews\n        subset: v9 #<\n") + REVIEWS + subsets_dr),
            &(route("        host: reviews\n        subset: v1\n") + REVIEWS + subsets_dr)),
        case("mirror+subset", "IST0101", "VirtualService default/vs",
            "spec.http[0].mirror.subset",
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror:\n      host: reviews\n      subset: v9 #<\n") + REVIEWS + subsets_dr),
            &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror:\n      host: reviews\n      subset: v1\n") + REVIEWS + subsets_dr)),
        case("ingress route rules not affected", "IST0140", "VirtualService default/vs",
            "spec.http[0].route[0].destination.host",
            &(vs("  hosts: ['*']\n  gateways: [gw]\n  http:\n  - route:\n    - destination:\n        host: reviews #<\n")
                + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n"
                + REVIEWS + subsets_dr + &gateway("gw", "istio: ingressgateway", 80, "'*'")),
            &(vs("  hosts: ['*']\n  gateways: [gw]\n  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v1\n")
                + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n"
                + REVIEWS + subsets_dr + &gateway("gw", "istio: ingressgateway", 80, "'*'"))),
        case("gateway not found", "IST0101", "VirtualService default/vs",
            "spec.gateways[0]",
            &(vs("  hosts: ['*']\n  gateways:\n  - missing #<\n  http:\n  - route:\n    - destination: {host: reviews}\n") + REVIEWS),
            &(vs("  hosts: ['*']\n  gateways:\n  - gw\n  http:\n  - route:\n    - destination: {host: reviews}\n") + REVIEWS + &gateway("gw", "istio: ingressgateway", 80, "'*'"))),
        case("host not found in gateway", "IST0132", "VirtualService default/vs",
            "spec.gateways[0]",
            &(vs("  hosts: [a.example.com]\n  gateways:\n  - gw #<\n  http:\n  - route:\n    - destination: {host: reviews}\n") + REVIEWS + &gateway("gw", "istio: ingressgateway", 80, "b.example.com, other/a.example.com")),
            &(vs("  hosts: [a.example.com]\n  gateways:\n  - gw\n  http:\n  - route:\n    - destination: {host: reviews}\n") + REVIEWS + &gateway("gw", "istio: ingressgateway", 80, "b.example.com, ./*.example.com"))),
        case("gateway selector matches no pod", "IST0101", "Gateway default/gw",
            "spec.selector[\"istio\"]",
            &(gateway("gw", "\n    istio: ingresstypo #<\n  ", 80, "'*'") + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: egress, namespace: istio-system, labels: {istio: egressgateway}}\nspec: {}\n"),
            &(gateway("gw", "\n    istio: ingressgateway\n  ", 80, "'*'") + INGRESS_POD)),
        case("gateway port not on service", "IST0162", "Gateway default/gw",
            "spec.servers[0].port.number",
            &("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port:\n      number: 8443 #<\n      name: http\n      protocol: HTTP\n    hosts: ['*']\n".to_string() + INGRESS_POD),
            &(gateway("gw", "istio: ingressgateway", 8080, "'*'") + INGRESS_POD)),
        case("conflicting gateways", "IST0145", "Gateway default/gw1",
            "spec.servers[0]",
            &("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw1, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP} #<\n    hosts: [a.example.com]\n".to_string() + &gateway("gw2", "istio: ingressgateway", 80, "a.example.com")),
            &("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw1, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n".to_string() + &gateway("gw2", "istio: ingressgateway", 80, "b.example.com"))),
        case("conflicting mesh hosts", "IST0109", "VirtualService default/vs",
            "metadata.name",
            &("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs #<\n  namespace: default\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs2, namespace: default}\nspec:\n  hosts: [reviews.default.svc.cluster.local]\n  http:\n  - route:\n    - destination: {host: reviews}\n".to_string() + REVIEWS),
            &("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\n  namespace: default\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs2, namespace: default}\nspec:\n  hosts: [reviews.default.svc.cluster.local]\n  gateways: [gw]\n  http:\n  - route:\n    - destination: {host: reviews}\n".to_string() + REVIEWS)),
        case("subset selects no pods", "IST0173", "DestinationRule default/dr",
            "spec.subsets[0].labels",
            &(dr("  host: reviews\n  subsets:\n  - name: v9\n    labels: {version: v9} #<\n") + REVIEWS + REVIEWS_V1_POD),
            &(dr("  host: reviews\n  subsets:\n  - name: v1\n    labels: {version: v1}\n") + REVIEWS + REVIEWS_V1_POD)),
        case("unknown destination rule host", "IST0174", "DestinationRule default/dr",
            "spec.host",
            &(dr("  host: ratings #<\n") + REVIEWS),
            &(dr("  host: reviews\n") + REVIEWS)),
        case("no server certificate verification", "IST0128", "DestinationRule default/dr",
            "spec.trafficPolicy.tls.caCertificates",
            &(dr("  host: reviews\n  trafficPolicy:\n    tls: #<\n      mode: SIMPLE\n") + REVIEWS),
            &(dr("  host: reviews\n  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      caCertificates: /etc/ca.pem\n") + REVIEWS)),
        case("no server certificate verification at a port", "IST0129", "DestinationRule default/dr",
            "spec.trafficPolicy.portLevelSettings[0].tls.caCertificates",
            &(dr("  host: reviews\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 9080}\n      tls: #<\n        mode: MUTUAL\n") + REVIEWS),
            &(dr("  host: reviews\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 9080}\n      tls:\n        mode: ISTIO_MUTUAL\n") + REVIEWS)),
        case("service entry addresses required", "IST0134", "ServiceEntry default/db",
            "spec.ports[0].name",
            &se("db", "  hosts: [db.example.com]\n  ports:\n  - number: 5432\n    name: tcp-pg #<\n    protocol: TCP\n"),
            &se("db", "  hosts: [db.example.com]\n  addresses: [10.1.2.3]\n  ports:\n  - number: 5432\n    name: tcp-pg\n    protocol: TCP\n")),
        case("conflicting service entry protocols", "IST0177", "ServiceEntry default/a",
            "metadata.name",
            &("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: a #<\n  namespace: default\nspec:\n  hosts: [x.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n".to_string()
                + &se("b", "  hosts: [x.example.com]\n  exportTo: [.]\n  ports: [{number: 80, name: grpc, protocol: GRPC}]\n")),
            &("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: a\n  namespace: default\nspec:\n  hosts: [x.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n".to_string()
                + &se("b", "  hosts: [x.example.com]\n  exportTo: [.]\n  ports: [{number: 80, name: http, protocol: http}]\n"))),
        case("sidecars selecting one pod", "IST0110", "Sidecar default/s1",
            "metadata.name",
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s1 #<\n  namespace: default\nspec:\n  workloadSelector: {labels: {app: reviews}}\n".to_string()
                + &sidecar("s2", "default", "  workloadSelector: {labels: {version: v1}}\n") + REVIEWS_V1_POD),
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s1\n  namespace: default\nspec:\n  workloadSelector: {labels: {app: reviews}}\n".to_string()
                + &sidecar("s2", "default", "  workloadSelector: {labels: {app: reviews, version: v2}}\n") + REVIEWS_V1_POD)),
        case("sidecars without selector", "IST0111", "Sidecar default/s1",
            "metadata.name",
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default} #<\nspec:\n  egress: [{hosts: ['./*']}]\n".to_string()
                + &sidecar("s2", "default", "  egress: [{hosts: ['*/*']}]\n")),
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default}\nspec:\n  egress: [{hosts: ['./*']}]\n".to_string()
                + &sidecar("s2", "istio-system", "  egress: [{hosts: ['*/*']}]\n"))),
        case("sidecar selector matches no pod", "IST0101", "Sidecar default/s1",
            "spec.workloadSelector.labels[\"app\"]",
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default}\nspec:\n  workloadSelector:\n    labels:\n      app: ratings #<\n".to_string() + REVIEWS_V1_POD),
            &("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default}\nspec:\n  workloadSelector:\n    labels:\n      app: reviews\n".to_string() + REVIEWS_V1_POD)),
        case("deprecated fault delay percent", "IST0002", "VirtualService default/vs",
            "spec.http[0].fault.delay.percent",
            &(vs("  hosts: [reviews]\n  http:\n  - fault:\n      delay:\n        fixedDelay: 1s\n        percent: 10 #<\n    route:\n    - destination: {host: reviews}\n") + REVIEWS),
            &(vs("  hosts: [reviews]\n  http:\n  - fault:\n      delay:\n        fixedDelay: 1s\n        percentage: {value: 10}\n    route:\n    - destination: {host: reviews}\n") + REVIEWS)),
        case("deprecated egress proxy", "IST0002", "Sidecar default/s1",
            "spec.outboundTrafficPolicy.egressProxy",
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default}\nspec:\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n    egressProxy: #<\n      host: egress.istio-system.svc.cluster.local\n",
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s1, namespace: default}\nspec:\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n"),
        case("duplicate gateway certificate", "IST0138", "Gateway default/gw1",
            "metadata.name",
            &(tls_gateway("gw1 #<", "cert-a") + &tls_gateway("gw2", "cert-a")),
            &(tls_gateway("gw1", "cert-a") + &tls_gateway("gw2", "cert-b"))),
        case("ExternalName service port named tcp", "IST0150", "Service default/db",
            "spec.ports[0].port",
            "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: default}\nspec:\n  type: ExternalName\n  externalName: db.example.com\n  ports:\n  - name: tcp\n    port: 5432 #<\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: default}\nspec:\n  type: ExternalName\n  externalName: db.example.com\n  ports:\n  - name: tls\n    port: 5432\n"),
        case("reference to an internal gateway", "IST0165", "VirtualService default/vs",
            "spec.gateways[0]",
            &vs("  hosts: [a.example.com]\n  gateways:\n  - istio-ingress/gw~istio-autogenerated-k8s-gateway~http #<\n  http:\n  - route:\n    - destination: {host: reviews}\n"),
            &vs("  hosts: [a.example.com]\n  gateways:\n  - istio-ingress/gw\n  http:\n  - route:\n    - destination: {host: reviews}\n")),
        case("gateway credential not found", "IST0101", "Gateway default/gw1",
            "spec.servers[0].tls.credentialName",
            &tls_gateway("gw1", "cert-a #<"),
            &(tls_gateway("gw1", "cert-a") + &secret("cert-a", "tls.crt", "tls.key"))),
        case("gateway credential invalid", "IST0161", "Gateway default/gw1",
            "spec.servers[0].tls.credentialName",
            &(tls_gateway("gw1", "cert-a #<") + &secret("cert-a", "tls.crt", "key")),
            &(tls_gateway("gw1", "cert-a") + &secret("cert-a", "cert", "key"))),
        case("jwt claim routing without request authentication", "IST0149", "VirtualService default/vs",
            "spec.http[0].match[0].headers[\"@request.auth.claims.group\"]",
            &(vs(JWT_CLAIM_ROUTE).replace("group\":", "group\": #<") + &gateway("gw", "istio: ingressgateway", 80, "'*'")),
            &(vs(JWT_CLAIM_ROUTE) + &gateway("gw", "istio: ingressgateway", 80, "'*'") + "---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: istio-system}\nspec:\n  selector:\n    matchLabels: {istio: ingressgateway}\n  jwtRules:\n  - issuer: https://example.com\n")),
        case("sidecar in an ambient namespace", "IST0167", "Sidecar amb/s1",
            "metadata.name",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: amb\n  labels: {istio.io/dataplane-mode: ambient}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s1 #<\n  namespace: amb\nspec:\n  egress:\n  - hosts: ['./*']\n",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: amb\n  labels: {istio.io/dataplane-mode: ambient, istio-injection: enabled}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s1\n  namespace: amb\nspec:\n  egress:\n  - hosts: ['./*']\n"),
        case("port naming", "IST0118", "Service default/web",
            "spec.ports[0].port",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  ports:\n  - name: web\n    port: 8080 #<\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  ports:\n  - name: http-web\n    port: 8080\n"),
    ]
}

#[test]
fn every_check_triggers_and_its_nearest_config_does_not() {
    let mut failures = Vec::new();
    for c in cases() {
        let line = marked_line(&c.bad);
        let bad = run(&c.bad, c.name);
        let hit = bad
            .iter()
            .find(|m| m.code == c.code && m.resource == c.resource && m.field_path == c.path);
        match hit {
            None => failures.push(format!(
                "{}: no {} on {} at {}; got:\n{}",
                c.name,
                c.code,
                c.resource,
                c.path,
                bad.iter()
                    .map(|m| format!("  {m}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            Some(m) => {
                if Some(m.source.location.line) != line {
                    failures.push(format!(
                        "{}: {} at line {}, expected {:?}",
                        c.name, c.code, m.source.location.line, line
                    ));
                }
                if m.text.is_empty() || m.fix.is_empty() {
                    failures.push(format!("{}: empty text or fix", c.name));
                }
            }
        }
        let good = run(&c.good, c.name);
        if let Some(m) = good
            .iter()
            .find(|m| m.code == c.code && m.resource == c.resource)
        {
            failures.push(format!("{}: nearest config still gives {m}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_use_istio_wording() {
    let msgs = run(
        &(vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: multi}\n")
            + TWO_PORTS),
        "wording",
    );
    let texts: Vec<&str> = msgs.iter().map(|m| m.text.as_str()).collect();
    assert!(texts.contains(&"This VirtualService routes to a service \"multi\" that exposes multiple ports [80 90]. Specifying a port in the destination is required to disambiguate."), "{texts:?}");
    let msgs = run(&(dr("reviews") + REVIEWS), "dr");
    assert!(msgs.is_empty(), "{msgs:?}");
}

fn dr(host: &str) -> String {
    format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr, namespace: default}}\nspec:\n  host: {host}\n")
}

#[test]
fn several_destination_rules_for_one_host_give_no_message() {
    let two = dr("reviews") + "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr2, namespace: default}\nspec:\n  host: reviews.default.svc.cluster.local\n" + REVIEWS;
    let msgs = run(&two, "two DRs");
    assert!(msgs.is_empty(), "{msgs:?}");
}

#[test]
fn gateway_selectors_see_the_default_ingress_gateway_and_deployment_templates() {
    // istioctl analyze adds the default ingress gateway (Pod and Service
    // istio-system/istio-ingressgateway, ports 80, 443, 31400, 15443) when
    // reading files: istio pkg/config/analysis/local/defaults.go.
    let gw = |selector: &str, port: u32| {
        format!("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: default}}\nspec:\n  selector: {{{selector}}}\n  servers:\n  - port: {{number: {port}, name: http, protocol: HTTP}}\n    hosts: ['*']\n")
    };
    let msgs = run(
        &(gw("istio: ingressgateway", 80) + REVIEWS_V1_DEPLOYMENT),
        "default ingress gateway",
    );
    assert!(
        msgs.iter()
            .all(|m| m.code != "IST0101" && m.code != "IST0162"),
        "{msgs:?}"
    );
    let msgs = run(
        &gw("istio: ingressgateway", 8080),
        "port not on the default service",
    );
    assert!(msgs.iter().any(|m| m.code == "IST0162"), "{msgs:?}");
    // A Deployment stands for the pods its template labels.
    let msgs = run(
        &(gw("app: reviews", 80) + REVIEWS_V1_DEPLOYMENT),
        "deployment selected",
    );
    assert!(msgs.iter().all(|m| m.code != "IST0101"), "{msgs:?}");
    let msgs = run(&gw("istio: ingresstypo", 80), "nothing selected");
    assert!(msgs.iter().any(|m| m.code == "IST0101"), "{msgs:?}");
}

#[test]
fn subsets_are_checked_against_pods_and_deployment_templates() {
    let dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr, namespace: default}\nspec:\n  host: reviews\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n";
    for (workloads, name) in [
        (REVIEWS_V1_DEPLOYMENT, "deployment"),
        (REVIEWS_V1_POD, "pod"),
    ] {
        let msgs = run(&(dr.to_string() + REVIEWS + workloads), name);
        let subsets: Vec<&str> = msgs
            .iter()
            .filter(|m| m.code == "IST0173")
            .map(|m| m.field_path.as_str())
            .collect();
        assert_eq!(subsets, ["spec.subsets[1].labels"], "{name}");
    }
    // Without any workload every subset selects nothing (istioctl's
    // DestinationRuleSubsetsNotSelectPods case).
    let msgs = run(&(dr.to_string() + REVIEWS), "no workloads");
    assert_eq!(msgs.iter().filter(|m| m.code == "IST0173").count(), 2);
}

// ---------------------------------------------------------------------------
// Conformance corpus

/// The configuration texts of one conformance file: `(name, text)` pairs.
fn config_inputs(dir: &Path, file: &str) -> Vec<(String, String)> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read conformance file");
    if file == "bookinfo.yaml" {
        return vec![(file.to_string(), text)];
    }
    let doc: serde_json::Value = serde_saphyr::from_str(&text).expect("parse conformance file");
    let config = &doc["config"];
    let mut inputs = Vec::new();
    if let Some(files) = config["files"].as_array() {
        for f in files.iter().filter_map(|f| f.as_str()) {
            let p = path.parent().unwrap_or(dir).join(f);
            inputs.push((
                f.to_string(),
                std::fs::read_to_string(p).expect("read config file"),
            ));
        }
    }
    if let Some(inline) = config["inline"].as_str() {
        inputs.push((format!("{file}#inline"), inline.to_string()));
    }
    inputs
}

/// The docs' `destination-rule-all.yaml` defines ratings subsets for the
/// MySQL variants that `bookinfo.yaml` does not deploy: `istioctl analyze`
/// reports them as selecting no pods (IST0173) on these files too
/// (istio/istio.io pull request 17329 documents it).
fn istioctl_reports_it_too(m: &Message) -> bool {
    m.code == "IST0173"
        && m.resource == "DestinationRule default/ratings"
        && (m.text.contains("Subset v2-mysql ") || m.text.contains("Subset v2-mysql-vm "))
}

#[test]
fn conformance_configurations_analyze_without_errors() {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for dir in conformance_dirs() {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n == "bookinfo.yaml"
                    || n.ends_with(".routetest.yaml")
                    || n.ends_with(".scenario.yaml")
            })
            .collect();
        names.sort();
        files.extend(names.into_iter().map(|n| (dir.clone(), n)));
    }
    assert!(files.len() > 10, "corpus looks incomplete: {files:?}");
    let mut errors = Vec::new();
    let mut report = Vec::new();
    for (dir, file) in &files {
        let inputs = config_inputs(dir, file);
        assert!(!inputs.is_empty(), "{file}: no config");
        let refs: Vec<Input<'_>> = inputs
            .iter()
            .map(|(name, text)| Input { name, text })
            .collect();
        let config = load(&refs, &LoadOptions::default());
        assert!(!config.has_errors(), "{file}: {:#?}", config.messages);
        for m in analyze(&config) {
            report.push(format!("{file}: {m}"));
            if m.severity == Severity::Error && !istioctl_reports_it_too(&m) {
                errors.push(format!("{file}: {m}"));
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Istio's `TestAnalyzers/gatewaySecretValidations` less its expired
/// certificate: core reads no clock, so validity dates are not checked.
#[test]
fn gateway_credentials_are_validated_except_their_dates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/istio/analyzers/testdata/gateway-secrets-validation.yaml");
    let text = std::fs::read_to_string(path).expect("read Istio test data");
    let mut invalid: Vec<String> = run(&text, "gateway-secrets-validation")
        .into_iter()
        .filter(|m| m.code == "IST0161")
        .map(|m| m.resource)
        .collect();
    invalid.sort();
    assert_eq!(
        invalid,
        [
            "Gateway default/defaultgateway-invalid-cert",
            "Gateway default/defaultgateway-invalid-keys",
            "Gateway default/defaultgateway-missing-keys",
        ]
    );
}

/// istio `filterMessages`: a resource annotated
/// `galley.istio.io/analyze-suppress` leaves out those codes (or all, `*`).
#[test]
fn the_suppress_annotation_leaves_out_codes_on_its_resource() {
    let dr = |annotation: &str| {
        format!("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: dr\n  namespace: default\n  annotations: {{galley.istio.io/analyze-suppress: \"{annotation}\"}}\nspec:\n  host: nowhere.example.com\n")
    };
    let codes = |annotation: &str| -> Vec<String> {
        meshroute::check(&load_str(&dr(annotation), "dr.yaml"))
            .into_iter()
            .filter(|m| m.resource == "DestinationRule default/dr")
            .map(|m| m.code)
            .collect()
    };
    assert_eq!(codes("IST0101"), ["IST0174"]);
    assert!(codes("IST0101,IST0174").is_empty());
    assert!(codes("*").is_empty());
}

/// A RequestAuthentication without spec (or selector) applies to every
/// workload of its namespace; in istio-system, to every gateway.
#[test]
fn a_request_authentication_without_selector_covers_the_gateway() {
    let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: default}\nspec:\n  hosts: [a.example.com]\n  gateways: [gw]\n  http:\n  - match:\n    - headers:\n        \"@request.auth.claims.group\": {exact: admin}\n    route:\n    - destination: {host: reviews}\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n";
    let ist0149 = |yaml: &str| {
        run(yaml, "jwt")
            .iter()
            .filter(|m| m.code == "IST0149")
            .count()
    };
    assert_eq!(ist0149(vs), 1);
    let ra = "---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: istio-system}\n";
    assert_eq!(ist0149(&format!("{vs}{ra}")), 0);
    // One in another namespace does not cover the istio-system gateway pod.
    let elsewhere = ra.replace("istio-system", "other");
    assert_eq!(ist0149(&format!("{vs}{elsewhere}")), 1);
}

/// istio `protocoladdresses.go`: addresses istiod allocated (written in the
/// ServiceEntry's status) satisfy IST0134.
#[test]
fn allocated_status_addresses_satisfy_service_entry_addresses() {
    let se = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: db, namespace: default}\nspec:\n  hosts: [db.example.com]\n  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]\n";
    let ist0134 = |yaml: &str| {
        run(yaml, "se")
            .iter()
            .filter(|m| m.code == "IST0134")
            .count()
    };
    assert_eq!(ist0134(se), 1);
    let allocated =
        format!("{se}status:\n  addresses:\n  - {{host: db.example.com, value: 240.240.0.1}}\n");
    assert_eq!(ist0134(&allocated), 0);
    let empty = format!("{se}status: {{addresses: []}}\n");
    assert_eq!(ist0134(&empty), 1);
}
