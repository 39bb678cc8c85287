//! Gateway TLS certificates (istio/istio `analyzers/gateway/certificate.go`),
//! IST0138 GatewayDuplicateCertificate (Warning): two Gateways serve the
//! same certificate, so a client reusing one HTTP/2 connection for both
//! hosts (Envoy picks the listener by SNI only at connection start) may be
//! routed by the wrong Gateway's routes and get 404s.
//!
//! For every Gateway G and every other Gateway H whose selector contains G's
//! (G's selector is a subset of H's; an empty selector takes every Gateway),
//! each pair of a TLS server of G and a TLS server of H with the same
//! certificate is reported on G: the same `credentialName`, or, both without
//! one, the same `serverCertificate` and the same non-empty `privateKey`.
//! Gateways of every namespace are compared (`PILOT_SCOPE_GATEWAY_TO_NAMESPACE`
//! off, Istio's default).

use super::report;
use crate::message::{codes, Message, Severity};
use crate::model::gateway::ServerTlsSettings;
use crate::model::{Config, Kind};
use std::collections::BTreeMap;

/// Runs the check.
pub fn analyze(config: &Config, out: &mut Vec<Message>) {
    for gw in &config.gateways {
        for other in &config.gateways {
            if other.namespace() == gw.namespace() && other.name() == gw.name() {
                continue;
            }
            if !selector_subset(&gw.spec.selector, &other.spec.selector) {
                continue;
            }
            for server in &gw.spec.servers {
                for other_server in &other.spec.servers {
                    let (Some(a), Some(b)) = (&server.tls, &other_server.tls) else {
                        continue;
                    };
                    if !same_certificate(a, b) {
                        continue;
                    }
                    out.push(report(
                        gw,
                        Kind::Gateway,
                        codes::GATEWAY_DUPLICATE_CERTIFICATE,
                        Severity::Warning,
                        "metadata.name",
                        format!(
                            "Duplicate certificate in multiple gateways [{} {}] may cause 404s if clients re-use HTTP2 connections.",
                            gw.key(),
                            other.key()
                        ),
                        "give each Gateway its own certificate, or serve both hosts from one Gateway",
                    ));
                }
            }
        }
    }
}

/// Istio's `selectorSubset`: every label of `x` is in `y` with the same value.
fn selector_subset(x: &BTreeMap<String, String>, y: &BTreeMap<String, String>) -> bool {
    x.iter().all(|(k, v)| y.get(k) == Some(v))
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Istio's `haveSameCertificate`.
fn same_certificate(a: &ServerTlsSettings, b: &ServerTlsSettings) -> bool {
    match (non_empty(&a.credential_name), non_empty(&b.credential_name)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => {
            match (
                non_empty(&a.server_certificate),
                non_empty(&b.server_certificate),
            ) {
                (Some(x), Some(y)) if x == y => {
                    matches!((non_empty(&a.private_key), non_empty(&b.private_key)), (Some(p), Some(q)) if p == q)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(credential: Option<&str>, cert: Option<&str>, key: Option<&str>) -> ServerTlsSettings {
        ServerTlsSettings {
            credential_name: credential.map(str::to_string),
            server_certificate: cert.map(str::to_string),
            private_key: key.map(str::to_string),
            ..ServerTlsSettings::default()
        }
    }

    #[test]
    fn same_certificate_follows_istio() {
        assert!(same_certificate(
            &tls(Some("c"), None, None),
            &tls(Some("c"), None, None)
        ));
        assert!(!same_certificate(
            &tls(Some("c"), None, None),
            &tls(Some("d"), None, None)
        ));
        // One credential, one file pair: not compared.
        assert!(!same_certificate(
            &tls(Some("c"), None, None),
            &tls(None, Some("/a"), Some("/k"))
        ));
        assert!(same_certificate(
            &tls(None, Some("/a"), Some("/k")),
            &tls(None, Some("/a"), Some("/k"))
        ));
        // Same certificate file but no key on one side: not a duplicate.
        assert!(!same_certificate(
            &tls(None, Some("/a"), Some("/k")),
            &tls(None, Some("/a"), None)
        ));
    }

    #[test]
    fn empty_selector_is_a_subset_of_any() {
        let mut y = BTreeMap::new();
        y.insert("istio".to_string(), "ingressgateway".to_string());
        assert!(selector_subset(&BTreeMap::new(), &y));
        assert!(selector_subset(&y, &y));
        assert!(!selector_subset(&y, &BTreeMap::new()));
    }
}
