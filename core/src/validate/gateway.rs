//! Gateway validation, as Istio's `ValidateGateway` does it.

use super::common::{validate_unix_address, Protocol, Report, UNIX_PREFIX};
use crate::message::Message;
use crate::model::common::Port;
use crate::model::gateway::{Gateway, Server, ServerTlsMode, ServerTlsSettings, TlsProtocol};
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, index};
use std::collections::BTreeSet;

/// Validates one Gateway, appending messages to `out`.
pub(crate) fn validate(res: &Resource<Gateway>, out: &mut Vec<Message>) {
    let mut r = Report::new("Gateway", res, out);
    let name = res.metadata.name.clone();
    if !names::is_dns1123_label(&name) {
        r.error(
            "metadata.name",
            format!("invalid gateway name: {name:?}"),
            "use lower-case letters, digits and '-' (no dots)",
        );
    }
    let gw = &res.spec;
    if gw.servers.is_empty() {
        r.error(
            "spec.servers",
            "gateway must have at least one server",
            "add a server with port and hosts",
        );
    }
    for (i, s) in gw.servers.iter().enumerate() {
        server(&mut r, &index("spec.servers", i), s);
    }
    let mut port_names = BTreeSet::new();
    for (i, s) in gw.servers.iter().enumerate() {
        let Some(port) = &s.port else { continue };
        let sp = index("spec.servers", i);
        let pname = port.name.as_deref().unwrap_or("");
        if !port_names.insert(pname) {
            r.error(
                &field(&field(&sp, "port"), "name"),
                format!("port names in servers must be unique: duplicate name {pname}"),
                "give every server port a different name",
            );
        }
        let https_redirect = s.tls.as_ref().and_then(|t| t.https_redirect) == Some(true);
        if https_redirect && !Protocol::parse(port.protocol.as_deref().unwrap_or("")).is_http() {
            r.warning(
                &field(&field(&sp, "tls"), "httpsRedirect"),
                "tls.httpsRedirect should only be used with http servers",
                "remove httpsRedirect from non-HTTP servers",
            );
        }
    }
}

fn server(r: &mut Report<'_, Gateway>, p: &str, s: &Server) {
    if s.hosts.is_empty() {
        r.error(
            &field(p, "hosts"),
            "server config must contain at least one host",
            "add hosts, e.g. [\"*\"] or [\"ns/app.example.com\"]",
        );
    }
    for (i, h) in s.hosts.iter().enumerate() {
        namespace_slash_host(r, &index(&field(p, "hosts"), i), h, true);
    }
    let bind = s.bind.as_deref().unwrap_or("");
    let port_ok = match &s.port {
        None => {
            r.error(
                &field(p, "port"),
                "port is required",
                "add port: {number, name, protocol}",
            );
            false
        }
        Some(port) => server_port(r, &field(p, "port"), port, bind),
    };
    if let Some(socket) = bind.strip_prefix(UNIX_PREFIX) {
        r.error_if(
            &field(p, "bind"),
            validate_unix_address(socket),
            "use unix:///absolute/path or unix://@abstract",
        );
        if let Some(n) = s.port.as_ref().and_then(|pt| pt.number) {
            if n != 0 {
                r.error(
                    &field(&field(p, "port"), "number"),
                    format!("port number must be 0 for unix domain socket: {n}"),
                    "use port number 0 with a unix:// bind",
                );
            }
        }
    } else if !bind.is_empty() {
        r.error_if(
            &field(p, "bind"),
            names::validate_ip(bind),
            "use an IP address",
        );
    }
    if let Some(t) = &s.tls {
        tls_options(r, &field(p, "tls"), t);
    }
    if port_ok {
        let proto = Protocol::parse(
            s.port
                .as_ref()
                .and_then(|pt| pt.protocol.as_deref())
                .unwrap_or(""),
        );
        if proto.is_tls() && s.tls.is_none() {
            r.error(
                p,
                "server must have TLS settings for HTTPS/TLS protocols",
                "add tls: {mode: SIMPLE, credentialName: ...} (or PASSTHROUGH)",
            );
        } else if !proto.is_tls() {
            if let Some(t) = &s.tls {
                if proto.is_http() {
                    // Only a passthrough-mode block (what httpsRedirect alone gives) is allowed.
                    let passthrough = matches!(
                        t.mode,
                        None | Some(ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough)
                    );
                    let has_certs = [&t.ca_certificates, &t.private_key, &t.server_certificate]
                        .iter()
                        .any(|v| !v.as_deref().unwrap_or("").is_empty());
                    if !passthrough || has_certs {
                        r.error(
                            &field(p, "tls"),
                            "server cannot have TLS settings for plain text HTTP ports",
                            "use protocol HTTPS for TLS, or keep only tls.httpsRedirect",
                        );
                    }
                } else {
                    r.error(
                        &field(p, "tls"),
                        "server cannot have TLS settings for non HTTPS/TLS ports",
                        "use protocol HTTPS or TLS, or remove tls",
                    );
                }
            }
        }
    }
}

/// Returns whether the port has no error (Istio checks TLS/protocol consistency only then).
fn server_port(r: &mut Report<'_, Gateway>, p: &str, port: &Port, bind: &str) -> bool {
    let mut ok = true;
    let proto = port.protocol.as_deref().unwrap_or("");
    if Protocol::parse(proto) == Protocol::Unsupported {
        r.error(
            &field(p, "protocol"),
            format!("invalid protocol {proto:?}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP"),
            super::common::PROTOCOL_FIX,
        );
        ok = false;
    }
    let number = port.number.unwrap_or(0);
    if number > 0 || !bind.starts_with(UNIX_PREFIX) {
        if let Err(e) = names::validate_port(i64::from(number)) {
            r.error(&field(p, "number"), e, "use a port number from 1 to 65535");
            ok = false;
        }
    }
    if port.target_port.unwrap_or(0) > 0 {
        r.error(
            &field(p, "targetPort"),
            "targetPort has no impact on Gateways",
            "remove targetPort",
        );
        ok = false;
    }
    if port.name.as_deref().unwrap_or("").is_empty() {
        r.error(
            &field(p, "name"),
            format!("port name must be set: number:{number} protocol:{proto:?}"),
            "name the port, e.g. http or https-443",
        );
        ok = false;
    }
    ok
}

/// Istio's `ValidateNamespaceSlashWildcardHostname` for Gateway server hosts
/// (`is_gateway`: `ns/` optional, partial wildcards refused) and Sidecar
/// egress hosts (`ns/` required, `~` allowed as namespace).
pub(crate) fn namespace_slash_host<T>(
    r: &mut Report<'_, T>,
    at: &str,
    host: &str,
    is_gateway: bool,
) {
    const FIX: &str = "write hosts as namespace/dnsName, e.g. \"*/app.example.com\" or \"./*\"";
    let Some((ns, dns)) = host.split_once('/') else {
        if is_gateway {
            r.error_if(at, names::validate_wildcard_domain(host), FIX);
        } else {
            r.error(at, "host must be of form namespace/dnsName", FIX);
        }
        return;
    };
    if ns.is_empty() || dns.is_empty() {
        r.error(
            at,
            "config namespace and dnsName in host entry cannot be empty",
            FIX,
        );
    }
    let kind = if is_gateway { "gateway" } else { "sidecar" };
    let special = ns == "*" || ns == "." || (!is_gateway && ns == "~");
    if !special && !names::is_dns1123_label(ns) {
        r.error(at, format!("invalid namespace value {ns:?} in {kind}"), FIX);
    }
    r.error_if(at, names::validate_wildcard_domain(dns), FIX);
    if is_gateway {
        r.error_if(at, names::validate_partial_wildcard(dns), FIX);
    }
}

fn tls_options(r: &mut Report<'_, Gateway>, p: &str, t: &ServerTlsSettings) {
    let set = |s: &Option<String>| !s.as_deref().unwrap_or("").is_empty();
    if matches!(
        t.min_protocol_version,
        Some(TlsProtocol::TlsV1_0 | TlsProtocol::TlsV1_1)
    ) && t.cipher_suites.is_empty()
    {
        r.warning(
            &field(p, "minProtocolVersion"),
            "TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.",
            "list cipherSuites compatible with the older TLS version",
        );
    }
    let mut seen = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    for c in &t.cipher_suites {
        if !seen.insert(c.as_str()) {
            duplicates.insert(c.as_str());
        }
    }
    if !duplicates.is_empty() {
        r.warning(
            &field(p, "cipherSuites"),
            format!(
                "ignoring duplicate cipher suites: [{}]",
                duplicates.into_iter().collect::<Vec<_>>().join(" ")
            ),
            "list each cipher suite once",
        );
    }
    let mode = t.mode.unwrap_or_default();
    if mode == ServerTlsMode::IstioMutual {
        for (is_set, what) in [
            (set(&t.server_certificate), "server certificate"),
            (set(&t.private_key), "private key"),
            (set(&t.ca_certificates), "CA bundle"),
            (!t.tls_certificates.is_empty(), "tlsCertificates"),
            (set(&t.credential_name), "credentialName"),
            (!t.credential_names.is_empty(), "credentialNames"),
        ] {
            if is_set {
                r.error(
                    p,
                    format!("ISTIO_MUTUAL TLS cannot have associated {what}"),
                    "remove certificate settings: ISTIO_MUTUAL uses the mesh certificates",
                );
            }
        }
        return;
    }
    if matches!(
        mode,
        ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
    ) && (set(&t.ca_crl)
        || set(&t.server_certificate)
        || set(&t.private_key)
        || set(&t.ca_certificates)
        || !t.tls_certificates.is_empty()
        || set(&t.credential_name)
        || !t.credential_names.is_empty())
    {
        let name = if mode == ServerTlsMode::Passthrough {
            "PASSTHROUGH"
        } else {
            "AUTO_PASSTHROUGH"
        };
        r.warning(
            p,
            format!("{name} mode does not use certificates, they will be ignored"),
            "remove the certificate settings",
        );
    }
    let sources = [
        set(&t.server_certificate) && set(&t.private_key),
        set(&t.credential_name),
        !t.credential_names.is_empty(),
        !t.tls_certificates.is_empty(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        r.error(
            p,
            "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified",
            "keep one certificate source",
        );
    }
    let terminating = matches!(
        mode,
        ServerTlsMode::Simple | ServerTlsMode::Mutual | ServerTlsMode::OptionalMutual
    );
    if terminating && (set(&t.credential_name) || !t.credential_names.is_empty()) {
        return;
    }
    if terminating {
        let prefix = if mode == ServerTlsMode::Simple {
            "SIMPLE TLS"
        } else {
            "MUTUAL TLS"
        };
        if mode != ServerTlsMode::Simple && !set(&t.ca_certificates) {
            r.error(
                p,
                format!("{prefix} requires a client CA bundle"),
                "add caCertificates, or use credentialName",
            );
        }
        if t.tls_certificates.len() > 2 {
            r.warning(
                &field(p, "tlsCertificates"),
                format!("{prefix} can support up to 2 server certificates"),
                "keep at most two certificates (one RSA, one ECDSA)",
            );
        }
        let certs: Vec<(bool, bool)> = if t.tls_certificates.is_empty() {
            vec![(set(&t.server_certificate), set(&t.private_key))]
        } else {
            t.tls_certificates
                .iter()
                .map(|c| (set(&c.server_certificate), set(&c.private_key)))
                .collect()
        };
        for (cert, key) in certs {
            if !cert {
                r.error(
                    p,
                    format!("{prefix} requires a server certificate"),
                    "add credentialName (a Kubernetes secret) or serverCertificate",
                );
            }
            if !key {
                r.error(
                    p,
                    format!("{prefix} requires a private key"),
                    "add credentialName (a Kubernetes secret) or privateKey",
                );
            }
        }
    }
    if set(&t.ca_crl) {
        if set(&t.credential_name) {
            r.error(
                &field(p, "caCrl"),
                "CRL is not supported with credentialName. CRL has to be specified in the credential",
                "put the CRL in the credential secret",
            );
        }
        if mode == ServerTlsMode::Simple {
            r.error(
                &field(p, "caCrl"),
                "CRL is not supported with SIMPLE TLS",
                "remove caCrl, or use MUTUAL",
            );
        }
    }
}
