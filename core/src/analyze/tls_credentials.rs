//! Gateway TLS credentials: certificates two Gateways share, and the
//! Secrets a Gateway's servers name.
//!
//! ## IST0138 GatewayDuplicateCertificate
//!
//! istio/istio `analyzers/gateway/certificate.go`, Warning: two Gateways
//! serve the same certificate, so a client reusing one HTTP/2 connection for
//! both hosts (Envoy picks the listener by SNI only at connection start) may
//! be routed by the wrong Gateway's routes and get 404s.
//!
//! For every Gateway G and every other Gateway H whose selector contains G's
//! (G's selector is a subset of H's; an empty selector takes every Gateway),
//! each pair of a TLS server of G and a TLS server of H with the same
//! certificate is reported on G: the same `credentialName`, or, both without
//! one, the same `serverCertificate` and the same non-empty `privateKey`.
//! Gateways of every namespace are compared (`PILOT_SCOPE_GATEWAY_TO_NAMESPACE`
//! off, Istio's default).
//!
//! ## IST0101 `credentialName`, IST0161 InvalidGatewayCredential
//!
//! istio/istio `analyzers/gateway/secret.go`. A Gateway's credentials are
//! read in the namespace of its *workload*, not of the Gateway resource: the
//! namespace of the first workload its selector matches (the default ingress
//! gateway's is `istio-system`). A Gateway whose selector matches no workload
//! has no credentials to check (its selector is reported by
//! [`super::gateways`]). For each server with `tls.credentialName` (`name`, or
//! `namespace/name`):
//!
//! * IST0101 `credentialName`: no Secret of that name in that namespace.
//! * IST0161: the Secret has neither non-empty `cert` and `key` nor non-empty
//!   `tls.crt` and `tls.key` (istio `pilot/pkg/credentials/kube/secrets.go`
//!   `ExtractCertInfo`), or its certificate is not a PEM block holding DER
//!   X.509 certificates (`pilot/pkg/xds/sds.go` `ValidateCertificate`).
//!   meshroute checks the certificate's DER structure (Certificate,
//!   TBSCertificate, algorithm, signature), not each field; and it does not
//!   check the validity period: core reads no clock, so an expired
//!   certificate is not reported.
//!
//! Secrets are read for this analysis only; they never change a route.

use super::defaults::AnalysisView;
use super::{quote, report};
use crate::message::{codes, Message, Severity};
use crate::model::gateway::ServerTlsSettings;
use crate::model::kube::Secret;
use crate::model::{Gateway, Kind, Resource};
use crate::registry::labels_match;
use crate::source::path;
use std::collections::BTreeMap;

/// Runs both checks.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    duplicate_certificates(config, out);
    credential_secrets(config, out);
}

/// IST0138: Gateways sharing a certificate.
fn duplicate_certificates(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    // Only Gateways with a TLS server can share a certificate: the pairs
    // are taken among those.
    let with_tls: Vec<&Resource<Gateway>> = config
        .gateways
        .iter()
        .copied()
        .filter(|g| g.spec.servers.iter().any(|s| s.tls.is_some()))
        .collect();
    for gw in &with_tls {
        for other in &with_tls {
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

/// IST0101 `credentialName`, IST0161: the Secrets Gateway servers name.
fn credential_secrets(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    for gw in &config.gateways {
        let Some(workload_namespace) = config
            .workloads
            .iter()
            .find(|w| labels_match(&gw.spec.selector, &w.spec.labels))
            .map(|w| w.namespace())
        else {
            continue;
        };
        for (i, server) in gw.spec.servers.iter().enumerate() {
            let Some(name) = server
                .tls
                .as_ref()
                .and_then(|t| t.credential_name.as_deref())
                .filter(|n| !n.is_empty())
            else {
                continue;
            };
            let (ns, secret_name) = name.split_once('/').unwrap_or((workload_namespace, name));
            let at = path::field(&path::index("spec.servers", i), "tls.credentialName");
            let secret = config
                .secrets
                .iter()
                .find(|s| s.namespace() == ns && s.name() == secret_name);
            let Some(secret) = secret else {
                out.push(report(
                    gw,
                    Kind::Gateway,
                    codes::REFERENCED_RESOURCE_NOT_FOUND,
                    Severity::Error,
                    &at,
                    format!("Referenced credentialName not found: {}", quote(name)),
                    &format!("create the Secret {secret_name} in namespace {ns} (where the gateway workload runs), or name an existing one"),
                ));
                continue;
            };
            if let Err(why) = valid_credential(&secret.spec) {
                out.push(report(
                    gw,
                    Kind::Gateway,
                    codes::INVALID_GATEWAY_CREDENTIAL,
                    Severity::Error,
                    &at,
                    format!(
                        "The credential referenced by the Gateway {} in namespace {workload_namespace} is invalid, which can cause the traffic not to work as expected.",
                        gw.name()
                    ),
                    &format!("fix Secret {ns}/{secret_name}: {why}"),
                ));
            }
        }
    }
}

/// Whether a Secret holds a usable server credential; `Err` says why not.
fn valid_credential(secret: &Secret) -> Result<(), String> {
    let value = |key: &str| -> Option<Vec<u8>> {
        if let Some(v) = secret.string_data.get(key) {
            return Some(v.as_bytes().to_vec());
        }
        secret
            .data
            .get(key)
            .map(|v| base64_decode(v).unwrap_or_default())
    };
    let pair = |cert: &str, key: &str| match (value(cert), value(key)) {
        (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => Some(c),
        _ => None,
    };
    let Some(cert) = pair("cert", "key").or_else(|| pair("tls.crt", "tls.key")) else {
        return Err(
            "it needs non-empty `tls.crt` and `tls.key` (or `cert` and `key`) entries".to_string(),
        );
    };
    let der = pem_first_block(&cert)
        .ok_or_else(|| "its certificate is not PEM (-----BEGIN CERTIFICATE-----)".to_string())?;
    if !der_certificates(&der) {
        return Err("its certificate is not an X.509 certificate".to_string());
    }
    Ok(())
}

/// Go's `pem.Decode`, the body of the first block: `None` when there is no
/// well-formed block.
fn pem_first_block(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start..];
    let header_end = rest.find('\n')?;
    let label = rest[..header_end].trim_end();
    let label = label.strip_prefix("-----BEGIN ")?.strip_suffix("-----")?;
    let body = &rest[header_end + 1..];
    let end_marker = format!("-----END {label}-----");
    let end = body.find(&end_marker)?;
    // Lines with a `:` are PEM headers, not base64.
    let b64: String = body[..end]
        .lines()
        .filter(|l| !l.contains(':'))
        .collect::<Vec<_>>()
        .concat();
    base64_decode(&b64)
}

/// Standard base64 (with or without padding, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// One DER TLV: `(tag, content, rest)`.
fn der_tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Whether `der` is one or more X.509 Certificates (RFC 5280 §4.1:
/// SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE,
/// signatureValue BIT STRING }), as Go's `x509.ParseCertificates` needs.
fn der_certificates(der: &[u8]) -> bool {
    const SEQUENCE: u8 = 0x30;
    const BIT_STRING: u8 = 0x03;
    let mut rest = der;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some((SEQUENCE, cert, after)) = der_tlv(rest) else {
            return false;
        };
        let parts = der_tlv(cert).and_then(|(t1, _, r1)| {
            let (t2, _, r2) = der_tlv(r1)?;
            let (t3, _, r3) = der_tlv(r2)?;
            Some((t1, t2, t3, r3.is_empty()))
        });
        if parts != Some((SEQUENCE, SEQUENCE, BIT_STRING, true)) {
            return false;
        }
        rest = after;
    }
    true
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

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("aG\nk=").unwrap(), b"hi");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn der_structure_of_a_certificate() {
        // SEQUENCE { SEQUENCE {}, SEQUENCE {}, BIT STRING {0} }
        let cert = [0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00];
        assert!(der_certificates(&cert));
        let mut two = cert.to_vec();
        two.extend_from_slice(&cert);
        assert!(der_certificates(&two));
        assert!(!der_certificates(b"hush hush hush\n"));
        assert!(!der_certificates(&cert[..5]));
        assert!(!der_certificates(&[]));
    }

    #[test]
    fn credentials_need_both_entries_and_a_pem_certificate() {
        let secret = |pairs: &[(&str, &str)]| Secret {
            string_data: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Secret::default()
        };
        assert!(valid_credential(&secret(&[("tls.crt", "x")])).is_err());
        assert!(valid_credential(&secret(&[("cert", "hush"), ("key", "k")])).is_err());
        let pem = "-----BEGIN CERTIFICATE-----\nMAcwADAAAwEA\n-----END CERTIFICATE-----\n";
        assert!(valid_credential(&secret(&[("tls.crt", pem), ("tls.key", "k")])).is_ok());
        assert!(valid_credential(&secret(&[("tls.crt", pem), ("tls.key", "")])).is_err());
    }
}
