//! Gateway: the ports, hosts and TLS a gateway workload serves.

use super::common::{null_as_default, Port};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `spec` of a Gateway: servers exposed by the selected gateway workloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gateway {
    /// Servers (port, hosts, TLS) the gateway exposes.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub servers: Vec<Server>,
    /// Labels of the gateway workloads this applies to; empty selects all.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub selector: BTreeMap<String, String>,
}

/// One listening port of a gateway with the hosts it serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    /// Port the gateway listens on and its protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Port>,
    /// IP or `unix://` socket to bind to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// Hosts served, as `[namespace/]dnsName`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hosts: Vec<String>,
    /// TLS termination or passthrough settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTlsSettings>,
    /// Where traffic is forwarded by default (not implemented by Istio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_endpoint: Option<String>,
    /// Server name, unique within the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How a server (gateway, or Sidecar ingress listener) handles TLS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerTlsSettings {
    /// Answer plain-HTTP requests with a 301 to https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_redirect: Option<bool>,
    /// Termination mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ServerTlsMode>,
    /// File of the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<String>,
    /// File of the server private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// File of the CA certificates that verify clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
    /// File of the certificate revocation list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_crl: Option<String>,
    /// Secret holding the server certificate and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<String>,
    /// Several such secrets (at most two, e.g. RSA and ECDSA).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credential_names: Vec<String>,
    /// Secret or config map holding the CA certificates for clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_credential_name: Option<String>,
    /// Inline certificate/key file sets (at most two).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tls_certificates: Vec<TlsCertificate>,
    /// Names accepted in client certificates.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub subject_alt_names: Vec<String>,
    /// Accepted client key SPKI hashes (base64).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub verify_certificate_spki: Vec<String>,
    /// Accepted client certificate hashes (hex).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub verify_certificate_hash: Vec<String>,
    /// Lowest TLS version accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_protocol_version: Option<TlsProtocol>,
    /// Highest TLS version accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_protocol_version: Option<TlsProtocol>,
    /// Allowed cipher suites.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cipher_suites: Vec<String>,
    /// Allowed ECDH curves.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ecdh_curves: Vec<String>,
    /// Request a client certificate but do not verify it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// One inline certificate/key file set of a server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsCertificate {
    /// File of the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_certificate: Option<String>,
    /// File of the server private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// File of the CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
}

/// How a server handles TLS connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServerTlsMode {
    /// Do not terminate; route by SNI with VirtualService `tls` rules (the proto default).
    #[default]
    #[serde(rename = "PASSTHROUGH")]
    Passthrough,
    /// Terminate, no client certificate.
    #[serde(rename = "SIMPLE")]
    Simple,
    /// Terminate, client certificate required.
    #[serde(rename = "MUTUAL")]
    Mutual,
    /// Do not terminate; the SNI names the destination cluster directly.
    #[serde(rename = "AUTO_PASSTHROUGH")]
    AutoPassthrough,
    /// Terminate with Istio-issued certificates.
    #[serde(rename = "ISTIO_MUTUAL")]
    IstioMutual,
    /// Terminate, client certificate requested but optional.
    #[serde(rename = "OPTIONAL_MUTUAL")]
    OptionalMutual,
}

/// A TLS protocol version bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsProtocol {
    /// The proxy's default (the proto default).
    #[default]
    #[serde(rename = "TLS_AUTO")]
    TlsAuto,
    /// TLS 1.0.
    #[serde(rename = "TLSV1_0")]
    TlsV1_0,
    /// TLS 1.1.
    #[serde(rename = "TLSV1_1")]
    TlsV1_1,
    /// TLS 1.2.
    #[serde(rename = "TLSV1_2")]
    TlsV1_2,
    /// TLS 1.3.
    #[serde(rename = "TLSV1_3")]
    TlsV1_3,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GATEWAY: &str = r#"
selector:
  istio: ingressgateway
servers:
- port:
    number: 80
    name: http
    protocol: HTTP
  hosts:
  - "httpbin.example.com"
  tls:
    httpsRedirect: true
- port:
    number: 443
    name: https
    protocol: HTTPS
  hosts:
  - "bookinfo/*.example.com"
  tls:
    mode: SIMPLE
    credentialName: example-cert
    minProtocolVersion: TLSV1_2
"#;

    #[test]
    fn servers_ports_and_tls_are_read() {
        let gw: Gateway = serde_saphyr::from_str(GATEWAY).unwrap();
        assert_eq!(
            gw.selector.get("istio").map(String::as_str),
            Some("ingressgateway")
        );
        let http = &gw.servers[0];
        let port = http.port.as_ref().unwrap();
        assert_eq!(port.number, Some(80));
        assert_eq!(port.protocol.as_deref(), Some("HTTP"));
        assert_eq!(http.tls.as_ref().unwrap().https_redirect, Some(true));
        assert_eq!(http.tls.as_ref().unwrap().mode, None);
        let https = gw.servers[1].tls.as_ref().unwrap();
        assert_eq!(https.mode, Some(ServerTlsMode::Simple));
        assert_eq!(https.credential_name.as_deref(), Some("example-cert"));
        assert_eq!(https.min_protocol_version, Some(TlsProtocol::TlsV1_2));
        assert_eq!(gw.servers[1].hosts, ["bookinfo/*.example.com"]);
    }

    #[test]
    fn round_trips_through_json() {
        let gw: Gateway = serde_saphyr::from_str(GATEWAY).unwrap();
        let value = serde_json::to_value(&gw).unwrap();
        assert_eq!(
            value["servers"][1]["tls"],
            json!({"mode": "SIMPLE", "credentialName": "example-cert",
                   "minProtocolVersion": "TLSV1_2"})
        );
        let again: Gateway = serde_json::from_value(value).unwrap();
        assert_eq!(again, gw);
    }

    #[test]
    fn tls_mode_must_be_a_schema_value() {
        let tls = |mode: &str| serde_json::from_value::<ServerTlsSettings>(json!({"mode": mode}));
        assert_eq!(
            tls("AUTO_PASSTHROUGH").unwrap().mode,
            Some(ServerTlsMode::AutoPassthrough)
        );
        assert!(tls("TERMINATE").is_err());
    }
}
