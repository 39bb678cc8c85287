//! Kubernetes Service port naming (istio/istio
//! `analyzers/service/portname.go`), IST0118 (Info): a port whose protocol
//! Istio cannot tell from `appProtocol` or the name prefix
//! (`<protocol>[-suffix]`), so it is sniffed. Protocol selection decides
//! whether http, tls or tcp routes apply to the port.
//!
//! Skipped as in Istio: Services labelled as Istio's own (`istio` label key,
//! or `release: istio`), Services managed by Istio's gateway controllers
//! (`gateway.istio.io/managed`), UDP ports, and the well-known TCP ports 25,
//! 53, 3306 and 27017.
//!
//! IST0150 (Warning) instead of IST0118 for an `ExternalName` Service: a
//! port whose protocol Istio cannot tell, or a port named `tcp`. The proxy
//! forwards an ExternalName service's TCP traffic by the port's protocol, so
//! such a port may be blocked or passed through unmatched.

use super::defaults::AnalysisView;
use super::report;
use crate::message::{codes, Message, Severity};
use crate::model::kube::IntOrString;
use crate::model::Kind;
use crate::source::path;

/// Istio protocol names (`protocol.Parse`, case-insensitive).
const PROTOCOLS: [&str; 12] = [
    "tcp",
    "udp",
    "grpc",
    "grpc-web",
    "http",
    "http_proxy",
    "http2",
    "https",
    "tls",
    "mongo",
    "redis",
    "mysql",
];

/// Ports Istio treats as TCP when the name says nothing.
const WELL_KNOWN_TCP_PORTS: [u32; 4] = [25, 53, 3306, 27017];

/// Istio's `kube.ConvertProtocol(...).IsUnsupported()`.
pub fn protocol_is_unsupported(
    port: u32,
    name: &str,
    l4_protocol: Option<&str>,
    app_protocol: Option<&str>,
) -> bool {
    if l4_protocol == Some("UDP") {
        return false;
    }
    let name = match app_protocol {
        Some("kubernetes.io/h2c" | "kubernetes.io/ws" | "kubernetes.io/wss") => return false,
        Some(app) => app,
        None => name,
    };
    if name.len() >= 8 && name.as_bytes()[..8].eq_ignore_ascii_case(b"grpc-web") {
        return false;
    }
    let prefix = name.split('-').next().unwrap_or(name).to_ascii_lowercase();
    !PROTOCOLS.contains(&prefix.as_str()) && !WELL_KNOWN_TCP_PORTS.contains(&port)
}

/// Runs the check.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    const MANAGED: [&str; 3] = [
        "istio.io-gateway-controller",
        "istio.io-mesh-controller",
        "istio.io-eastwest-controller",
    ];
    for svc in &config.services {
        let labels = &svc.metadata.labels;
        if labels.contains_key("istio") || labels.get("release").is_some_and(|v| v == "istio") {
            continue;
        }
        if labels
            .get("gateway.istio.io/managed")
            .is_some_and(|v| MANAGED.contains(&v.as_str()))
        {
            continue;
        }
        let external_name = svc.spec.service_type.as_deref() == Some("ExternalName");
        for (i, port) in svc.spec.ports.iter().enumerate() {
            let name = port.name.as_deref().unwrap_or("");
            let unsupported = protocol_is_unsupported(
                port.port,
                name,
                port.protocol.as_deref(),
                port.app_protocol.as_deref(),
            );
            let at = path::field(&path::index("spec.ports", i), "port");
            if external_name {
                if unsupported || name == "tcp" {
                    out.push(report(
                        svc,
                        Kind::Service,
                        codes::EXTERNAL_NAME_SERVICE_INVALID_PORT_NAME,
                        Severity::Warning,
                        &at,
                        "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly".to_string(),
                        "name the port after the protocol it serves other than tcp (http, https, tls, grpc, ...) or set appProtocol",
                    ));
                }
                continue;
            }
            if !unsupported {
                continue;
            }
            let target = match &port.target_port {
                Some(IntOrString::Int(n)) => n.to_string(),
                Some(IntOrString::String(s)) => s.clone(),
                None => "0".to_string(),
            };
            out.push(report(
                svc,
                Kind::Service,
                codes::PORT_NAME_NOT_UNDER_NAMING_CONVENTION,
                Severity::Info,
                &at,
                format!(
                    "Port name {name} (port: {}, targetPort: {target}) doesn't follow the naming convention of Istio port.",
                    port.port
                ),
                "name the port `<protocol>[-<suffix>]` (http, http2, grpc, tcp, tls, https...) or set appProtocol",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::protocol_is_unsupported;

    #[test]
    fn named_and_app_protocol_ports_are_supported() {
        assert!(!protocol_is_unsupported(9080, "http", None, None));
        assert!(!protocol_is_unsupported(9080, "http-web", None, None));
        assert!(!protocol_is_unsupported(9080, "GRPC-Web-x", None, None));
        assert!(!protocol_is_unsupported(9080, "web", None, Some("http")));
        assert!(!protocol_is_unsupported(
            9080,
            "web",
            None,
            Some("kubernetes.io/h2c")
        ));
        assert!(!protocol_is_unsupported(9080, "web", Some("UDP"), None));
        assert!(!protocol_is_unsupported(3306, "db", None, None));
    }

    #[test]
    fn unknown_prefixes_are_unsupported() {
        assert!(protocol_is_unsupported(9080, "web", None, None));
        assert!(protocol_is_unsupported(9080, "", None, None));
        assert!(protocol_is_unsupported(9080, "http", None, Some("web")));
        assert!(protocol_is_unsupported(3307, "db", None, None));
    }
}
