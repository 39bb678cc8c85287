//! What a matched HTTP rule does: redirect, direct response, or forward
//! (destinations, rewrite, timeout, retries, fault, mirrors, headers).

use super::compile::{CompiledHttpRoute, RewritePlan};
use super::decision::*;
use super::evaluate::Proxy;
use super::request_view::View;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::{self};
use crate::matching::{HttpRouteMatch, StringMatcher};
use crate::model::common::Destination as DestinationSpec;
use crate::model::virtual_service::HttpRoute;
use std::borrow::Cow;

impl Mesh {
    /// Each outcome is returned as one struct expression, so the decision
    /// is written straight into the caller's slot (no 280-byte moves).
    pub(super) fn http_decision<'m>(
        &'m self,
        route: &'m CompiledHttpRoute,
        m: Option<&HttpRouteMatch>,
        view: &View<'_>,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Decision<'m> {
        let spec: &HttpRoute = &route.route;
        let rule = Some(RuleRef {
            index: route.index,
            name: route.name.as_deref().map(Cow::Borrowed),
        });
        if let Some(root) = &route.delegated_from {
            t.add(
                "virtualService",
                || route.vs.to_string(),
                Verdict::Note,
                || format!("delegate of {root}"),
            );
        }
        // CORS applies to every action of the route, fault to forwarded requests.
        let cors = route.cors.as_ref().map(Shared::Lent);
        if let Some(r) = &spec.redirect {
            return Decision {
                outcome: Outcome::Redirect,
                virtual_service: Some(Cow::Borrowed(&*route.vs)),
                delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
                rule,
                redirect: Some(Box::new(self.redirect(r, m, view, proxy.listener_port))),
                request_headers: Shared::Lent(&route.route_headers.0),
                response_headers: Shared::Lent(&route.route_headers.1),
                cors,
                ..Decision::new(Outcome::Redirect)
            };
        }
        if let Some(dr) = &spec.direct_response {
            return Decision {
                outcome: Outcome::DirectResponse,
                virtual_service: Some(Cow::Borrowed(&*route.vs)),
                delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
                rule,
                direct_response: Some(Box::new(DirectResponse {
                    status: dr.status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                    body: dr.body.as_ref().and_then(|b| {
                        b.string
                            .clone()
                            .or_else(|| b.bytes.as_deref().map(decode_base64_lossy))
                    }),
                })),
                request_headers: Shared::Lent(&route.route_headers.0),
                response_headers: Shared::Lent(&route.route_headers.1),
                cors,
                ..Decision::new(Outcome::DirectResponse)
            };
        }
        let fault = route.fault.as_ref().map(|f| {
            t.add("policy", || "fault".into(), Verdict::Note, || {
                "fault filter runs before the router: an injected abort is not retried and an injected delay does not count against the timeout".into()
            });
            Shared::Lent(f)
        });
        // Forward.
        let built_ahead = match t.on {
            true => None,
            false => proxy
                .cache
                .and_then(|c| self.cached_route_destinations(c, route)),
        };
        let destinations = match built_ahead {
            Some(list) => Cow::Borrowed(list),
            None => {
                let mut list = Vec::with_capacity(route.dests.len());
                let many = route.dests.len() > 1;
                for pd in &route.dests {
                    if many && pd.weight == 0 {
                        continue;
                    }
                    let weight = if many { pd.weight } else { 100 };
                    list.push(self.prepared_destination(pd, weight, proxy, t));
                }
                Cow::Owned(list)
            }
        };
        // The trace quotes the durations as the configuration writes them.
        let timeout_text = route.timeout.and(route.route.timeout.as_deref());
        match timeout_text {
            Some(to) => t.add(
                "policy",
                || "timeout".into(),
                Verdict::Note,
                || {
                    format!(
                        "{to} for the whole request, retries included (504 UT when it runs out)"
                    )
                },
            ),
            None => t.add(
                "default",
                || "timeout".into(),
                Verdict::Note,
                || "no timeout: Istio disables Envoy's 15s route default".into(),
            ),
        }
        let r = &route.retries;
        t.add(
            "policy",
            || "retries".into(),
            Verdict::Note,
            || {
                if r.default {
                    format!(
                        "route sets no retries: {}",
                        crate::decide::retries::describe_default(r, &self.options)
                    )
                } else if r.attempts == 0 {
                    "retries disabled (attempts: 0)".into()
                } else {
                    let per_try_text = r.per_try_timeout.and(
                        route
                            .route
                            .retries
                            .as_ref()
                            .and_then(|w| w.per_try_timeout.as_deref()),
                    );
                    let budget = match (per_try_text, timeout_text) {
                        (Some(p), Some(to)) => format!("; each try {p}, all tries within {to}"),
                        (Some(p), None) => {
                            format!("; each try {p}, up to {} tries", r.attempts + 1)
                        }
                        (None, Some(to)) => format!("; all tries within {to}"),
                        (None, None) => String::new(),
                    };
                    format!("{} retries on {}{budget}", r.attempts, r.retry_on)
                }
            },
        );
        let mirrors = if spec.mirror.is_none() && spec.mirrors.is_empty() {
            Vec::new()
        } else {
            self.mirrors(route, proxy)
        };
        Decision {
            outcome: Outcome::Route,
            virtual_service: Some(Cow::Borrowed(&*route.vs)),
            delegated_from: route.delegated_from.as_deref().map(Cow::Borrowed),
            rule,
            destinations,
            redirect: None,
            direct_response: None,
            rewrite: (route.rewrite.as_ref())
                .and_then(|plan| rewrite(plan, m, view))
                .map(Box::new),
            timeout: route.timeout,
            retries: Some(Shared::Lent(&route.retries)),
            fault,
            mirrors,
            request_headers: Shared::Lent(&route.forward_headers.0),
            response_headers: Shared::Lent(&route.forward_headers.1),
            cors,
            trace: Vec::new(),
        }
    }

    /// The route's `mirror` and `mirrors`, resolved.
    pub(super) fn mirrors<'m>(
        &'m self,
        route: &'m CompiledHttpRoute,
        proxy: &Proxy<'_, 'm>,
    ) -> Vec<Mirror<'m>> {
        let spec: &HttpRoute = &route.route;
        let mut mirrors = Vec::new();
        if let Some(mirror) = &spec.mirror {
            let percent = spec
                .mirror_percentage
                .as_ref()
                .and_then(|p| p.value)
                .or(spec.mirror_percent.map(f64::from))
                .unwrap_or(100.0);
            mirrors.push(self.mirror(mirror, &route.vs_namespace, percent, proxy));
        }
        for mp in &spec.mirrors {
            if let Some(dest) = &mp.destination {
                let percent = mp
                    .percentage
                    .as_ref()
                    .and_then(|p| p.value)
                    .unwrap_or(100.0);
                mirrors.push(self.mirror(dest, &route.vs_namespace, percent, proxy));
            }
        }
        mirrors
    }

    pub(super) fn mirror(
        &self,
        dest: &DestinationSpec,
        vs_namespace: &str,
        percent: f64,
        proxy: &Proxy<'_, '_>,
    ) -> Mirror<'_> {
        let mut scratch = Tracer::new(false);
        let r = self.route_destination(dest, vs_namespace, 100, proxy, &mut scratch);
        Mirror {
            host: r.host,
            subset: r.subset,
            port: r.port,
            cluster: r.cluster,
            percent,
        }
    }

    /// The Location a redirect rule answers with, as Istio configures
    /// Envoy's RedirectAction (istio `pilot/pkg/networking/core/route/route.go`
    /// `ApplyRedirect`) and Envoy builds the URI (envoy
    /// `source/common/http/utility.cc` `Utility::newUri` and
    /// `processRequestHost`). `listener_port` is the port the route table
    /// was generated for (Istio's `FROM_REQUEST_PORT`).
    pub(super) fn redirect(
        &self,
        r: &crate::model::virtual_service::HttpRedirect,
        m: Option<&HttpRouteMatch>,
        view: &View<'_>,
        listener_port: u32,
    ) -> Redirect {
        let req = view.req;
        let request_scheme = view.scheme;
        let scheme = r
            .scheme
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(request_scheme);
        let port_redirect = redirect_port(r, listener_port, request_scheme);
        let host = match r.authority.as_deref().filter(|a| !a.is_empty()) {
            // Envoy writes `host_redirect` as given, port and all.
            Some(authority) => bracket_ipv6(authority),
            None => request_host(&req.host, scheme, request_scheme, port_redirect),
        };
        let (path, query) = if let Some(uri) = &r.uri {
            match uri.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (
                    uri.clone(),
                    (!view.query.is_empty()).then(|| view.query.to_string()),
                ),
            }
        } else if let Some(pr) = &r.prefix_rewrite {
            (
                replace_prefix(view.path, m, pr),
                (!view.query.is_empty()).then(|| view.query.to_string()),
            )
        } else {
            (
                view.path.to_string(),
                (!view.query.is_empty()).then(|| view.query.to_string()),
            )
        };
        let mut location = format!("{scheme}://{host}");
        if let Some(p) = port_redirect {
            location.push_str(&format!(":{p}"));
        }
        location.push_str(&path);
        if let Some(q) = query {
            location.push('?');
            location.push_str(&q);
        }
        Redirect {
            status: match r.redirect_code {
                None | Some(0) => 301,
                Some(c) => u16::try_from(c).unwrap_or(301),
            },
            location,
        }
    }
}

/// Istio's `port_redirect` (route.go `ApplyRedirect`): the explicit `port`,
/// or the listener's port for `derivePort: FROM_REQUEST_PORT`, dropped when
/// it is the default port of the redirect's scheme (the rule's scheme, else
/// `https` on a TLS listener and `http` otherwise). `FROM_PROTOCOL_DEFAULT`
/// sets none.
pub(super) fn redirect_port(
    r: &crate::model::virtual_service::HttpRedirect,
    listener_port: u32,
    request_scheme: &str,
) -> Option<u32> {
    use crate::model::virtual_service::RedirectPortSelection;
    let port = match (r.port, r.derive_port) {
        (Some(p), _) if p != 0 => p,
        (_, Some(RedirectPortSelection::FromRequestPort)) => listener_port,
        _ => return None,
    };
    let scheme = match r.scheme.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s,
        None if request_scheme.eq_ignore_ascii_case("https") => "https",
        None => "http",
    };
    match (port, scheme) {
        (80, "http") | (443, "https") => None,
        _ => Some(port),
    }
}

/// The request's Host as Envoy puts it in a Location (`processRequestHost`,
/// envoy `source/common/http/utility.cc`): as sent, except that its port is
/// removed when the redirect sets a port, or when the scheme changes and the
/// port is the old scheme's default (`http://h:80` to `https://h`). A Host
/// `h:80` kept on `http` keeps its `:80`.
fn request_host(
    sent: &str,
    new_scheme: &str,
    request_scheme: &str,
    port_redirect: Option<u32>,
) -> String {
    let port_at = if sent.starts_with('[') {
        sent.rfind("]:").map(|i| i + 1)
    } else if sent.matches(':').count() > 1 {
        // An IPv6 literal without brackets has no port to split off.
        None
    } else {
        sent.rfind(':')
    };
    let Some(at) = port_at else {
        return bracket_ipv6(sent);
    };
    let port = &sent[at..];
    let default_of_old_scheme = (request_scheme.eq_ignore_ascii_case("https") && port == ":443")
        || (request_scheme.eq_ignore_ascii_case("http") && port == ":80");
    let remove = port_redirect.is_some() || (new_scheme != request_scheme && default_of_old_scheme);
    if remove {
        sent[..at].to_string()
    } else {
        sent.to_string()
    }
}

/// An IPv6 literal in a URI needs brackets (RFC 3986 section 3.2.2).
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') && hosts::is_ip_literal(host) {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The path with the matched prefix replaced (exact/regex matches replace
/// the whole path; no uri condition means the implicit prefix `/`).
pub(super) fn replace_prefix(path: &str, m: Option<&HttpRouteMatch>, replacement: &str) -> String {
    match m.and_then(|m| m.uri.as_ref().map(|u| (u, m.ignore_uri_case))) {
        Some((StringMatcher::Prefix { value: p, .. }, _)) => {
            let n = p.len().min(path.len());
            format!("{replacement}{}", &path[n..])
        }
        Some((StringMatcher::Exact { .. }, _)) | Some((StringMatcher::Regex(_), _)) => {
            replacement.to_string()
        }
        _ => format!("{replacement}{}", path.strip_prefix('/').unwrap_or(path)),
    }
}

pub(super) fn rewrite(
    plan: &RewritePlan,
    m: Option<&HttpRouteMatch>,
    view: &View<'_>,
) -> Option<Rewrite> {
    let with_query = |p: String| {
        if view.query.is_empty() {
            p
        } else {
            format!("{p}?{}", view.query)
        }
    };
    let path = match (&plan.uri, &plan.uri_regex) {
        (Some(uri), _) => Some(with_query(replace_prefix(view.path, m, uri))),
        (None, Some((re, replacement))) => Some(with_query(
            re.replace_all(view.path, replacement).into_owned(),
        )),
        (None, None) => None,
    };
    if path.is_none() && plan.authority.is_none() {
        return None;
    }
    Some(Rewrite {
        path,
        authority: plan.authority.clone(),
    })
}

pub(super) fn decode_base64_lossy(s: &str) -> String {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use crate::load::load_str;
    use crate::{Mesh, Request};

    /// The Location for `redirect` (YAML flow map) on a request.
    fn location(redirect: &str, req: Request) -> String {
        let text = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: default}}\nspec: {{ports: [{{port: 80, name: http}}, {{port: 443, name: http-s}}, {{port: 8080, name: http-alt}}, {{port: 9000, name: http-x}}]}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: web, namespace: default}}\nspec:\n  hosts: [web]\n  http:\n  - redirect: {redirect}\n"
        );
        let mesh = Mesh::compile(&load_str(&text, "t.yaml"));
        let d = mesh.decide(&req).expect("decides");
        d.redirect().expect("a redirect").location.clone()
    }

    // envoy source/common/http/utility.cc processRequestHost: the Host's port
    // is removed only for a port redirect or a scheme change from its default.
    #[test]
    fn envoy_keeps_an_explicit_default_port_in_the_host_when_the_scheme_stays() {
        assert_eq!(
            location("{uri: /new}", Request::new("web:80").path("/old")),
            "http://web:80/new"
        );
        assert_eq!(
            location("{uri: /new}", Request::new("web").port(80)),
            "http://web/new",
            "the Host as sent has no port"
        );
    }

    #[test]
    fn envoy_drops_the_old_default_port_on_a_scheme_change_and_keeps_others() {
        assert_eq!(
            location("{scheme: https}", Request::new("web:80").path("/a?b=1")),
            "https://web/a?b=1"
        );
        assert_eq!(
            location("{scheme: https}", Request::new("web:8080").path("/a")),
            "https://web:8080/a",
            "a non-default port survives the scheme change"
        );
        let mut https = Request::new("web:443").path("/a");
        https.scheme = Some("https".into());
        assert_eq!(location("{scheme: http}", https), "http://web/a");
    }

    // istio route.go ApplyRedirect: port_redirect, cleared when it is the
    // scheme's default; Envoy then removes the Host's own port.
    #[test]
    fn an_explicit_port_replaces_the_host_port() {
        assert_eq!(
            location("{port: 9090}", Request::new("web:8080").path("/a")),
            "http://web:9090/a"
        );
        assert_eq!(
            location("{port: 443, scheme: https}", Request::new("web:8080")),
            "https://web:8080/",
            "Istio clears port 443 for https, so Envoy keeps the Host's port"
        );
        assert_eq!(
            location("{port: 80}", Request::new("web:8080")),
            "http://web:8080/",
            "port 80 on http is cleared the same way"
        );
        assert_eq!(
            location("{port: 443}", Request::new("web:8080")),
            "http://web:443/",
            "443 is not http's default: it is kept"
        );
    }

    #[test]
    fn derive_port_from_request_port_is_the_listener_port() {
        assert_eq!(
            location("{derivePort: FROM_REQUEST_PORT}", Request::new("web:8080")),
            "http://web:8080/"
        );
        assert_eq!(
            location(
                "{derivePort: FROM_REQUEST_PORT, authority: other.example}",
                Request::new("web").port(9000)
            ),
            "http://other.example:9000/"
        );
        assert_eq!(
            location("{derivePort: FROM_REQUEST_PORT}", Request::new("web:80")),
            "http://web:80/",
            "the listener's port 80 on http is cleared; the Host keeps its :80"
        );
        assert_eq!(
            location(
                "{derivePort: FROM_PROTOCOL_DEFAULT}",
                Request::new("web:8080")
            ),
            "http://web:8080/",
            "FROM_PROTOCOL_DEFAULT sets no port_redirect"
        );
    }

    #[test]
    fn an_authority_is_written_as_given() {
        assert_eq!(
            location("{authority: \"other:80\"}", Request::new("web:8080")),
            "http://other:80/"
        );
        assert_eq!(
            location("{authority: other, port: 81}", Request::new("web")),
            "http://other:81/"
        );
    }
}
