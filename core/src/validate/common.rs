//! Helpers shared by the per-kind validators: the message sink, and the
//! field checks Istio applies in several kinds (string matches, durations,
//! labels, header operations, exportTo, gateway names, protocols).

use crate::duration::{parse_duration, validate_istio_duration};
use crate::matching::regex::Re2Regex;
use crate::message::{codes, Message, Severity};
use crate::model::common::StringMatch;
use crate::model::virtual_service::{HeaderOperations, Headers};
use crate::model::Resource;
use crate::names;
use crate::source::path;
use std::collections::BTreeMap;

/// Collects the messages about one resource, each pointing at a field.
pub(crate) struct Report<'a, T> {
    /// The resource being validated.
    pub res: &'a Resource<T>,
    label: String,
    out: &'a mut Vec<Message>,
}

impl<'a, T> Report<'a, T> {
    /// A report on `res` (shown as `Kind namespace/name`) appending to `out`.
    pub fn new(kind: &str, res: &'a Resource<T>, out: &'a mut Vec<Message>) -> Self {
        let label =
            crate::analyze::resource_label(kind, &res.metadata.namespace, &res.metadata.name);
        Report { res, label, out }
    }

    /// A message with an explicit code and severity.
    pub fn emit(&mut self, code: &str, severity: Severity, field: &str, text: String, fix: &str) {
        let source = self.res.source_of(field);
        self.out.push(Message::new(
            code,
            severity,
            self.label.clone(),
            field,
            source,
            text,
            fix,
        ));
    }

    /// IST0106: Istio's admission webhook would reject the resource.
    pub fn error(&mut self, field: &str, text: impl Into<String>, fix: &str) {
        self.emit(
            codes::SCHEMA_VALIDATION_ERROR,
            Severity::Error,
            field,
            text.into(),
            fix,
        );
    }

    /// IST0133: Istio accepts the resource with a warning.
    pub fn warning(&mut self, field: &str, text: impl Into<String>, fix: &str) {
        self.emit(
            codes::SCHEMA_WARNING,
            Severity::Warning,
            field,
            text.into(),
            fix,
        );
    }

    /// An error when `result` is one.
    pub fn error_if(&mut self, field: &str, result: Result<(), String>, fix: &str) {
        if let Err(e) = result {
            self.error(field, e, fix);
        }
    }

    /// A Go duration string checked with Istio's rule (>= 1ms, ms precision).
    /// Returns the parsed duration when it parses.
    pub fn duration(&mut self, field: &str, text: &str) -> Option<std::time::Duration> {
        self.duration_at(|| field.to_string(), text)
    }

    /// [`Report::duration`] for field `name` of `parent`, whose path is
    /// built only for a message.
    pub fn field_duration(
        &mut self,
        parent: &str,
        name: &str,
        text: &str,
    ) -> Option<std::time::Duration> {
        self.duration_at(|| path::field(parent, name), text)
    }

    fn duration_at(
        &mut self,
        field: impl FnOnce() -> String,
        text: &str,
    ) -> Option<std::time::Duration> {
        match parse_duration(text) {
            Ok(d) => {
                if let Err(e) = validate_istio_duration(d) {
                    self.error(
                        &field(),
                        e,
                        "use a whole number of milliseconds of at least 1ms, e.g. \"500ms\" or \"5s\"",
                    );
                }
                Some(d)
            }
            Err(e) => {
                self.error(
                    &field(),
                    e.to_string(),
                    "write a Go duration such as \"250ms\", \"5s\" or \"1m30s\"",
                );
                None
            }
        }
    }

    /// An optional duration field: field `name` of `parent`.
    pub fn opt_duration(&mut self, parent: &str, name: &str, text: &Option<String>) {
        if let Some(t) = text {
            self.field_duration(parent, name, t);
        }
    }

    /// A regular expression, compiled by the same engine the matcher uses.
    pub fn regex(&mut self, field: &str, pattern: &str, context: &str) {
        if let Err(e) = Re2Regex::new(pattern) {
            self.error(
                field,
                format!("{context:?}: {e}"),
                "write an RE2 pattern (no lookaround or backreferences) of at most 1024 characters",
            );
        }
    }

    /// Istio's `validateStringMatchRegexp`: only a regex is checked (non-empty, compiles).
    pub fn string_match_regex(&mut self, field: &str, sm: &StringMatch, context: &str) {
        if let Some(re) = &sm.regex {
            let at = path::field(field, "regex");
            if re.is_empty() {
                self.error(
                    &at,
                    format!("{context:?}: regex string match should not be empty"),
                    "give a pattern, or use prefix/exact instead",
                );
            } else {
                self.regex(&at, re, context);
            }
        }
    }

    /// Istio's `validateStringMatch`: a prefix must not be empty, a regex must compile.
    pub fn string_match(&mut self, field: &str, sm: &StringMatch, context: &str) {
        self.oneof_string_match(field, sm);
        if let Some(p) = &sm.prefix {
            if p.is_empty() {
                self.error(
                    &path::field(field, "prefix"),
                    format!("{context:?}: prefix string match should not be empty"),
                    "remove the condition to match any value, or give a non-empty prefix",
                );
                return;
            }
        }
        if sm.exact.is_none() && sm.prefix.is_none() {
            self.string_match_regex(field, sm, context);
        }
    }

    /// A StringMatch is a proto oneof: only one member may be written.
    pub fn oneof_string_match(&mut self, field: &str, sm: &StringMatch) {
        let set = [&sm.exact, &sm.prefix, &sm.regex]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if set > 1 {
            self.error(
                field,
                "only one of exact, prefix or regex may be set in a string match",
                "keep one of exact, prefix and regex",
            );
        }
    }

    /// Istio's `labels.Instance.Validate` over a label map.
    pub fn labels(&mut self, field: &str, labels: &BTreeMap<String, String>) {
        for (k, v) in labels {
            let at = path::key(field, k);
            for e in names::validate_labels([(k.as_str(), v.as_str())]) {
                self.error(
                    &at,
                    e,
                    "label keys are [prefix/]name (DNS-1123 prefix, name of letters, digits, '-', '_', '.'); values likewise or empty",
                );
            }
        }
    }

    /// Istio's `validateExportTo`.
    pub fn export_to(&mut self, field: &str, list: &[String], is_se: bool, dr_selector: bool) {
        let entries: Vec<&str> = list.iter().map(String::as_str).collect();
        let ns = self.res.metadata.namespace.clone();
        for e in names::validate_export_to(&ns, &entries, is_se, dr_selector) {
            self.error(
                field,
                e,
                "list \".\", \"*\" or namespace names, each once (\"*\" alone)",
            );
        }
    }

    /// Header operations of a route or destination (`headers.request/response`).
    pub fn header_ops(&mut self, field: &str, headers: &Headers) {
        if let Some(req) = &headers.request {
            let at = path::field(field, "request");
            self.header_op_set(&at, req, true);
        }
        if let Some(resp) = &headers.response {
            let at = path::field(field, "response");
            self.header_op_set(&at, resp, false);
        }
    }

    fn header_op_set(&mut self, field: &str, ops: &HeaderOperations, request: bool) {
        const FIX_NAME: &str =
            "use a plain header name; rewrite the authority with rewrite.authority instead of Host";
        const FIX_VALUE: &str =
            "remove control characters; write a literal % as %% and close every %VARIABLE%";
        for (kind, map) in [("add", &ops.add), ("set", &ops.set)] {
            let map_path = path::field(field, kind);
            for (name, value) in map {
                let at = path::key(&map_path, name);
                let name_check = if request {
                    names::validate_header_operation_name_with_authority(name)
                } else {
                    names::validate_header_operation_name(name)
                };
                self.error_if(&at, name_check, FIX_NAME);
                self.error_if(&at, names::validate_header_value(value), FIX_VALUE);
            }
        }
        let remove_path = path::field(field, "remove");
        for (i, name) in ops.remove.iter().enumerate() {
            self.error_if(
                &path::index(&remove_path, i),
                names::validate_header_operation_name(name),
                FIX_NAME,
            );
        }
    }

    /// Istio's `validateGatewayNames` over a `gateways` list.
    pub fn gateway_names(&mut self, field: &str, gateways: &[String]) {
        for (i, gw) in gateways.iter().enumerate() {
            let at = path::index(field, i);
            let check = names::validate_gateway_reference(gw);
            for w in check.warnings {
                self.warning(&at, w, "write gateways as <namespace>/<name>");
            }
            let stop = !gw.contains('/');
            for e in check.errors {
                self.error(&at, e, "write gateways as <namespace>/<name> or mesh");
            }
            // Istio stops at the first name without '/' (it returns from the loop).
            if stop {
                break;
            }
        }
    }

    /// A port number when written (0 means unset in the proto).
    pub fn port_if_set(&mut self, field: &str, port: Option<u32>) {
        if let Some(p) = port {
            if p != 0 {
                self.port(field, p);
            }
        }
    }

    /// A port number, 1..65535.
    pub fn port(&mut self, field: &str, port: u32) {
        self.error_if(
            field,
            names::validate_port(i64::from(port)),
            "use a port number from 1 to 65535",
        );
    }

    /// Istio's `ValidatePortName`: a DNS-1123 label.
    pub fn port_name(&mut self, field: &str, name: &str) {
        if !names::is_dns1123_label(name) {
            self.error(
                field,
                format!("invalid port name: {name}"),
                "use lower-case letters, digits and '-' (at most 63), e.g. \"http-web\"",
            );
        }
    }

    /// Istio's `ValidateProtocol`: known or empty.
    pub fn protocol(&mut self, field: &str, protocol: Option<&str>) {
        if let Some(p) = protocol {
            if !p.is_empty() && Protocol::parse(p) == Protocol::Unsupported {
                self.error(field, format!("unsupported protocol: {p}"), PROTOCOL_FIX);
            }
        }
    }
}

/// The fix for an unknown protocol.
pub(crate) const PROTOCOL_FIX: &str =
    "use one of HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, MYSQL, REDIS";

/// Istio's `protocol.Parse` result (case-insensitive names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tcp,
    Tls,
    Udp,
    Mongo,
    Redis,
    Mysql,
    Unsupported,
}

impl Protocol {
    /// Parses a protocol name as Istio does (ASCII case-insensitive).
    pub fn parse(s: &str) -> Protocol {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "grpc" => Protocol::Grpc,
            "grpc-web" => Protocol::GrpcWeb,
            "http" => Protocol::Http,
            "http_proxy" => Protocol::HttpProxy,
            "http2" => Protocol::Http2,
            "https" => Protocol::Https,
            "tls" => Protocol::Tls,
            "mongo" => Protocol::Mongo,
            "redis" => Protocol::Redis,
            "mysql" => Protocol::Mysql,
            _ => Protocol::Unsupported,
        }
    }

    /// HTTP-family protocols (routes by `http` rules).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Protocol::Http
                | Protocol::Http2
                | Protocol::Grpc
                | Protocol::GrpcWeb
                | Protocol::HttpProxy
        )
    }

    /// TLS-carrying protocols.
    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::Https | Protocol::Tls)
    }

    /// Protocols proxied as opaque TCP.
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            Protocol::Tcp
                | Protocol::Https
                | Protocol::Tls
                | Protocol::Mongo
                | Protocol::Redis
                | Protocol::Mysql
        )
    }
}

/// Prefix of a Unix domain socket address.
pub(crate) const UNIX_PREFIX: &str = "unix://";

/// Istio's `ValidateUnixAddress` (after the `unix://` prefix).
pub(crate) fn validate_unix_address(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Err("unix address must not be empty".to_string());
    }
    if addr.starts_with('@') {
        return Ok(());
    }
    if !addr.starts_with('/') || addr.ends_with('/') {
        return Err(format!("{addr} is not an absolute path to a file"));
    }
    Ok(())
}

/// Istio's `ValidateAlphaWorkloadSelector` / `validateWorkloadSelector` label
/// checks: no empty key, no `*`. Returns the error texts.
pub(crate) fn selector_label_errors(labels: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (k, v) in labels {
        let pair = format!("{k}={v}");
        if k.is_empty() {
            errors.push((
                k.clone(),
                format!("empty key is not supported in selector: {pair:?}"),
            ));
        }
        if k.contains('*') || v.contains('*') {
            errors.push((
                k.clone(),
                format!("wildcard is not supported in selector: {pair:?}"),
            ));
        }
    }
    errors
}
