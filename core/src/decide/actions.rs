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
                redirect: Some(Box::new(self.redirect(r, m, view))),
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
                .resolved_routes
                .get(route.id)
                .and_then(Option::as_deref),
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

    pub(super) fn redirect(
        &self,
        r: &crate::model::virtual_service::HttpRedirect,
        m: Option<&HttpRouteMatch>,
        view: &View<'_>,
    ) -> Redirect {
        let req = view.req;
        let scheme = r.scheme.clone().unwrap_or_else(|| view.scheme.to_string());
        // Envoy keeps the request's Host (port included) unless the redirect
        // names an authority or a port; a port override replaces the port.
        let base = r.authority.clone().unwrap_or_else(|| req.host.clone());
        let parts = hosts::split_authority(&base);
        let written_port = parts.port_number().map(u32::from);
        let bare = parts.host_as_written.to_string();
        let port = match (r.port, r.derive_port) {
            (Some(p), _) if p != 0 => Some(p),
            (_, Some(crate::model::virtual_service::RedirectPortSelection::FromRequestPort)) => {
                Some(view.port)
            }
            _ => written_port,
        };
        let port = match port {
            Some(80) if scheme == "http" => None,
            Some(443) if scheme == "https" => None,
            // A scheme change drops the old scheme's default port.
            Some(80) if view.scheme == "http" && written_port == Some(80) => None,
            p => p,
        };
        let host = if bare.contains(':') && !bare.starts_with('[') && hosts::is_ip_literal(&bare) {
            format!("[{bare}]")
        } else {
            bare
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
        if let Some(p) = port {
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
