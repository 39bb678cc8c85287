//! VirtualService validation, as Istio's `ValidateVirtualService` does it,
//! plus the per-resource reachability warnings (IST0130, IST0131).

use super::common::Report;
use crate::hosts;
use crate::message::{codes, Message, Severity};
use crate::model::common::{Destination, Percent};
use crate::model::virtual_service::{
    CorsPolicy, HttpDirectResponse, HttpFaultInjection, HttpMatchRequest, HttpRedirect, HttpRetry,
    HttpRewrite, HttpRoute, HttpRouteDestination, RouteDestination, TcpRoute, TlsRoute,
    VirtualService,
};
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, index, key};
use std::collections::HashMap;

/// Envoy retry conditions Istio accepts in `retryOn`, besides HTTP status codes.
const RETRY_ON_POLICIES: [&str; 16] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// Methods Istio accepts in `corsPolicy.allowMethods` (case-sensitive).
const CORS_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*",
];

/// Largest direct-response body Istio accepts, and the size it warns above.
const DIRECT_RESPONSE_MAX: usize = 1024 * 1024;
const DIRECT_RESPONSE_WARN: usize = 100 * 1024;

/// Validates one VirtualService, appending messages to `out`.
pub(crate) fn validate(res: &Resource<VirtualService>, out: &mut Vec<Message>) {
    let mut r = Report::new("VirtualService", res, out);
    let vs = &res.spec;
    let is_delegate = vs.hosts.is_empty();
    if is_delegate {
        if !vs.gateways.is_empty() {
            r.error(
                "spec.gateways",
                "delegate virtual service must have no gateways specified",
                "remove gateways: a delegate takes them from the VirtualService that delegates to it",
            );
        }
        if !vs.tls.is_empty() {
            r.error(
                "spec.tls",
                "delegate virtual service must have no tls route specified",
                "move tls rules to a VirtualService with hosts",
            );
        }
        if !vs.tcp.is_empty() {
            r.error(
                "spec.tcp",
                "delegate virtual service must have no tcp route specified",
                "move tcp rules to a VirtualService with hosts",
            );
        }
    }

    let applies_to_gateway =
        !vs.gateways.is_empty() && !vs.gateways.iter().any(|g| g == hosts::MESH_GATEWAY);
    let applies_to_mesh = !applies_to_gateway;
    if !vs.gateways.is_empty() {
        r.gateway_names("spec.gateways", &vs.gateways);
    }

    if !applies_to_gateway {
        jwt_claims_need_gateway(&mut r, vs);
    }

    let uses_sni = vs
        .tls
        .iter()
        .any(|t| t.r#match.iter().any(|m| !m.sni_hosts.is_empty()));
    let mut all_hosts_valid = true;
    for (i, host) in vs.hosts.iter().enumerate() {
        let at = index("spec.hosts", i);
        let checked = if applies_to_gateway && uses_sni && host.starts_with("outbound_.") {
            // Auto-generated SNI names of the form outbound_.<port>_._.<host>.
            Ok(())
        } else {
            names::validate_wildcard_domain(host)
        };
        match checked {
            Err(e) => {
                if !names::is_ip_address(host) {
                    r.error(
                        &at,
                        e,
                        "use a DNS name, a short service name or a *.domain wildcard",
                    );
                    all_hosts_valid = false;
                }
            }
            Ok(()) if applies_to_mesh && host == "*" => {
                r.error(
                    &at,
                    "wildcard host * is not allowed for virtual services bound to the mesh gateway",
                    "list the service hosts, or bind the VirtualService to a gateway",
                );
                all_hosts_valid = false;
            }
            Ok(()) => {}
        }
    }
    if all_hosts_valid {
        for (i, a) in vs.hosts.iter().enumerate() {
            for (j, b) in vs.hosts.iter().enumerate().skip(i + 1) {
                if hosts::matches(a, b) {
                    r.error(
                        &index("spec.hosts", j),
                        format!("duplicate hosts in virtual service: {a} & {b}"),
                        "remove the host already covered by another entry",
                    );
                }
            }
        }
    }

    if vs.http.is_empty() && vs.tcp.is_empty() && vs.tls.is_empty() {
        r.error(
            "spec",
            "http, tcp or tls must be provided in virtual service",
            "add at least one http, tcp or tls rule",
        );
    }
    for (i, route) in vs.http.iter().enumerate() {
        http_route(&mut r, &index("spec.http", i), route, is_delegate);
    }
    for (i, route) in vs.tls.iter().enumerate() {
        tls_route(&mut r, &index("spec.tls", i), route, vs, applies_to_gateway);
    }
    for (i, route) in vs.tcp.iter().enumerate() {
        tcp_route(&mut r, &index("spec.tcp", i), route);
    }
    r.export_to("spec.exportTo", &vs.export_to, false, false);

    unreachable_http(&mut r, &vs.http);
    unreachable_l4(&mut r, "spec.tcp", &vs.tcp, |t: &TcpRoute| {
        t.r#match.iter().map(to_json).collect()
    });
    unreachable_l4(&mut r, "spec.tls", &vs.tls, |t: &TlsRoute| {
        t.r#match.iter().map(to_json).collect()
    });
}

fn jwt_claims_need_gateway(r: &mut Report<'_, VirtualService>, vs: &VirtualService) {
    for (i, route) in vs.http.iter().enumerate() {
        for (j, m) in route.r#match.iter().enumerate() {
            for (map_name, map) in [
                ("headers", &m.headers),
                ("withoutHeaders", &m.without_headers),
            ] {
                for k in map.keys() {
                    if names::is_jwt_claim_key(k) {
                        let mp = index(&field(&index("spec.http", i), "match"), j);
                        r.error(
                            &key(&field(&mp, map_name), k),
                            format!(
                                "JWT claim based routing (key: {k}) is only supported for gateway, found no gateways: [{}]",
                                vs.gateways.join(" ")
                            ),
                            "bind the VirtualService to an ingress gateway to route on JWT claims",
                        );
                    }
                }
            }
        }
    }
}

fn http_route(r: &mut Report<'_, VirtualService>, p: &str, http: &HttpRoute, in_delegate: bool) {
    route_conflicts(r, p, http, in_delegate);
    for (j, m) in http.r#match.iter().enumerate() {
        match_request(r, &index(&field(p, "match"), j), m);
    }
    if let Some(h) = &http.headers {
        r.header_ops(&field(p, "headers"), h);
    }
    if let Some(c) = &http.cors_policy {
        cors(r, &field(p, "corsPolicy"), c);
    }
    if let Some(f) = &http.fault {
        fault(r, &field(p, "fault"), f);
    }
    if let Some(v) = http.mirror_percent {
        let at = field(p, "mirrorPercent");
        if v > 100 {
            r.error(
                &at,
                format!("mirror_percent must have a max value of 100 (it has {v})"),
                "use a value from 0 to 100",
            );
        }
        r.warning(
            &at,
            "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead",
            "replace mirrorPercent: N with mirrorPercentage: {value: N}",
        );
    }
    if let Some(Percent { value: Some(v) }) = &http.mirror_percentage {
        let at = field(&field(p, "mirrorPercentage"), "value");
        if *v > 100.0 {
            r.error(
                &at,
                format!("mirror_percentage must have a max value of 100 (it has {v:.6})"),
                "use a value from 0 to 100",
            );
        }
        if *v < 0.0 {
            r.error(
                &at,
                format!("mirror_percentage must have a min value of 0 (it has {v:.6})"),
                "use a value from 0 to 100",
            );
        }
    }
    if let Some(m) = &http.mirror {
        destination(r, &field(p, "mirror"), m);
    }
    for (i, m) in http.mirrors.iter().enumerate() {
        let mp = index(&field(p, "mirrors"), i);
        let Some(d) = &m.destination else {
            r.error(
                &mp,
                "destination is required for mirrors",
                "add destination: {host: ...}",
            );
            continue;
        };
        destination(r, &field(&mp, "destination"), d);
        if let Some(Percent { value: Some(v) }) = &m.percentage {
            let at = field(&field(&mp, "percentage"), "value");
            if *v > 100.0 {
                r.error(
                    &at,
                    format!("mirror percentage must have a max value of 100 (it has {v:.6})"),
                    "use a value from 0 to 100",
                );
            }
            if *v < 0.0 {
                r.error(
                    &at,
                    format!("mirror percentage must have a min value of 0 (it has {v:.6})"),
                    "use a value from 0 to 100",
                );
            }
        }
    }
    if let Some(rd) = &http.redirect {
        redirect(r, &field(p, "redirect"), rd, &http.r#match);
    }
    if let Some(d) = &http.direct_response {
        direct_response(r, &field(p, "directResponse"), d);
    }
    if let Some(rt) = &http.retries {
        retries(r, &field(p, "retries"), rt);
    }
    if let Some(rw) = &http.rewrite {
        rewrite(r, &field(p, "rewrite"), rw);
    }
    authority_rewrite(r, p, http);
    http_destinations(r, &field(p, "route"), &http.route);
    if let Some(t) = &http.timeout {
        r.field_duration(p, "timeout", t);
    }
}

fn route_conflicts(
    r: &mut Report<'_, VirtualService>,
    p: &str,
    http: &HttpRoute,
    in_delegate: bool,
) {
    let name = http.name.as_deref().unwrap_or("");
    if !in_delegate && http.delegate.is_some() {
        if http.redirect.is_some() {
            r.error(
                &field(p, "redirect"),
                format!("root HTTP route {name} must not specify redirect"),
                "a rule with delegate may only match and delegate; remove redirect",
            );
        }
        if !http.route.is_empty() {
            r.error(
                &field(p, "route"),
                format!("root HTTP route {name} must not specify route"),
                "a rule with delegate may only match and delegate; remove route",
            );
        }
        return;
    }
    if in_delegate && http.delegate.is_some() {
        r.error(
            &field(p, "delegate"),
            "delegate HTTP route cannot contain delegate",
            "delegation is one level deep: remove delegate here",
        );
    }
    const FIX: &str = "keep one action per rule: route, redirect or directResponse";
    if http.redirect.is_some() {
        if !http.route.is_empty() {
            r.error(p, "HTTP route cannot contain both route and redirect", FIX);
        }
        if http.fault.is_some() {
            r.error(
                p,
                "HTTP route cannot contain both fault and redirect",
                "remove fault or redirect",
            );
        }
        if http.rewrite.is_some() {
            r.error(
                p,
                "HTTP route rule cannot contain both rewrite and redirect",
                "remove rewrite or redirect",
            );
        }
        if http.direct_response.is_some() {
            r.error(
                p,
                "HTTP route rule cannot contain both direct_response and redirect",
                FIX,
            );
        }
    } else if http.direct_response.is_some() {
        if !http.route.is_empty() {
            r.error(
                p,
                "HTTP route cannot contain both route and direct_response",
                FIX,
            );
        }
        if http.fault.is_some() {
            r.error(
                p,
                "HTTP route cannot contain both fault and direct_response",
                "remove fault or directResponse",
            );
        }
        if http.rewrite.is_some() {
            r.error(
                p,
                "HTTP route rule cannot contain both rewrite and direct_response",
                "remove rewrite or directResponse",
            );
        }
    } else if http.route.is_empty() && http.delegate.is_none() {
        r.error(
            p,
            "HTTP route, redirect or direct_response is required",
            "add route: [{destination: {host: ...}}], a redirect or a directResponse",
        );
    }
    if http.mirror.is_some() && !http.mirrors.is_empty() {
        r.error(
            p,
            "HTTP route cannot contain both mirror and mirrors",
            "move mirror into the mirrors list",
        );
    }
}

fn match_request(r: &mut Report<'_, VirtualService>, p: &str, m: &HttpMatchRequest) {
    const NAME_FIX: &str = "use a lower-case header name of token characters";
    let hp = field(p, "headers");
    for (name, sm) in &m.headers {
        let at = key(&hp, name);
        r.error_if(&at, names::validate_header_match_name(name), NAME_FIX);
        r.string_match(&at, sm, "headers");
    }
    let wp = field(p, "withoutHeaders");
    for (name, sm) in &m.without_headers {
        let at = key(&wp, name);
        r.error_if(&at, names::validate_header_match_name(name), NAME_FIX);
        // `regex: "*"` is not RE2: Istio translates it into a presence match.
        if sm.regex.as_deref() != Some("*") {
            r.string_match(&at, sm, "withoutHeaders");
        }
    }
    if let Some(uri) = &m.uri {
        // An empty uri prefix is allowed (Envoy accepts it for paths).
        let at = field(p, "uri");
        r.oneof_string_match(&at, uri);
        r.string_match_regex(&at, uri, "uri");
    }
    for (name, sm) in [
        ("scheme", &m.scheme),
        ("method", &m.method),
        ("authority", &m.authority),
    ] {
        if let Some(sm) = sm {
            r.string_match(&field(p, name), sm, name);
        }
    }
    let qp = field(p, "queryParams");
    for (name, sm) in &m.query_params {
        r.string_match(&key(&qp, name), sm, "queryParams");
    }
    r.port_if_set(&field(p, "port"), m.port);
    r.labels(&field(p, "sourceLabels"), &m.source_labels);
    r.gateway_names(&field(p, "gateways"), &m.gateways);
    if let Some(ns) = &m.source_namespace {
        if !ns.is_empty() && !names::is_dns1123_label(ns) {
            r.error(
                &field(p, "sourceNamespace"),
                format!("sourceNamespace match {ns} is invalid"),
                "use a namespace name (DNS-1123 label)",
            );
        }
    }
}

fn cors(r: &mut Report<'_, VirtualService>, p: &str, c: &CorsPolicy) {
    for (i, o) in c.allow_origins.iter().enumerate() {
        let at = index(&field(p, "allowOrigins"), i);
        r.oneof_string_match(&at, o);
        let value = o
            .exact
            .as_deref()
            .or(o.prefix.as_deref())
            .or(o.regex.as_deref())
            .unwrap_or("");
        if value.is_empty() {
            r.error(
                &at,
                format!("'{value}' is not a valid match type for CORS allow origins"),
                "give exact, prefix or regex a non-empty value",
            );
        } else {
            r.string_match_regex(&at, o, "corsPolicy.allowOrigins");
        }
    }
    for (i, m) in c.allow_methods.iter().enumerate() {
        if !CORS_METHODS.contains(&m.as_str()) {
            r.error(
                &index(&field(p, "allowMethods"), i),
                format!("{m:?} is not a supported HTTP method"),
                "use upper-case GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE or *",
            );
        }
    }
    for list in ["allowHeaders", "exposeHeaders"] {
        let names_list = if list == "allowHeaders" {
            &c.allow_headers
        } else {
            &c.expose_headers
        };
        for (i, h) in names_list.iter().enumerate() {
            if h != "*" {
                r.error_if(
                    &index(&field(p, list), i),
                    names::validate_header_token(h),
                    "use a header name of token characters, or *",
                );
            }
        }
    }
    if let Some(age) = &c.max_age {
        let at = field(p, "maxAge");
        if let Some(d) = r.duration(&at, age) {
            if d.subsec_nanos() > 0 {
                r.error(
                    &at,
                    "max_age duration is accurate only to seconds precision",
                    "use whole seconds, e.g. \"24h\" or \"600s\"",
                );
            }
        }
    }
}

fn percentage(r: &mut Report<'_, VirtualService>, p: &str, pct: &Option<Percent>) {
    if let Some(Percent { value: Some(v) }) = pct {
        r.error_if(
            &field(&field(p, "percentage"), "value"),
            names::validate_percentage(*v),
            "use 0, or a value from 0.0001 to 100",
        );
    }
}

fn fault(r: &mut Report<'_, VirtualService>, p: &str, f: &HttpFaultInjection) {
    if f.abort.is_none() && f.delay.is_none() {
        r.error(
            p,
            "HTTP fault injection must have an abort and/or a delay",
            "add abort: {httpStatus: ..., percentage: ...} or delay: {fixedDelay: ..., percentage: ...}",
        );
    }
    if let Some(a) = &f.abort {
        let ap = field(p, "abort");
        percentage(r, &ap, &a.percentage);
        let kinds = [
            a.http_status.is_some(),
            a.grpc_status.is_some(),
            a.http2_error.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            r.error(
                &ap,
                "only one of httpStatus, grpcStatus or http2Error may be set",
                "keep one error type",
            );
        }
        if let Some(g) = &a.grpc_status {
            r.error_if(
                &field(&ap, "grpcStatus"),
                names::validate_grpc_status(g),
                "use a gRPC status name such as UNAVAILABLE or NOT_FOUND",
            );
        } else if a.http2_error.is_some() {
            r.error(
                &field(&ap, "http2Error"),
                "HTTP/2 abort fault injection not supported yet",
                "use httpStatus or grpcStatus",
            );
        } else if let Some(s) = a.http_status {
            http_status(r, &field(&ap, "httpStatus"), i64::from(s));
        } else {
            r.warning(
                &ap,
                "abort configured, but error type not set",
                "add httpStatus or grpcStatus; without one the abort is dropped",
            );
        }
    }
    if let Some(d) = &f.delay {
        let dp = field(p, "delay");
        percentage(r, &dp, &d.percentage);
        if let Some(fixed) = &d.fixed_delay {
            r.field_duration(&dp, "fixedDelay", fixed);
        } else if let Some(exp) = &d.exponential_delay {
            let at = field(&dp, "exponentialDelay");
            r.duration(&at, exp);
            r.error(&at, "exponentialDelay not supported yet", "use fixedDelay");
        }
    }
}

fn http_status(r: &mut Report<'_, VirtualService>, at: &str, status: i64) {
    // Istio's check is 200..=600 although its message says 200-599.
    if !(200..=600).contains(&status) {
        r.error(
            at,
            format!("HTTP status {status} is not in range 200-599"),
            "use an HTTP status from 200 to 599",
        );
    }
}

fn destination(r: &mut Report<'_, VirtualService>, p: &str, d: &Destination) {
    let host = d.host.as_deref().unwrap_or("");
    if host == "*" {
        r.error(
            &field(p, "host"),
            format!("invalid destination host {host}"),
            "name one service host; * cannot be a destination",
        );
    } else if let Err(e) = names::validate_wildcard_domain(host) {
        r.error(
            &field(p, "host"),
            e,
            "use a service name (reviews), an FQDN (reviews.default.svc.cluster.local) or a ServiceEntry host",
        );
    }
    if let Some(s) = &d.subset {
        if !s.is_empty() && !names::is_dns1123_label(s) {
            r.error(
                &field(p, "subset"),
                format!("subset name is invalid: {s}"),
                "use a DestinationRule subset name (lower-case letters, digits, '-')",
            );
        }
    }
    if let Some(port) = &d.port {
        r.port(
            &field(&field(p, "port"), "number"),
            port.number.unwrap_or(0),
        );
    }
}

fn weight(r: &mut Report<'_, VirtualService>, p: &str, w: Option<i32>) -> i64 {
    let w = w.unwrap_or(0);
    if w < 0 {
        r.error(
            &field(p, "weight"),
            format!("weight {w} < 0"),
            "use a weight from 0 to 100",
        );
    }
    i64::from(w)
}

fn http_destinations(r: &mut Report<'_, VirtualService>, p: &str, list: &[HttpRouteDestination]) {
    let mut total = 0i64;
    for (i, rd) in list.iter().enumerate() {
        let dp = index(p, i);
        match &rd.destination {
            None => r.error(
                &dp,
                "destination is required",
                "add destination: {host: ...}",
            ),
            Some(d) => destination(r, &field(&dp, "destination"), d),
        }
        if let Some(h) = &rd.headers {
            r.header_ops(&field(&dp, "headers"), h);
        }
        total += weight(r, &dp, rd.weight);
    }
    total_weight(r, p, list.len(), total);
}

fn route_destinations(r: &mut Report<'_, VirtualService>, p: &str, list: &[RouteDestination]) {
    let mut total = 0i64;
    for (i, rd) in list.iter().enumerate() {
        let dp = index(p, i);
        match &rd.destination {
            None => r.error(
                &dp,
                "destination is required",
                "add destination: {host: ...}",
            ),
            Some(d) => destination(r, &field(&dp, "destination"), d),
        }
        total += weight(r, &dp, rd.weight);
    }
    total_weight(r, p, list.len(), total);
}

fn total_weight(r: &mut Report<'_, VirtualService>, p: &str, count: usize, total: i64) {
    if count > 1 && total == 0 {
        r.error(
            p,
            "total destination weight = 0",
            "give at least one destination a positive weight",
        );
    }
}

fn redirect(
    r: &mut Report<'_, VirtualService>,
    p: &str,
    rd: &HttpRedirect,
    matches: &[HttpMatchRequest],
) {
    // Istio reports only the first redirect problem.
    let empty = |s: &Option<String>| s.as_deref().unwrap_or("").is_empty();
    if rd.port.is_some() && rd.derive_port.is_some() {
        r.error(
            p,
            "only one of port or derivePort may be set in a redirect",
            "keep port or derivePort",
        );
        return;
    }
    if !empty(&rd.uri) && !empty(&rd.prefix_rewrite) {
        r.error(
            p,
            "redirect may only specify one of uri or prefix_rewrite",
            "keep uri (replace the whole path) or prefixRewrite (replace the matched prefix)",
        );
        return;
    }
    if !empty(&rd.prefix_rewrite)
        && matches
            .iter()
            .any(|m| m.uri.as_ref().is_some_and(|u| u.prefix.is_none()))
    {
        r.error(
            &field(p, "prefixRewrite"),
            "redirect prefix_rewrite requires all URI matches to use prefix match type",
            "match uri with prefix, or redirect with uri",
        );
        return;
    }
    if empty(&rd.uri)
        && empty(&rd.authority)
        && rd.port.is_none()
        && rd.derive_port.is_none()
        && empty(&rd.scheme)
        && empty(&rd.prefix_rewrite)
    {
        r.error(
            p,
            "redirect must specify URI, authority, scheme, or port",
            "add uri, authority, scheme or port",
        );
        return;
    }
    if let Some(code) = rd.redirect_code {
        if code != 0 && !(300..=399).contains(&code) {
            r.error(
                &field(p, "redirectCode"),
                format!("{code} is not a valid redirect code, must be 3xx"),
                "use 301, 302, 303, 307 or 308",
            );
            return;
        }
    }
    if let Some(s) = &rd.scheme {
        if !s.is_empty() && s != "http" && s != "https" {
            r.error(
                &field(p, "scheme"),
                "invalid redirect scheme, must be \"http\" or \"https\"",
                "use http or https",
            );
            return;
        }
    }
    if let Some(port) = rd.port {
        if port > 0 {
            r.port(&field(p, "port"), port);
        }
    }
}

fn direct_response(r: &mut Report<'_, VirtualService>, p: &str, d: &HttpDirectResponse) {
    if let Some(body) = &d.body {
        let size = match (&body.string, &body.bytes) {
            (Some(s), _) => s.len(),
            // bytes are base64 in YAML; the body is the decoded length.
            (None, Some(b)) => b.trim_end_matches('=').len() * 3 / 4,
            (None, None) => 0,
        };
        let bp = field(p, "body");
        if size > DIRECT_RESPONSE_MAX {
            r.error(
                &bp,
                "large direct_responses may impact control plane performance, must be less than 1MB",
                "serve large bodies from a backend",
            );
        } else if size > DIRECT_RESPONSE_WARN {
            r.warning(
                &bp,
                "large direct_responses may impact control plane performance",
                "keep direct response bodies under 100KB",
            );
        }
    }
    http_status(r, &field(p, "status"), i64::from(d.status.unwrap_or(0)));
}

fn retries(r: &mut Report<'_, VirtualService>, p: &str, rt: &HttpRetry) {
    let attempts = rt.attempts.unwrap_or(0);
    if attempts < 0 {
        r.error(
            &field(p, "attempts"),
            "attempts cannot be negative",
            "use 0 to disable retries, or a positive count",
        );
    }
    let retry_on = rt.retry_on.as_deref().unwrap_or("");
    if attempts == 0
        && (rt.per_try_timeout.is_some()
            || !retry_on.is_empty()
            || rt.retry_remote_localities.is_some())
    {
        r.error(
            &field(p, "attempts"),
            "http retry policy configured when attempts are set to 0 (disabled)",
            "set attempts above 0, or remove perTryTimeout, retryOn and retryRemoteLocalities",
        );
    }
    r.opt_duration(p, "perTryTimeout", &rt.per_try_timeout);
    if !retry_on.is_empty() {
        for policy in retry_on.split(',') {
            let code = policy.parse::<i64>().unwrap_or(0);
            if names::http_status_text(code).is_none() && !RETRY_ON_POLICIES.contains(&policy) {
                r.error(
                    &field(p, "retryOn"),
                    format!("{policy:?} is not a valid retryOn policy"),
                    "use comma-separated conditions without spaces, e.g. \"5xx,reset,connect-failure\"",
                );
            }
        }
    }
    r.opt_duration(p, "backoff", &rt.backoff);
}

fn rewrite(r: &mut Report<'_, VirtualService>, p: &str, rw: &HttpRewrite) {
    let uri = rw.uri.as_deref().unwrap_or("");
    let authority = rw.authority.as_deref().unwrap_or("");
    if !uri.is_empty() && rw.uri_regex_rewrite.is_some() {
        r.error(
            p,
            "rewrite may only contain one of URI or UriRegexRewrite",
            "keep uri or uriRegexRewrite",
        );
        return;
    }
    if uri.is_empty() && rw.uri_regex_rewrite.is_none() && authority.is_empty() {
        r.error(
            p,
            "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified",
            "add uri, uriRegexRewrite or authority, or remove rewrite",
        );
        return;
    }
    if let Some(rr) = &rw.uri_regex_rewrite {
        let rp = field(p, "uriRegexRewrite");
        let m = rr.r#match.as_deref().unwrap_or("");
        if m.is_empty() || rr.rewrite.as_deref().unwrap_or("").is_empty() {
            r.error(
                &rp,
                "UriRegexRewrite has errors; UriRegexRewrite requires both Rewrite and Match fields to be specified",
                "give both match and rewrite",
            );
        } else {
            r.regex(&field(&rp, "match"), m, "HTTPRewrite.UriRegexRewrite.Match");
        }
    }
}

fn authority_rewrite(r: &mut Report<'_, VirtualService>, p: &str, http: &HttpRoute) {
    let Some(req) = http.headers.as_ref().and_then(|h| h.request.as_ref()) else {
        return;
    };
    let mut current = http
        .rewrite
        .as_ref()
        .and_then(|rw| rw.authority.clone())
        .unwrap_or_default();
    for (kind, map) in [("set", &req.set), ("add", &req.add)] {
        for (k, v) in map {
            if !(k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host")) {
                continue;
            }
            if !current.is_empty() {
                r.error(
                    &key(&field(&field(&field(p, "headers"), "request"), kind), k),
                    format!("authority header cannot be set multiple times: have {current:?}, attempting to set {v:?}"),
                    "set the authority in one place: rewrite.authority or one header operation",
                );
                return;
            }
            current = v.clone();
        }
    }
}

fn tls_route(
    r: &mut Report<'_, VirtualService>,
    p: &str,
    tls: &TlsRoute,
    vs: &VirtualService,
    applies_to_gateway: bool,
) {
    if tls.r#match.is_empty() {
        r.error(
            p,
            "TLS route must have at least one match condition",
            "add match: [{sniHosts: [...]}]",
        );
    }
    for (i, m) in tls.r#match.iter().enumerate() {
        let mp = index(&field(p, "match"), i);
        if m.sni_hosts.is_empty() {
            r.error(
                &mp,
                "TLS match must have at least one SNI host",
                "add sniHosts: [...]",
            );
        }
        for (j, sni) in m.sni_hosts.iter().enumerate() {
            sni_host(
                r,
                &index(&field(&mp, "sniHosts"), j),
                sni,
                vs,
                applies_to_gateway,
            );
        }
        for (j, s) in m.destination_subnets.iter().enumerate() {
            r.error_if(
                &index(&field(&mp, "destinationSubnets"), j),
                names::validate_ip_subnet(s),
                "use an IP address or CIDR block, e.g. 10.0.0.0/8",
            );
        }
        r.port_if_set(&field(&mp, "port"), m.port);
        r.labels(&field(&mp, "sourceLabels"), &m.source_labels);
        r.gateway_names(&field(&mp, "gateways"), &m.gateways);
    }
    if tls.route.is_empty() {
        r.error(
            p,
            "TLS route is required",
            "add route: [{destination: {host: ...}}]",
        );
    }
    route_destinations(r, &field(p, "route"), &tls.route);
}

fn sni_host(
    r: &mut Report<'_, VirtualService>,
    at: &str,
    sni: &str,
    vs: &VirtualService,
    applies_to_gateway: bool,
) {
    let checked = if applies_to_gateway && sni.starts_with("outbound_.") {
        Ok(())
    } else {
        names::validate_wildcard_domain(sni)
    };
    if let Err(e) = checked {
        if names::is_ip_address(sni) {
            r.warning(
                at,
                format!("using an IP address ({sni:?}) goes against SNI spec and most clients do not support this"),
                "match the server name clients send, not an IP address",
            );
        } else {
            r.error(at, e, "use a DNS name or *.domain wildcard");
        }
        return;
    }
    if !vs.hosts.iter().any(|h| hosts::subset_of(sni, h)) {
        r.error(
            at,
            format!(
                "SNI host {sni:?} is not a compatible subset of any of the virtual service hosts: [{}]",
                vs.hosts.join(", ")
            ),
            "use an SNI host covered by one of the VirtualService hosts",
        );
    }
}

fn tcp_route(r: &mut Report<'_, VirtualService>, p: &str, tcp: &TcpRoute) {
    for (i, m) in tcp.r#match.iter().enumerate() {
        let mp = index(&field(p, "match"), i);
        for (j, s) in m.destination_subnets.iter().enumerate() {
            r.error_if(
                &index(&field(&mp, "destinationSubnets"), j),
                names::validate_ip_subnet(s),
                "use an IP address or CIDR block, e.g. 10.0.0.0/8",
            );
        }
        r.port_if_set(&field(&mp, "port"), m.port);
        r.labels(&field(&mp, "sourceLabels"), &m.source_labels);
        r.gateway_names(&field(&mp, "gateways"), &m.gateways);
    }
    if tcp.route.is_empty() {
        r.error(
            p,
            "TCP route is required",
            "add route: [{destination: {host: ...}}]",
        );
    }
    route_destinations(r, &field(p, "route"), &tcp.route);
}

/// A match's identity for duplicate detection: its JSON without `name`,
/// as Istio compares them.
fn to_json<T: serde::Serialize>(m: &T) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

fn rule_name(route: &HttpRoute, i: usize) -> String {
    match route.name.as_deref() {
        Some(n) if !n.is_empty() => format!("{n:?}"),
        _ => format!("#{i}"),
    }
}

fn match_name(m: &HttpMatchRequest, i: usize) -> String {
    match m.name.as_deref() {
        Some(n) if !n.is_empty() => format!("{n:?}"),
        _ => format!("#{i}"),
    }
}

fn unreachable(r: &mut Report<'_, VirtualService>, at: &str, rule: &str, reason: &str) {
    r.emit(
        codes::VS_UNREACHABLE_RULE,
        Severity::Warning,
        at,
        format!("VirtualService rule {rule} not used ({reason})"),
        "put specific rules first and one rule without match last",
    );
}

fn ineffective(r: &mut Report<'_, VirtualService>, at: &str, rule: &str, m: &str, dup: &str) {
    r.emit(
        codes::VS_INEFFECTIVE_MATCH,
        Severity::Info,
        at,
        format!("VirtualService rule {rule} match {m} is not used (duplicate/overlapping match in rule {dup})"),
        "remove the match, or move it before the rule that covers it",
    );
}

/// A prefix match reduced to what Istio compares for coverage.
struct PrefixMatch {
    rule: String,
    label: String,
    at: String,
    prefix: String,
    port: u32,
    method: String,
    authority: String,
    headers: HashMap<String, String>,
    query: HashMap<String, String>,
    without: HashMap<String, String>,
}

fn exact_or_prefix(sm: Option<&crate::model::common::StringMatch>) -> String {
    match sm {
        Some(s) => match (&s.exact, &s.prefix) {
            (Some(e), _) if !e.is_empty() => format!("exact:{e}"),
            (_, Some(p)) if !p.is_empty() => format!("prefix:{p}"),
            _ => String::new(),
        },
        None => String::new(),
    }
}

fn to_map(
    map: &std::collections::BTreeMap<String, crate::model::common::StringMatch>,
) -> HashMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), exact_or_prefix(Some(v))))
        .collect()
}

/// `a` (earlier) covers `b` (later): Istio's `coveredValidation`.
fn covers(a: &PrefixMatch, b: &PrefixMatch) -> bool {
    let compatible = |x: &String, y: &String| x == y || x.starts_with(y.as_str());
    let maps_ok = |x: &HashMap<String, String>, y: &HashMap<String, String>| {
        x.len() == y.len()
            && x.iter()
                .all(|(k, v)| y.get(k).is_some_and(|w| compatible(v, w)))
    };
    b.prefix.starts_with(&a.prefix)
        && a.port == b.port
        && compatible(&a.method, &b.method)
        && compatible(&a.authority, &b.authority)
        && maps_ok(&a.headers, &b.headers)
        && maps_ok(&a.query, &b.query)
        && maps_ok(&a.without, &b.without)
}

fn unreachable_http(r: &mut Report<'_, VirtualService>, routes: &[std::sync::Arc<HttpRoute>]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut catch_all = false;
    // Matches are compared (as JSON, as Istio does) and prefix matches
    // collected only when there are at least two to compare.
    let compare = routes
        .iter()
        .map(|route| route.r#match.len())
        .sum::<usize>()
        > 1;
    let mut prefixes: Vec<PrefixMatch> = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let rp = index("spec.http", i);
        let rule = rule_name(route, i);
        if route.r#match.is_empty() {
            if catch_all {
                unreachable(r, &rp, &rule, "only the last rule can have no matches");
            }
            catch_all = true;
            continue;
        }
        let mut duplicates = 0;
        for (j, m) in route.r#match.iter().enumerate() {
            if !catch_all && !compare {
                continue;
            }
            let mp = index(&field(&rp, "match"), j);
            if catch_all {
                unreachable(r, &mp, &rule, "route without matches defined before");
                continue;
            }
            let mut unnamed = m.clone();
            unnamed.name = None;
            let id = to_json(&unnamed);
            if let Some(&earlier) = seen.get(&id) {
                let dup = routes
                    .get(earlier)
                    .map(|e| rule_name(e, earlier))
                    .unwrap_or_default();
                ineffective(r, &mp, &rule, &match_name(m, j), &dup);
                duplicates += 1;
                continue;
            }
            seen.insert(id, i);
            if let Some(prefix) = m
                .uri
                .as_ref()
                .and_then(|u| u.prefix.as_ref())
                .filter(|p| !p.is_empty())
            {
                let mut method = exact_or_prefix(m.method.as_ref());
                if method.is_empty() {
                    // Istio treats a prefix match without method as GET here.
                    method = "exact:GET".to_string();
                }
                prefixes.push(PrefixMatch {
                    rule: rule.clone(),
                    label: match_name(m, j),
                    at: mp.clone(),
                    prefix: prefix.clone(),
                    port: m.port.unwrap_or(0),
                    method,
                    authority: exact_or_prefix(m.authority.as_ref()),
                    headers: to_map(&m.headers),
                    query: to_map(&m.query_params),
                    without: to_map(&m.without_headers),
                });
            }
        }
        if duplicates == route.r#match.len() {
            unreachable(r, &rp, &rule, "all matches used by prior rules");
        }
    }
    for (a_i, a) in prefixes.iter().enumerate() {
        for b in prefixes.iter().skip(a_i + 1) {
            if b.prefix == a.prefix {
                continue;
            }
            if covers(a, b) {
                let this = format!("{} of prefix {}", b.label, b.prefix);
                let other = format!("{} of prefix {} on {}", a.label, a.prefix, a.rule);
                ineffective(r, &b.at, &b.rule, &this, &other);
            }
        }
    }
}

fn unreachable_l4<T>(
    r: &mut Report<'_, VirtualService>,
    list_path: &str,
    routes: &[T],
    match_ids: impl Fn(&T) -> Vec<String>,
) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut catch_all = false;
    for (i, route) in routes.iter().enumerate() {
        let rp = index(list_path, i);
        let rule = format!("#{i}");
        let ids = match_ids(route);
        if ids.is_empty() {
            if catch_all {
                unreachable(r, &rp, &rule, "only the last rule can have no matches");
            }
            catch_all = true;
            continue;
        }
        let mut duplicates = 0;
        for (j, id) in ids.iter().enumerate() {
            let mp = index(&field(&rp, "match"), j);
            if catch_all {
                unreachable(r, &mp, &rule, "route without matches defined before");
                continue;
            }
            if let Some(&earlier) = seen.get(id) {
                ineffective(r, &mp, &rule, &format!("#{j}"), &format!("#{earlier}"));
                duplicates += 1;
            } else {
                seen.insert(id.clone(), i);
            }
        }
        if duplicates == ids.len() {
            unreachable(r, &rp, &rule, "all matches used by prior rules");
        }
    }
}
