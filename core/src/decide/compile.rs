//! Configuration to compiled routing tables: VirtualServices with their
//! hosts and gateways resolved, delegates merged in, every match condition
//! compiled once.

use super::decision::{Fault, FaultAbort, FaultDelay, HeaderOps, Retries};
use super::index::RouteIndex;
use super::retries::effective_retries;
use crate::destination_rules::resource_order;
use crate::hosts::{self, GatewayRef};
use crate::matching::regex::{Re2Regex, RegexCache};
use crate::matching::{HttpRouteMatch, L4RouteMatch};
use crate::model::common::StringMatch;
use crate::model::virtual_service::{HttpMatchRequest, HttpRoute, VirtualService};
use crate::model::{Config, Resource};
use crate::registry::Visibility;
use std::sync::Arc;

/// What the routes of one configuration share while they compile:
/// regexes by pattern text, and the header operations of every route that
/// has none (most), so a large mesh holds one copy of each.
#[derive(Debug, Default)]
pub(crate) struct SharedParts {
    regexes: RegexCache,
    no_header_ops: Arc<HeaderOps>,
}

impl SharedParts {
    fn header_ops(&self, ops: HeaderOps) -> Arc<HeaderOps> {
        if ops == HeaderOps::default() {
            self.no_header_ops.clone()
        } else {
            Arc::new(ops)
        }
    }
}

/// A route destination with its names resolved once.
#[derive(Debug)]
pub(crate) struct PreparedDest {
    /// Host, short name expanded from the rule's namespace, lower-cased.
    pub host: Arc<str>,
    pub subset: Option<Arc<str>>,
    /// `destination.port.number`, when given.
    pub port: Option<u32>,
    /// Configured weight (absent = 0).
    pub weight: u32,
    /// Which distinct (host, subset, port) this is in the mesh, for the
    /// per-namespace destination cache (set when the mesh is compiled).
    pub key: usize,
}

/// One HTTP route after delegation.
#[derive(Debug)]
pub(crate) struct CompiledHttpRoute {
    /// Index in the `http` list of `vs`.
    pub index: usize,
    /// Position among all routes of the table (set by `Mesh::compile_with`);
    /// indexes `NamespaceCache::routes`.
    pub id: usize,
    /// The VirtualService the rule is written in (the delegate for delegated rules).
    pub vs: Arc<str>,
    pub vs_namespace: Arc<str>,
    pub delegated_from: Option<Arc<str>>,
    pub name: Option<Arc<str>>,
    pub matches: Vec<HttpRouteMatch>,
    pub route: Arc<HttpRoute>,
    /// `route[]` destinations, resolved.
    pub dests: Vec<PreparedDest>,
    /// The retry policy in force (Istio's default when the rule has none).
    pub retries: Arc<Retries>,
    /// The route's timeout. An unparsable one is a validation error
    /// (`check` reports it, Istio refuses the resource); the table routes
    /// as if none were set.
    pub timeout: Option<std::time::Duration>,
    /// The route's fault injection as decisions carry it, read once
    /// (`None` when it injects nothing).
    pub fault: Option<Arc<Fault>>,
    /// The route's CORS policy, shared with decisions.
    pub cors: Option<Arc<crate::model::virtual_service::CorsPolicy>>,
    /// Route-level request and response header operations (redirects and
    /// direct responses).
    pub route_headers: (Arc<HeaderOps>, Arc<HeaderOps>),
    /// What forwarded requests get: route level, then a lone destination's.
    pub forward_headers: (Arc<HeaderOps>, Arc<HeaderOps>),
    /// How a forwarded request's path and authority change; `None` when
    /// they do not.
    pub rewrite: Option<RewritePlan>,
}

/// A route's `rewrite` (and `:authority`/`host` header operations), read
/// once at compile time.
#[derive(Debug)]
pub(crate) struct RewritePlan {
    pub authority: Option<String>,
    /// `rewrite.uri`: replaces the matched prefix.
    pub uri: Option<String>,
    /// `rewrite.uriRegexRewrite`: every match of the regex replaced, with
    /// the replacement in the regex crate's syntax (`\1` -> `${1}`). An
    /// invalid regex (rejected by validation) rewrites nothing.
    pub uri_regex: Option<(Re2Regex, String)>,
}

impl RewritePlan {
    fn compile(route: &HttpRoute, shared: &mut SharedParts) -> Option<RewritePlan> {
        let rw = route.rewrite.as_ref();
        let mut authority = rw.and_then(|r| r.authority.clone());
        if authority.is_none() {
            if let Some(ops) = route.headers.as_ref().and_then(|h| h.request.as_ref()) {
                authority = ops
                    .set
                    .get(":authority")
                    .or_else(|| ops.set.get("host"))
                    .or_else(|| ops.add.get(":authority"))
                    .or_else(|| ops.add.get("host"))
                    .cloned();
            }
        }
        let uri = rw.and_then(|r| r.uri.clone());
        let uri_regex = rw
            .filter(|r| r.uri.is_none())
            .and_then(|r| r.uri_regex_rewrite.as_ref())
            .and_then(|rr| {
                let re = shared.regexes.search(rr.r#match.as_deref()?).ok()?;
                Some((re, go_style_groups(rr.rewrite.as_deref().unwrap_or(""))))
            });
        if authority.is_none() && uri.is_none() && uri_regex.is_none() {
            return None;
        }
        Some(RewritePlan {
            authority,
            uri,
            uri_regex,
        })
    }
}

/// Envoy's `\1` group references to the regex crate's `${1}`.
fn go_style_groups(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

impl CompiledHttpRoute {
    #[allow(clippy::too_many_arguments)]
    fn new(
        index: usize,
        vs: Arc<str>,
        vs_namespace: Arc<str>,
        delegated_from: Option<Arc<str>>,
        matches: Vec<HttpRouteMatch>,
        route: Arc<HttpRoute>,
        domain: &str,
        shared: &mut SharedParts,
    ) -> Self {
        let dests: Vec<PreparedDest> = route
            .route
            .iter()
            .filter_map(|rd| {
                let d = rd.destination.as_ref()?;
                Some(PreparedDest {
                    host: Arc::from(
                        hosts::resolve_short_name(
                            d.host.as_deref().unwrap_or(""),
                            &vs_namespace,
                            domain,
                        )
                        .to_ascii_lowercase(),
                    ),
                    subset: d.subset.as_deref().map(Arc::from),
                    port: d.port.as_ref().and_then(|p| p.number).filter(|p| *p != 0),
                    weight: rd.weight.unwrap_or(0).max(0) as u32,
                    key: usize::MAX,
                })
            })
            .collect();
        let retries = effective_retries(route.retries.as_ref());
        let route_headers = header_ops(route.headers.as_ref());
        let mut forward_headers = route_headers.clone();
        if dests.len() <= 1 {
            if let Some(h) = route.route.first().and_then(|rd| rd.headers.as_ref()) {
                let (rq, rs) = header_ops(Some(h));
                merge_ops(&mut forward_headers.0, rq);
                merge_ops(&mut forward_headers.1, rs);
            }
        }
        CompiledHttpRoute {
            fault: route.fault.as_ref().and_then(compile_fault).map(Arc::new),
            cors: route.cors_policy.clone().map(Arc::new),
            route_headers: (
                shared.header_ops(route_headers.0),
                shared.header_ops(route_headers.1),
            ),
            forward_headers: (
                shared.header_ops(forward_headers.0),
                shared.header_ops(forward_headers.1),
            ),
            index,
            id: 0,
            vs,
            vs_namespace,
            delegated_from,
            name: route.name.as_deref().map(Arc::from),
            matches,
            timeout: (route.timeout.as_deref())
                .and_then(|text| crate::duration::parse_duration(text).ok()),
            rewrite: RewritePlan::compile(&route, shared),
            route,
            dests,
            retries: Arc::new(retries),
        }
    }

    pub fn is_catch_all(&self) -> bool {
        self.matches.is_empty()
            || self
                .matches
                .iter()
                .any(|m| m.is_catch_all() && m.port.port.is_none())
    }
}

fn header_ops(h: Option<&crate::model::virtual_service::Headers>) -> (HeaderOps, HeaderOps) {
    let conv = |o: Option<&crate::model::virtual_service::HeaderOperations>| {
        o.map(|o| HeaderOps {
            set: o.set.clone(),
            add: o.add.clone(),
            remove: o.remove.clone(),
        })
        .unwrap_or_default()
    };
    match h {
        Some(h) => (conv(h.request.as_ref()), conv(h.response.as_ref())),
        None => (HeaderOps::default(), HeaderOps::default()),
    }
}

/// Destination-level operations after route-level ones (a destination `set` wins).
fn merge_ops(into: &mut HeaderOps, more: HeaderOps) {
    into.set.extend(more.set);
    into.add.extend(more.add);
    for r in more.remove {
        if !into.remove.contains(&r) {
            into.remove.push(r);
        }
    }
}

/// One TLS or TCP rule.
#[derive(Debug)]
pub(crate) struct CompiledL4Route {
    pub index: usize,
    pub matches: Vec<L4RouteMatch>,
    pub destinations: Vec<crate::model::virtual_service::RouteDestination>,
}

/// One VirtualService, compiled.
#[derive(Debug)]
pub(crate) struct CompiledVs {
    pub key: Arc<str>,
    pub namespace: Arc<str>,
    pub visibility: Visibility,
    /// Hosts, short names expanded, lower-cased.
    pub hosts: Vec<String>,
    /// Top-level gateways, resolved (`[mesh]` when none).
    pub gateways: Vec<GatewayRef>,
    pub http: Vec<CompiledHttpRoute>,
    /// Index over `http` for deciding without scanning every rule.
    pub http_index: RouteIndex,
    pub tls: Vec<CompiledL4Route>,
    pub tcp: Vec<CompiledL4Route>,
    /// Made from a Gateway API `TLSRoute` (`internal.istio.io/parent-names`):
    /// its `tls` rules also apply at TLS-terminating gateway servers.
    pub from_tls_route: bool,
}

impl CompiledVs {
    pub fn bound_to(&self, gateway: &GatewayRef) -> bool {
        self.gateways.contains(gateway)
    }
}

/// Compiles every VirtualService that has hosts (delegates are merged into
/// their roots), in Istio's order: creation time, name, namespace.
/// `default_export_to` is meshConfig.defaultVirtualServiceExportTo.
pub(crate) fn compile_virtual_services(
    config: &Config,
    domain: &str,
    default_export_to: &[String],
) -> Vec<CompiledVs> {
    let mut list: Vec<&Resource<VirtualService>> = config.virtual_services.iter().collect();
    list.sort_by(|a, b| resource_order(a, b));
    let mut shared = SharedParts::default();
    list.iter()
        .filter(|vs| !vs.spec.hosts.is_empty())
        .filter(|vs| !crate::limits::exceeds_rules_per_host(vs, config))
        .map(|vs| compile_one(vs, config, domain, default_export_to, &mut shared))
        .collect()
}

fn compile_one(
    vs: &Resource<VirtualService>,
    config: &Config,
    domain: &str,
    default_export_to: &[String],
    shared: &mut SharedParts,
) -> CompiledVs {
    let ns = vs.namespace();
    let key: Arc<str> = Arc::from(vs.key());
    let namespace: Arc<str> = Arc::from(ns);
    let gateways: Vec<GatewayRef> = if vs.spec.gateways.is_empty() {
        vec![GatewayRef::Mesh]
    } else {
        vs.spec
            .gateways
            .iter()
            .map(|g| hosts::resolve_gateway_ref(g, ns).gateway)
            .collect()
    };
    let mut http = Vec::with_capacity(vs.spec.http.len());
    for (i, route) in vs.spec.http.iter().enumerate() {
        match &route.delegate {
            None => http.push(CompiledHttpRoute::new(
                i,
                key.clone(),
                namespace.clone(),
                None,
                route
                    .r#match
                    .iter()
                    .enumerate()
                    .map(|(j, m)| HttpRouteMatch::compile_in(j, m, ns, &mut shared.regexes))
                    .collect(),
                route.clone(),
                domain,
                shared,
            )),
            Some(d) => {
                let dname = d.name.as_deref().unwrap_or("");
                let dns = d
                    .namespace
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(ns);
                let delegate = config
                    .virtual_services
                    .iter()
                    .find(|v| v.name() == dname && v.namespace() == dns && v.spec.hosts.is_empty());
                let Some(delegate) = delegate else { continue };
                if !Visibility::from_export_to_or(&delegate.spec.export_to, default_export_to, dns)
                    .visible_in(ns)
                {
                    continue;
                }
                let dkey: Arc<str> = Arc::from(delegate.key());
                let dnamespace: Arc<str> = Arc::from(dns);
                for (j, leaf) in delegate.spec.http.iter().enumerate() {
                    if leaf.delegate.is_some() {
                        continue;
                    }
                    let Some(matches) = merge_matches(&route.r#match, &leaf.r#match) else {
                        continue;
                    };
                    let merged = merge_route(route, leaf);
                    http.push(CompiledHttpRoute::new(
                        j,
                        dkey.clone(),
                        dnamespace.clone(),
                        Some(key.clone()),
                        matches
                            .iter()
                            .enumerate()
                            .map(|(k, m)| {
                                HttpRouteMatch::compile_in(k, m, dns, &mut shared.regexes)
                            })
                            .collect(),
                        Arc::new(merged),
                        domain,
                        shared,
                    ));
                }
            }
        }
    }
    let l4 =
        |i: usize,
         ms: Vec<L4RouteMatch>,
         ds: &[crate::model::virtual_service::RouteDestination]| CompiledL4Route {
            index: i,
            matches: ms,
            destinations: ds.to_vec(),
        };
    let http_index = RouteIndex::build(http.iter().map(|r| r.matches.as_slice()));
    CompiledVs {
        key,
        namespace,
        http_index,
        visibility: Visibility::from_export_to_or(&vs.spec.export_to, default_export_to, ns),
        hosts: vs
            .spec
            .hosts
            .iter()
            .map(|h| hosts::resolve_short_name(h, ns, domain).to_ascii_lowercase())
            .collect(),
        gateways,
        from_tls_route: vs
            .metadata
            .annotations
            .get(super::gateway::PARENT_NAMES_ANNOTATION)
            .is_some_and(|p| p.starts_with("TLSRoute/")),
        http,
        tls: vs
            .spec
            .tls
            .iter()
            .enumerate()
            .map(|(i, r)| {
                l4(
                    i,
                    r.r#match
                        .iter()
                        .enumerate()
                        .map(|(j, m)| L4RouteMatch::from_tls(j, m, ns))
                        .collect(),
                    &r.route,
                )
            })
            .collect(),
        tcp: vs
            .spec
            .tcp
            .iter()
            .enumerate()
            .map(|(i, r)| {
                l4(
                    i,
                    r.r#match
                        .iter()
                        .enumerate()
                        .map(|(j, m)| L4RouteMatch::from_tcp(j, m, ns))
                        .collect(),
                    &r.route,
                )
            })
            .collect(),
    }
}

/// Root and delegate matches merged (istio-api.md §2.8); `None` when the
/// delegate route must be dropped.
fn merge_matches(
    root: &[HttpMatchRequest],
    leaf: &[HttpMatchRequest],
) -> Option<Vec<HttpMatchRequest>> {
    if root.is_empty() {
        return Some(leaf.to_vec());
    }
    if leaf.is_empty() {
        return Some(root.to_vec());
    }
    let mut out = Vec::new();
    for l in leaf {
        let mut any = false;
        for r in root {
            if conflicts(r, l) {
                continue;
            }
            any = true;
            let mut m = l.clone();
            m.uri = m.uri.or_else(|| r.uri.clone());
            m.scheme = m.scheme.or_else(|| r.scheme.clone());
            m.method = m.method.or_else(|| r.method.clone());
            m.authority = m.authority.or_else(|| r.authority.clone());
            m.port = m.port.or(r.port);
            m.source_namespace = m.source_namespace.or_else(|| r.source_namespace.clone());
            if m.gateways.is_empty() {
                m.gateways = r.gateways.clone();
            }
            m.stat_prefix = m.stat_prefix.or_else(|| r.stat_prefix.clone());
            for (k, v) in &r.headers {
                m.headers.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &r.without_headers {
                m.without_headers
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            for (k, v) in &r.query_params {
                m.query_params.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &r.source_labels {
                m.source_labels
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            out.push(m);
        }
        if !any {
            return None;
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

fn string_match_conflict(root: Option<&StringMatch>, leaf: Option<&StringMatch>) -> bool {
    let (Some(r), Some(l)) = (root, leaf) else {
        return false;
    };
    if r.regex.is_some() || l.regex.is_some() {
        return true;
    }
    match (&r.exact, &r.prefix, &l.exact, &l.prefix) {
        (Some(_), _, _, Some(_)) => true,
        (Some(re), _, Some(le), _) => re != le,
        (_, Some(rp), Some(v), _) | (_, Some(rp), _, Some(v)) => !v.starts_with(rp.as_str()),
        _ => false,
    }
}

fn conflicts(r: &HttpMatchRequest, l: &HttpMatchRequest) -> bool {
    if string_match_conflict(r.uri.as_ref(), l.uri.as_ref())
        || string_match_conflict(r.scheme.as_ref(), l.scheme.as_ref())
        || string_match_conflict(r.method.as_ref(), l.method.as_ref())
        || string_match_conflict(r.authority.as_ref(), l.authority.as_ref())
    {
        return true;
    }
    for (k, lv) in &l.headers {
        if string_match_conflict(r.headers.get(k), Some(lv)) {
            return true;
        }
    }
    for (k, lv) in &l.without_headers {
        if string_match_conflict(r.without_headers.get(k), Some(lv)) {
            return true;
        }
    }
    for (k, lv) in &l.query_params {
        if string_match_conflict(r.query_params.get(k), Some(lv)) {
            return true;
        }
    }
    if r.ignore_uri_case.unwrap_or(false) != l.ignore_uri_case.unwrap_or(false) {
        return true;
    }
    if let (Some(rp), Some(lp)) = (r.port, l.port) {
        if rp != lp {
            return true;
        }
    }
    if let Some(rns) = r.source_namespace.as_deref().filter(|s| !s.is_empty()) {
        if l.source_namespace.as_deref() != Some(rns) {
            return true;
        }
    }
    for (k, v) in &l.source_labels {
        if r.source_labels.get(k).is_some_and(|rv| rv != v) {
            return true;
        }
    }
    if !r.gateways.is_empty()
        && !l.gateways.is_empty()
        && !l.gateways.iter().all(|g| r.gateways.contains(g))
    {
        return true;
    }
    false
}

/// The delegate's fields where set, the root's otherwise (istio-api.md §2.8).
fn merge_route(root: &HttpRoute, leaf: &HttpRoute) -> HttpRoute {
    let mut m = leaf.clone();
    m.rewrite = m.rewrite.or_else(|| root.rewrite.clone());
    m.direct_response = m.direct_response.or_else(|| root.direct_response.clone());
    m.timeout = m.timeout.or_else(|| root.timeout.clone());
    m.retries = m.retries.or_else(|| root.retries.clone());
    m.fault = m.fault.or_else(|| root.fault.clone());
    if m.mirror.is_none() && m.mirrors.is_empty() {
        m.mirror = root.mirror.clone();
        m.mirrors = root.mirrors.clone();
        m.mirror_percentage = root.mirror_percentage.clone();
        m.mirror_percent = root.mirror_percent;
    }
    m.cors_policy = m.cors_policy.or_else(|| root.cors_policy.clone());
    m.headers = m.headers.or_else(|| root.headers.clone());
    m.name = match (&root.name, &leaf.name) {
        (Some(r), Some(l)) => Some(format!("{r}-{l}")),
        (Some(r), None) => Some(r.clone()),
        (None, l) => l.clone(),
    };
    m
}

/// A route's fault injection as decisions carry it; `None` when it injects
/// nothing. An unparsable delay is a validation error (`check` reports it):
/// the table injects no delay for it.
fn compile_fault(f: &crate::model::virtual_service::HttpFaultInjection) -> Option<Fault> {
    let delay = f.delay.as_ref().and_then(|dl| {
        Some(FaultDelay {
            fixed_delay: crate::duration::parse_duration(dl.fixed_delay.as_deref()?).ok()?,
            percent: dl
                .percentage
                .as_ref()
                .and_then(|p| p.value)
                .or(dl.percent.map(f64::from))
                .unwrap_or(0.0),
        })
    });
    let abort = f.abort.as_ref().and_then(|a| {
        if a.http_status.is_none() && a.grpc_status.is_none() {
            return None;
        }
        Some(FaultAbort {
            http_status: a.http_status,
            grpc_status: a.grpc_status.clone(),
            percent: a.percentage.as_ref().and_then(|p| p.value).unwrap_or(0.0),
        })
    });
    (delay.is_some() || abort.is_some()).then_some(Fault { delay, abort })
}

#[cfg(test)]
mod tests {
    use crate::decide::Mesh;
    use crate::load::load_str;
    use crate::matching::regex::Re2Regex;
    use crate::matching::StringMatcher;

    fn vs(name: &str, namespace: &str, regex: &str) -> String {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  hosts: [{name}]\n  http:\n  - match:\n    - uri: {{regex: \"{regex}\"}}\n      headers: {{x-user: {{regex: \"{regex}\"}}}}\n    route: [{{destination: {{host: {name}}}}}]\n"
        )
    }

    fn regexes(mesh: &Mesh) -> Vec<&Re2Regex> {
        let mut out = Vec::new();
        for route in mesh.vs.iter().flat_map(|v| &v.http) {
            for m in &route.matches {
                let header = m.headers.iter().map(|h| &h.matcher);
                for matcher in m.uri.iter().chain(header) {
                    if let StringMatcher::Regex(re) = matcher {
                        out.push(re);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn textually_equal_regexes_share_one_compiled_program() {
        let yaml = [
            vs("a", "one", "/items/[0-9]+"),
            vs("b", "two", "/items/[0-9]+"),
            vs("c", "two", "/other/[0-9]+"),
            "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: two}\nspec:\n  ports: [{name: http, port: 80}]\n".to_string(),
        ]
        .join("---\n");
        let config = load_str(&yaml, "regex.yaml");
        assert!(
            config.messages.iter().all(|m| !m.is_error()),
            "{:?}",
            config.messages
        );
        let mesh = Mesh::compile(&config);
        let found = regexes(&mesh);
        assert_eq!(found.len(), 6);
        let same: Vec<&Re2Regex> = found
            .iter()
            .copied()
            .filter(|r| r.as_str() == "/items/[0-9]+")
            .collect();
        assert_eq!(same.len(), 4);
        assert!(same.iter().all(|r| r.shares_program_with(same[0])));
        let other = found
            .iter()
            .find(|r| r.as_str() == "/other/[0-9]+")
            .unwrap();
        assert!(!other.shares_program_with(same[0]));
        // Shared programs still decide per route.
        let mut request = crate::decide::Request::new("b.two.svc.cluster.local");
        request.path = "/items/42".into();
        request.headers.append("x-user", "/items/7");
        let d = mesh.decide(&request).unwrap();
        assert_eq!(d.outcome(), crate::decide::Outcome::Route);
    }
}
