//! Name and value checks shared by the validator, with Istio's wording
//! (`pkg/config/validation`, `pkg/config/labels`, `pkg/config/visibility`).
//!
//! Each check returns `Err(message)` with the text Istio prints, so a
//! validator can wrap it with a field path without rewording.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const DOMAIN_MAX: usize = 255;

/// DNS-1123 label: `[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?`, at most 63
/// bytes (Istio's `labels.IsDNS1123Label`; note Istio admits upper case).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            b.len() <= DNS1123_LABEL_MAX
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// A first label that may carry a wildcard (`labels.IsWildcardDNS1123Label`):
/// `*`, a DNS-1123 label, or one prefixed by `*` or `*-` (`*foo`, `*-foo`).
pub fn is_wildcard_dns1123_label(s: &str) -> bool {
    if s.len() > DNS1123_LABEL_MAX {
        return false;
    }
    if s == "*" {
        return true;
    }
    let rest = s
        .strip_prefix("*-")
        .or_else(|| s.strip_prefix('*'))
        .unwrap_or(s);
    is_dns1123_label(rest)
}

/// `Err` with Kubernetes' wording unless `s` is a DNS-1123 label in lower case
/// (the rule for namespace names).
pub fn validate_dns1123_label(s: &str) -> Result<(), String> {
    if is_dns1123_label(s) && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    if s.len() > DNS1123_LABEL_MAX {
        return Err(format!(
            "{s:?}: must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    Err(format!(
        "{s:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
         and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', \
         regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ))
}

/// `Err` with Kubernetes' wording unless `s` is a lower-case DNS-1123
/// subdomain (at most 253 bytes of dot-separated lower-case labels; the rule
/// for most object names).
pub fn validate_dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.len() > DNS1123_SUBDOMAIN_MAX {
        return Err(format!(
            "{s:?}: must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    let ok = !s.is_empty()
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            matches!((b.first(), b.last()), (Some(f), Some(e))
                if (f.is_ascii_lowercase() || f.is_ascii_digit())
                    && (e.is_ascii_lowercase() || e.is_ascii_digit()))
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', \
             regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ))
    }
}

fn check_domain_preconditions(name: &str) -> Result<(), String> {
    if name.len() > DOMAIN_MAX {
        return Err(format!("domain name {name:?} too long (max 255)"));
    }
    if name.is_empty() {
        return Err("empty domain name not allowed".to_string());
    }
    Ok(())
}

/// Go `strconv.Atoi` success: optional sign then one or more ASCII digits
/// (range overflow aside, which still means "all numeric" here).
fn is_go_integer(s: &str) -> bool {
    let digits = s
        .strip_prefix('+')
        .or_else(|| s.strip_prefix('-'))
        .unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Istio's `ValidateDNS1123Labels`: every dot-separated label DNS-1123, the
/// last label not all-numeric, a trailing dot allowed.
pub fn validate_dns1123_labels(domain: &str) -> Result<(), String> {
    let parts: Vec<&str> = domain.split('.').collect();
    let last_index = parts.len().saturating_sub(1);
    let tld = parts.last().copied().unwrap_or("");
    if is_go_integer(tld) {
        return Err(format!(
            "domain name {domain:?} invalid (top level domain {tld:?} cannot be all-numeric)"
        ));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == last_index && label.is_empty() {
            return Ok(());
        }
        if !is_dns1123_label(label) {
            return Err(format!(
                "domain name {domain:?} invalid (label {label:?} invalid)"
            ));
        }
    }
    Ok(())
}

/// Istio's `ValidateFQDN`: length 1..=255, then [`validate_dns1123_labels`].
pub fn validate_fqdn(fqdn: &str) -> Result<(), String> {
    check_domain_preconditions(fqdn)?;
    validate_dns1123_labels(fqdn)
}

/// Istio's `ValidateWildcardDomain` (VirtualService and DestinationRule
/// hosts): like [`validate_fqdn`] but the first label may be `*`, `*foo` or
/// `*-foo`.
pub fn validate_wildcard_domain(domain: &str) -> Result<(), String> {
    check_domain_preconditions(domain)?;
    let (first, rest) = match domain.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (domain, None),
    };
    if !is_wildcard_dns1123_label(first) {
        return Err(format!(
            "domain name {domain:?} invalid (label {first:?} invalid)"
        ));
    }
    match rest {
        Some(rest) => validate_dns1123_labels(rest),
        None => Ok(()),
    }
}

/// Istio's `ValidatePartialWildCard` (Gateway and Sidecar hosts are errors,
/// ServiceEntry hosts a warning): a `*` must be the whole host or a `*.`
/// prefix.
pub fn validate_partial_wildcard(host: &str) -> Result<(), String> {
    if host.contains('*') && host.len() != 1 && !host.starts_with("*.") {
        return Err(format!("partial wildcard {host:?} not allowed"));
    }
    Ok(())
}

/// True for an IPv4 or IPv6 address as Go's `netip.ParseAddr` reads it
/// (IPv6 zones like `fe80::1%eth0` included).
pub fn is_ip_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    match s.split_once('%') {
        Some((addr, zone)) => !zone.is_empty() && addr.parse::<std::net::Ipv6Addr>().is_ok(),
        None => false,
    }
}

/// Istio's `ValidateIPAddress`.
pub fn validate_ip(addr: &str) -> Result<(), String> {
    if is_ip_address(addr) {
        Ok(())
    } else {
        Err(format!("{addr} is not a valid IP"))
    }
}

/// Istio's `ValidateIPSubnet`: an IP, or (when there is exactly one `/`) a
/// CIDR prefix as Go's `netip.ParsePrefix` reads it (host bits may be set; no
/// zone; prefix length in decimal without leading zeros, within the family).
pub fn validate_ip_subnet(subnet: &str) -> Result<(), String> {
    if subnet.matches('/').count() != 1 {
        return validate_ip(subnet);
    }
    let bad = || Err(format!("{subnet} is not a valid CIDR block"));
    let Some((addr, bits)) = subnet.split_once('/') else {
        return bad();
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return bad();
    };
    let valid_bits = !bits.is_empty()
        && bits.bytes().all(|b| b.is_ascii_digit())
        && !(bits.len() > 1 && bits.starts_with('0'))
        && bits.len() <= 3;
    if !valid_bits {
        return bad();
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits.parse::<u32>() {
        Ok(n) if n <= max => Ok(()),
        _ => bad(),
    }
}

fn is_qualified_name(s: &str) -> bool {
    // (?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Istio's label key check (`validateTagKey`): `[prefix/]name` where the
/// optional prefix is dot-separated DNS-1123 labels of at most 253 bytes and
/// the name a qualified name of at most 63 bytes.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let invalid = || Err(format!("invalid tag key: {key:?}"));
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if !prefix.split('.').all(is_dns1123_label) {
            return invalid();
        }
        if !is_qualified_name(name) {
            return invalid();
        }
        if prefix.len() > DNS1123_SUBDOMAIN_MAX {
            return Err(format!("invalid tag key: {key:?} (DNS prefix is too long)"));
        }
    } else if !is_qualified_name(name) {
        return invalid();
    }
    if name.len() > DNS1123_LABEL_MAX {
        return Err(format!("invalid tag key: {key:?} (name is too long)"));
    }
    Ok(())
}

/// Istio's label value check: empty, or a qualified name
/// (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`). Istio does not limit the
/// length here (Kubernetes metadata labels are limited to 63 elsewhere).
pub fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() || is_qualified_name(value) {
        Ok(())
    } else {
        Err(format!("invalid tag value: {value:?}"))
    }
}

/// Istio's `labels.Instance.Validate` over `(key, value)` pairs: every error,
/// in the order given.
pub fn validate_labels<'a, I>(labels: I) -> Vec<String>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut errors = Vec::new();
    for (k, v) in labels {
        if let Err(e) = validate_label_key(k) {
            errors.push(e);
        }
        if let Err(e) = validate_label_value(v) {
            errors.push(e);
        }
    }
    errors
}

/// Writes a float as Go's `%v` does (`%g` with the shortest digits):
/// exponent form when the decimal exponent is < -4 or >= 6, with at least two
/// exponent digits (`1e-05`, `1e+06`).
pub fn go_float_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{v:e}"); // shortest round-trip digits, e.g. "1.5e-5"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

/// Istio's `validatePercentage` for `Percent` values (fault injection,
/// mirroring): 0, or 0.0001 to 100.
pub fn validate_percentage(value: f64) -> Result<(), String> {
    if value.is_nan() || !(0.0..=100.0).contains(&value) || (value > 0.0 && value < 0.0001) {
        return Err(format!(
            "percentage {} is neither 0.0, nor in range [0.0001, 100.0]",
            go_float_string(value)
        ));
    }
    Ok(())
}

/// Istio's `ValidatePercent` for integer percentages (`maxEjectionPercent`,
/// `minHealthPercent`, `mirrorPercent`): 0 to 100.
pub fn validate_int_percent(value: i64) -> Result<(), String> {
    if (0..=100).contains(&value) {
        Ok(())
    } else {
        Err(format!("percentage {value} is not in range 0..100"))
    }
}

/// Istio's `ValidatePort`: 1 to 65535.
pub fn validate_port(port: i64) -> Result<(), String> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(format!("port number {port} must be in the range 1..65535"))
    }
}

/// RFC 7230 token character (header names).
pub fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// The HTTP/2 pseudo-headers Istio accepts as match keys.
pub const PSEUDO_HEADERS: [&str; 5] = [":method", ":scheme", ":authority", ":path", ":status"];

/// How the parts of a JWT claim key are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimSeparator {
    /// `@request.auth.claims.a.b`
    Dot,
    /// `@request.auth.claims[a][b]`
    Square,
}

/// A header-match key that names a JWT claim instead of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtClaimKey {
    /// How it was written.
    pub separator: ClaimSeparator,
    /// The claim path (`["groups"]`, `["nested", "key"]`).
    pub claims: Vec<String>,
}

/// Istio's `jwt.ToRoutingClaim`: is this header-match key a JWT claim
/// (`@request.auth.claims.<name>` or `@request.auth.claims[<a>][<b>]`)?
/// The prefix is compared case-insensitively, as Istio does.
pub fn parse_jwt_claim_key(key: &str) -> Option<JwtClaimKey> {
    const PREFIX: &str = "@request.auth.claims";
    let head = key.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let name = &key[PREFIX.len()..];
    if let Some(dotted) = name.strip_prefix('.').filter(|s| !s.is_empty()) {
        return Some(JwtClaimKey {
            separator: ClaimSeparator::Dot,
            claims: dotted.split('.').map(str::to_string).collect(),
        });
    }
    if name.len() > 2 {
        if let Some(inner) = name.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            return Some(JwtClaimKey {
                separator: ClaimSeparator::Square,
                claims: inner.split("][").map(str::to_string).collect(),
            });
        }
    }
    None
}

/// True when a header-match key names a JWT claim ([`parse_jwt_claim_key`]).
pub fn is_jwt_claim_key(key: &str) -> bool {
    parse_jwt_claim_key(key).is_some()
}

/// Istio's `ValidateHTTPHeaderNameOrJwtClaimRoute` (keys of `headers` and
/// `withoutHeaders` in matches): a JWT claim key, a pseudo-header, or RFC 7230
/// token characters.
pub fn validate_header_match_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name cannot be empty".to_string());
    }
    if is_jwt_claim_key(name) || PSEUDO_HEADERS.contains(&name) {
        return Ok(());
    }
    validate_header_token(name)
}

/// Istio's plain header-name check (`validHeaderNameRegex`): non-empty RFC
/// 7230 token (CORS headers, hash-policy header names...).
pub fn validate_header_token(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name cannot be empty".to_string());
    }
    if name.bytes().all(is_token_char) {
        Ok(())
    } else {
        Err(format!("header name {name} is not a valid header name"))
    }
}

fn is_internal_header(name: &str) -> bool {
    name.starts_with(':') || name.eq_ignore_ascii_case("host")
}

fn is_authority_header(name: &str) -> bool {
    name.eq_ignore_ascii_case(":authority") || name.eq_ignore_ascii_case("host")
}

/// Istio's `ValidateHTTPHeaderOperationName`: names in request `remove` and
/// every response operation. `host` and `:`-prefixed names are refused.
pub fn validate_header_operation_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name cannot be empty".to_string());
    }
    if name.eq_ignore_ascii_case("host") {
        return Err(format!("invalid header {name:?}: cannot set Host header"));
    }
    if is_internal_header(name) {
        return Err(format!(
            "invalid header {name:?}: header cannot have \":\" prefix"
        ));
    }
    Ok(())
}

/// Istio's `ValidateHTTPHeaderWithAuthorityOperationName`: names in request
/// `set`/`add`, where `:authority` and `host` are allowed (they rewrite the
/// authority) but other `:` names are not.
pub fn validate_header_operation_name_with_authority(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name cannot be empty".to_string());
    }
    if is_internal_header(name) && !is_authority_header(name) {
        return Err(format!(
            "invalid header {name:?}: header cannot have \":\" prefix"
        ));
    }
    Ok(())
}

/// Istio's `ValidateHTTPHeaderValue` for header operation values: no control
/// characters other than tab, and valid Envoy `%VAR%` / `%VAR(args)%`
/// formatter syntax (`%%` is a literal `%`).
pub fn validate_header_value(value: &str) -> Result<(), String> {
    let control = value
        .chars()
        .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'));
    if control {
        return Err(format!("header value configuration {value} is invalid"));
    }
    check_header_formatter(value).map_err(|e| format!("header value configuration: {e}"))
}

/// The Envoy header formatter grammar, as Istio ports Envoy's parser.
fn check_header_formatter(value: &str) -> Result<(), String> {
    #[derive(PartialEq)]
    enum State {
        Literal,
        VariableName,
        ExpectArray,
        ExpectString,
        String,
        ExpectArrayDelimiterOrEnd,
        ExpectArgsEnd,
        ExpectVariableEnd,
    }
    let b = value.as_bytes();
    let mut state = State::Literal;
    let mut pos = 0;
    while let Some(&ch) = b.get(pos) {
        let next = b.get(pos + 1).copied();
        match state {
            State::Literal => {
                if ch == b'%' {
                    match next {
                        None => return Err("invalid header configuration. Un-escaped %".into()),
                        Some(b'%') => pos += 1,
                        Some(_) => state = State::VariableName,
                    }
                }
            }
            State::VariableName => {
                if ch == b'%' {
                    state = State::Literal;
                } else if ch == b'(' {
                    state = State::ExpectArray;
                }
            }
            State::ExpectArray => {
                if ch == b'[' {
                    state = State::ExpectString;
                } else if ch != b' ' {
                    state = State::String;
                }
            }
            State::ExpectArrayDelimiterOrEnd => {
                if ch == b',' {
                    state = State::ExpectString;
                } else if ch == b']' {
                    state = State::ExpectArgsEnd;
                } else if ch != b' ' {
                    return Err(
                        "invalid header configuration. Expecting ',', ']', or whitespace".into(),
                    );
                }
            }
            State::ExpectString => {
                if ch == b'"' {
                    state = State::String;
                } else if ch != b' ' {
                    return Err("invalid header configuration. Expecting '\"'".into());
                }
            }
            State::String => {
                if ch == b'\\' {
                    if next.is_none() {
                        return Err(
                            "invalid header configuration. Un-terminated backslash in JSON string"
                                .into(),
                        );
                    }
                    pos += 1;
                } else if ch == b')' {
                    state = State::ExpectVariableEnd;
                } else if ch == b'"' {
                    state = State::ExpectArrayDelimiterOrEnd;
                }
            }
            State::ExpectArgsEnd => {
                if ch == b')' {
                    state = State::ExpectVariableEnd;
                } else if ch != b' ' {
                    return Err("invalid header configuration. Expecting ')' or whitespace after '{}', but found '{}'".into());
                }
            }
            State::ExpectVariableEnd => {
                if ch == b'%' {
                    state = State::Literal;
                } else if ch != b' ' {
                    return Err(
                        "invalid header configuration. Expecting '%' or whitespace after".into(),
                    );
                }
            }
        }
        pos += 1;
    }
    if state != State::Literal {
        return Err(format!(
            "invalid header configuration. Un-terminated variable expression '{value}'"
        ));
    }
    Ok(())
}

/// One `exportTo` problem list, in Istio's order and wording
/// (`validateExportTo`). `namespace` is the resource's namespace;
/// `is_service_entry` allows `~`; `is_destination_rule_with_selector` limits the
/// list to the own namespace. An empty list is valid (mesh default applies).
pub fn validate_export_to(
    namespace: &str,
    export_to: &[&str],
    is_service_entry: bool,
    is_destination_rule_with_selector: bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    if export_to.is_empty() {
        return errors;
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for &entry in export_to {
        let key = if entry == "." { namespace } else { entry };
        if seen.contains(key) {
            if key != entry {
                errors.push(format!(
                    "duplicate entries in exportTo: . and current namespace {namespace}"
                ));
            } else {
                errors.push(format!("duplicate entries in exportTo for entry {entry}"));
            }
        } else if is_service_entry && entry == "~" {
            seen.insert(key);
        } else {
            match validate_visibility(key) {
                Ok(()) => {
                    seen.insert(key);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if is_destination_rule_with_selector && !seen.is_empty() {
        if seen.contains(namespace) {
            if seen.len() > 1 {
                errors.push(
                    "destination rule with workload selector cannot have multiple entries in exportTo"
                        .to_string(),
                );
            }
        } else {
            errors.push(
                "destination rule with workload selector cannot have exportTo beyond current namespace"
                    .to_string(),
            );
        }
    }
    if seen.contains("*") && export_to.len() > 1 {
        errors.push(
            "cannot have both public (*) and non-public exportTo values for a resource".to_string(),
        );
    }
    if seen.contains("~") && export_to.len() > 1 {
        errors.push("cannot export service entry to no one (~) and someone".to_string());
    }
    errors
}

/// Istio's `visibility.Instance.Validate` for one exportTo value.
fn validate_visibility(value: &str) -> Result<(), String> {
    match value {
        "." | "*" => Ok(()),
        "~" => Err("exportTo ~ (none) is not allowed for Istio configuration objects".to_string()),
        v if is_dns1123_label(v) => Ok(()),
        _ => Err("only .,*, or a valid DNS 1123 label is allowed as exportTo entry".to_string()),
    }
}

/// The outcome of checking one VirtualService gateway reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameCheck {
    /// Problems that reject the resource.
    pub errors: Vec<String>,
    /// Problems Istio only warns about.
    pub warnings: Vec<String>,
}

/// Istio's `validateGatewayNames` for one entry of `gateways`.
///
/// Without `/` the name must be an FQDN (so `mesh` and `gw` pass) and a dotted
/// name draws the legacy-format warning; with `/` both sides must be DNS-1123
/// labels. Note Istio's check rejects `./name` here (`.` is not a label) even
/// though its resolver understands it.
pub fn validate_gateway_reference(name: &str) -> NameCheck {
    let mut check = NameCheck::default();
    match name.split_once('/') {
        None => {
            if name.contains('.') {
                let mut parts = name.split('.');
                let gw = parts.next().unwrap_or("");
                let ns = parts.next().unwrap_or("");
                check.warnings.push(format!(
                    "using legacy gatewayName format {name:?}; prefer the <namespace>/<name> format: {:?}",
                    format!("{ns}/{gw}")
                ));
            }
            if let Err(e) = validate_fqdn(name) {
                check.errors.push(e);
            }
        }
        Some((ns, gw)) => {
            if ns.is_empty() || gw.is_empty() {
                check
                    .errors
                    .push("config namespace and gateway name cannot be empty".to_string());
            }
            if !is_dns1123_label(ns) {
                check
                    .errors
                    .push(format!("invalid value for namespace: {ns:?}"));
            }
            if !is_dns1123_label(gw) {
                check
                    .errors
                    .push(format!("invalid value for gateway name: {gw:?}"));
            }
        }
    }
    check
}

/// Go's `http.StatusText`: the reason phrase for codes Go knows, `None`
/// otherwise. Istio accepts a numeric `retryOn` token iff this is non-empty.
pub fn http_status_text(code: i64) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

/// The gRPC status names Istio accepts (`grpc.SupportedGRPCStatus`), with
/// their numeric codes.
pub const GRPC_STATUS_CODES: [(&str, u32); 17] = [
    ("OK", 0),
    ("CANCELLED", 1),
    ("UNKNOWN", 2),
    ("INVALID_ARGUMENT", 3),
    ("DEADLINE_EXCEEDED", 4),
    ("NOT_FOUND", 5),
    ("ALREADY_EXISTS", 6),
    ("PERMISSION_DENIED", 7),
    ("RESOURCE_EXHAUSTED", 8),
    ("FAILED_PRECONDITION", 9),
    ("ABORTED", 10),
    ("OUT_OF_RANGE", 11),
    ("UNIMPLEMENTED", 12),
    ("INTERNAL", 13),
    ("UNAVAILABLE", 14),
    ("DATA_LOSS", 15),
    ("UNAUTHENTICATED", 16),
];

/// The numeric code of a gRPC status name Istio accepts (exact, upper case).
pub fn grpc_status_code(name: &str) -> Option<u32> {
    GRPC_STATUS_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// Istio's `validateGRPCStatus` wording.
pub fn validate_grpc_status(name: &str) -> Result<(), String> {
    match grpc_status_code(name) {
        Some(_) => Ok(()),
        None => Err(format!(
            "gRPC status {name:?} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md \
             for a list of supported codes, for example 'NOT_FOUND'"
        )),
    }
}

/// True when `s` parses as an IPv6 address (without zone).
pub fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_labels() {
        assert!(is_dns1123_label("a"));
        assert!(is_dns1123_label("a-1"));
        assert!(is_dns1123_label("ABC"));
        assert!(!is_dns1123_label(""));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label("a-"));
        assert!(!is_dns1123_label("a_b"));
        assert!(is_dns1123_label(&"a".repeat(63)));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(validate_dns1123_label("prod").is_ok());
        assert!(validate_dns1123_label("Prod").is_err());
    }

    #[test]
    fn dns1123_subdomains() {
        assert!(validate_dns1123_subdomain("my.name-1").is_ok());
        assert!(validate_dns1123_subdomain("My.name").is_err());
        assert!(validate_dns1123_subdomain("a..b").is_err());
        assert!(validate_dns1123_subdomain("").is_err());
        assert!(validate_dns1123_subdomain(&"a".repeat(254)).is_err());
    }

    #[test]
    fn wildcard_labels() {
        assert!(is_wildcard_dns1123_label("*"));
        assert!(is_wildcard_dns1123_label("*foo"));
        assert!(is_wildcard_dns1123_label("*-foo"));
        assert!(is_wildcard_dns1123_label("foo"));
        assert!(!is_wildcard_dns1123_label("foo*"));
        assert!(!is_wildcard_dns1123_label("**"));
        assert!(!is_wildcard_dns1123_label("*-"));
    }

    #[test]
    fn fqdn_rules_and_wording() {
        assert_eq!(validate_fqdn("istio.io"), Ok(()));
        assert_eq!(validate_fqdn("istio.io."), Ok(()));
        assert_eq!(validate_fqdn("reviews"), Ok(()));
        assert_eq!(
            validate_fqdn(""),
            Err("empty domain name not allowed".into())
        );
        assert_eq!(
            validate_fqdn("a.123"),
            Err(
                "domain name \"a.123\" invalid (top level domain \"123\" cannot be all-numeric)"
                    .into()
            )
        );
        assert_eq!(
            validate_fqdn("a_b.com"),
            Err("domain name \"a_b.com\" invalid (label \"a_b\" invalid)".into())
        );
        assert!(validate_fqdn(&format!("{}.com", "a.".repeat(130)))
            .unwrap_err()
            .contains("too long"));
        assert!(validate_fqdn("*.com").is_err());
    }

    #[test]
    fn wildcard_domains() {
        assert_eq!(validate_wildcard_domain("*"), Ok(()));
        assert_eq!(validate_wildcard_domain("*.example.com"), Ok(()));
        assert_eq!(validate_wildcard_domain("*foo.example.com"), Ok(()));
        assert_eq!(validate_wildcard_domain("*-foo.example.com"), Ok(()));
        // As in Istio, labels after the first are reported against the rest
        // of the name.
        assert_eq!(
            validate_wildcard_domain("foo.*.com"),
            Err("domain name \"*.com\" invalid (label \"*\" invalid)".into())
        );
        assert!(validate_wildcard_domain("*.1").is_err());
    }

    #[test]
    fn partial_wildcards() {
        assert_eq!(validate_partial_wildcard("*"), Ok(()));
        assert_eq!(validate_partial_wildcard("*.a.com"), Ok(()));
        assert_eq!(validate_partial_wildcard("a.com"), Ok(()));
        assert_eq!(
            validate_partial_wildcard("*a.com"),
            Err("partial wildcard \"*a.com\" not allowed".into())
        );
        assert!(validate_partial_wildcard("a.*.com").is_err());
    }

    #[test]
    fn ips_and_subnets() {
        assert_eq!(validate_ip("10.0.0.1"), Ok(()));
        assert_eq!(validate_ip("2001:db8::1"), Ok(()));
        assert_eq!(validate_ip("fe80::1%eth0"), Ok(()));
        assert_eq!(
            validate_ip("10.0.0.256"),
            Err("10.0.0.256 is not a valid IP".into())
        );
        assert_eq!(
            validate_ip("010.0.0.1"),
            Err("010.0.0.1 is not a valid IP".into())
        );
        assert_eq!(validate_ip_subnet("10.0.0.0/8"), Ok(()));
        assert_eq!(validate_ip_subnet("10.1.2.3/8"), Ok(()));
        assert_eq!(validate_ip_subnet("2001:db8::/32"), Ok(()));
        assert_eq!(validate_ip_subnet("10.0.0.1"), Ok(()));
        assert_eq!(
            validate_ip_subnet("10.0.0.0/33"),
            Err("10.0.0.0/33 is not a valid CIDR block".into())
        );
        assert!(validate_ip_subnet("2001:db8::/129").is_err());
        assert!(validate_ip_subnet("10.0.0.0/08").is_err());
        assert!(validate_ip_subnet("10.0.0.0/").is_err());
        assert!(validate_ip_subnet("a/b/c").is_err());
    }

    #[test]
    fn label_keys_and_values() {
        assert_eq!(validate_label_key("app"), Ok(()));
        assert_eq!(validate_label_key("app.kubernetes.io/name"), Ok(()));
        assert_eq!(validate_label_key("a_b.c-d"), Ok(()));
        assert_eq!(
            validate_label_key("-app"),
            Err("invalid tag key: \"-app\"".into())
        );
        assert!(validate_label_key("/app").is_err());
        assert!(validate_label_key("a_b/app").is_err());
        assert!(validate_label_key(&"a".repeat(64))
            .unwrap_err()
            .contains("name is too long"));
        assert_eq!(validate_label_value(""), Ok(()));
        assert_eq!(validate_label_value("v1.2_x"), Ok(()));
        assert_eq!(
            validate_label_value("v1-"),
            Err("invalid tag value: \"v1-\"".into())
        );
        let errs = validate_labels([("app", "ok"), ("-bad", "also bad-")]);
        assert_eq!(errs.len(), 2);
        assert!(validate_labels([("app", "ok")]).is_empty());
    }

    #[test]
    fn percentages_use_go_number_formatting() {
        assert_eq!(validate_percentage(0.0), Ok(()));
        assert_eq!(validate_percentage(0.0001), Ok(()));
        assert_eq!(validate_percentage(100.0), Ok(()));
        assert_eq!(
            validate_percentage(0.00001),
            Err("percentage 1e-05 is neither 0.0, nor in range [0.0001, 100.0]".into())
        );
        assert_eq!(
            validate_percentage(150.0),
            Err("percentage 150 is neither 0.0, nor in range [0.0001, 100.0]".into())
        );
        assert!(validate_percentage(-1.0).is_err());
        assert!(validate_percentage(f64::NAN).is_err());
        assert_eq!(validate_int_percent(100), Ok(()));
        assert_eq!(
            validate_int_percent(101),
            Err("percentage 101 is not in range 0..100".into())
        );
        assert!(validate_int_percent(-1).is_err());
        assert_eq!(go_float_string(1.5), "1.5");
        assert_eq!(go_float_string(1e21), "1e+21");
        assert_eq!(go_float_string(0.0001), "0.0001");
        assert_eq!(go_float_string(123456.0), "123456");
        assert_eq!(go_float_string(1234567.0), "1.234567e+06");
    }

    #[test]
    fn ports() {
        assert_eq!(validate_port(1), Ok(()));
        assert_eq!(validate_port(65535), Ok(()));
        assert_eq!(
            validate_port(0),
            Err("port number 0 must be in the range 1..65535".into())
        );
        assert!(validate_port(65536).is_err());
    }

    #[test]
    fn header_match_names() {
        assert_eq!(validate_header_match_name("x-user"), Ok(()));
        assert_eq!(validate_header_match_name("X_Weird!~`|"), Ok(()));
        assert_eq!(validate_header_match_name(":authority"), Ok(()));
        assert_eq!(
            validate_header_match_name("@request.auth.claims.group"),
            Ok(())
        );
        assert_eq!(
            validate_header_match_name("@request.auth.claims[a][b]"),
            Ok(())
        );
        assert_eq!(
            validate_header_match_name(""),
            Err("header name cannot be empty".into())
        );
        assert_eq!(
            validate_header_match_name("x user"),
            Err("header name x user is not a valid header name".into())
        );
        assert!(validate_header_match_name(":foo").is_err());
        assert!(validate_header_match_name("@request.auth.claims").is_err());
        assert!(validate_header_match_name("@request.auth.claims.").is_err());
    }

    #[test]
    fn jwt_claim_keys() {
        let k = parse_jwt_claim_key("@request.auth.claims.a.b").unwrap();
        assert_eq!(
            (k.separator, k.claims),
            (ClaimSeparator::Dot, vec!["a".into(), "b".into()])
        );
        let k = parse_jwt_claim_key("@Request.Auth.Claims[a.b][c]").unwrap();
        assert_eq!(
            (k.separator, k.claims),
            (ClaimSeparator::Square, vec!["a.b".into(), "c".into()])
        );
        assert!(parse_jwt_claim_key("@request.auth.claims[]").is_none());
        assert!(parse_jwt_claim_key("@request.auth.claimsx").is_none());
        assert!(!is_jwt_claim_key("x-claims"));
    }

    #[test]
    fn header_operation_names() {
        assert_eq!(validate_header_operation_name("x-a"), Ok(()));
        assert_eq!(
            validate_header_operation_name("Host"),
            Err("invalid header \"Host\": cannot set Host header".into())
        );
        assert_eq!(
            validate_header_operation_name(":authority"),
            Err("invalid header \":authority\": header cannot have \":\" prefix".into())
        );
        assert_eq!(
            validate_header_operation_name_with_authority(":authority"),
            Ok(())
        );
        assert_eq!(
            validate_header_operation_name_with_authority("host"),
            Ok(())
        );
        assert!(validate_header_operation_name_with_authority(":path").is_err());
        assert!(validate_header_operation_name_with_authority("").is_err());
    }

    #[test]
    fn header_values() {
        for ok in [
            "foo",
            "%HOSTNAME%",
            "100%%",
            "prefix %HOSTNAME% suffix",
            "a\tb",
            "",
            "%REQ(x-foo)%",
            "%UPSTREAM_METADATA([\"a\", \"b\"])%",
        ] {
            assert_eq!(validate_header_value(ok), Ok(()), "{ok}");
        }
        assert!(validate_header_value("abc%123").is_err());
        assert!(validate_header_value("%START_TIME%%").is_err());
        assert!(validate_header_value("50%").is_err());
        assert_eq!(
            validate_header_value("a\nb"),
            Err("header value configuration a\nb is invalid".into())
        );
        assert!(validate_header_value("a\u{7f}").is_err());
        assert!(validate_header_value("%A([\"x\" y])%").is_err());
    }

    #[test]
    fn export_to_rules() {
        assert!(validate_export_to("ns", &[], false, false).is_empty());
        assert!(validate_export_to("ns", &["*"], false, false).is_empty());
        assert!(validate_export_to("ns", &[".", "other"], false, false).is_empty());
        assert_eq!(
            validate_export_to("ns", &[".", "ns"], false, false),
            vec!["duplicate entries in exportTo for entry ns".to_string()]
        );
        assert_eq!(
            validate_export_to("ns", &["ns", "."], false, false),
            vec!["duplicate entries in exportTo: . and current namespace ns".to_string()]
        );
        assert_eq!(
            validate_export_to("ns", &["*", "a"], false, false),
            vec![
                "cannot have both public (*) and non-public exportTo values for a resource"
                    .to_string()
            ]
        );
        assert_eq!(
            validate_export_to("ns", &["~"], false, false),
            vec!["exportTo ~ (none) is not allowed for Istio configuration objects".to_string()]
        );
        assert!(validate_export_to("ns", &["~"], true, false).is_empty());
        assert_eq!(
            validate_export_to("ns", &["~", "a"], true, false),
            vec!["cannot export service entry to no one (~) and someone".to_string()]
        );
        assert_eq!(
            validate_export_to("ns", &["Bad_ns"], false, false),
            vec!["only .,*, or a valid DNS 1123 label is allowed as exportTo entry".to_string()]
        );
        assert!(validate_export_to("ns", &["."], false, true).is_empty());
        assert_eq!(
            validate_export_to("ns", &["other"], false, true),
            vec!["destination rule with workload selector cannot have exportTo beyond current namespace".to_string()]
        );
        assert_eq!(
            validate_export_to("ns", &[".", "other"], false, true),
            vec![
                "destination rule with workload selector cannot have multiple entries in exportTo"
                    .to_string()
            ]
        );
    }

    #[test]
    fn gateway_references() {
        assert_eq!(validate_gateway_reference("mesh"), NameCheck::default());
        assert_eq!(validate_gateway_reference("ns/gw"), NameCheck::default());
        let c = validate_gateway_reference("gw.ns.svc.cluster.local");
        assert!(c.errors.is_empty());
        assert_eq!(
            c.warnings,
            vec!["using legacy gatewayName format \"gw.ns.svc.cluster.local\"; prefer the <namespace>/<name> format: \"ns/gw\"".to_string()]
        );
        assert_eq!(
            validate_gateway_reference("./gw").errors,
            vec!["invalid value for namespace: \".\"".to_string()]
        );
        assert_eq!(
            validate_gateway_reference("/gw").errors,
            vec![
                "config namespace and gateway name cannot be empty".to_string(),
                "invalid value for namespace: \"\"".to_string()
            ]
        );
        assert!(!validate_gateway_reference("ns/g_w").errors.is_empty());
        assert!(!validate_gateway_reference("g_w").errors.is_empty());
    }

    #[test]
    fn status_tables() {
        assert_eq!(http_status_text(503), Some("Service Unavailable"));
        assert_eq!(http_status_text(418), Some("I'm a teapot"));
        assert_eq!(http_status_text(306), None);
        assert_eq!(http_status_text(599), None);
        assert_eq!(http_status_text(0), None);
        assert_eq!(grpc_status_code("UNAVAILABLE"), Some(14));
        assert_eq!(grpc_status_code("unavailable"), None);
        assert_eq!(grpc_status_code("CANCELED"), None);
        assert!(validate_grpc_status("NOT_FOUND").is_ok());
        assert!(validate_grpc_status("NOPE")
            .unwrap_err()
            .contains("is not supported"));
        assert!(is_ipv6("::1"));
        assert!(!is_ipv6("1.2.3.4"));
    }
}
