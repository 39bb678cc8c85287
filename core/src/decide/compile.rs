//! Configuration to compiled routing tables: VirtualServices with their
//! hosts and gateways resolved, delegates merged in, every match condition
//! compiled once.

use crate::decide::decision::HeaderOps;
use crate::hosts::{self, GatewayRef};
use crate::matching::regex::Re2Regex;
use crate::model::common::StringMatch;
use crate::model::virtual_service::{
    HttpMatchRequest, HttpRoute, L4MatchAttributes, TlsMatchAttributes, VirtualService,
};
use crate::model::{Config, Resource};
use crate::policy::resource_order;
use crate::registry::Visibility;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One compiled string condition.
#[derive(Debug)]
pub(crate) enum Cond {
    Exact(String),
    Prefix(String),
    Regex(Re2Regex),
    /// `{}` or `regex: "*"`: the header or parameter is present.
    Present,
    /// A pattern that does not compile: never matches (validation reports it).
    Invalid(String),
}

impl Cond {
    pub fn from_string_match(m: &StringMatch, star_is_presence: bool) -> Cond {
        if let Some(e) = &m.exact {
            Cond::Exact(e.clone())
        } else if let Some(p) = &m.prefix {
            Cond::Prefix(p.clone())
        } else if let Some(r) = &m.regex {
            if star_is_presence && r == "*" {
                return Cond::Present;
            }
            match Re2Regex::new(r) {
                Ok(re) => Cond::Regex(re),
                Err(e) => Cond::Invalid(e.to_string()),
            }
        } else {
            Cond::Present
        }
    }

    /// Whether `value` satisfies the condition (case-sensitive).
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Cond::Exact(e) => value == e,
            Cond::Prefix(p) => value.starts_with(p.as_str()),
            Cond::Regex(re) => re.is_match(value),
            Cond::Present => true,
            Cond::Invalid(_) => false,
        }
    }

    /// ASCII case-insensitive form for exact and prefix (ignoreUriCase).
    pub fn matches_ignore_case(&self, value: &str) -> bool {
        match self {
            Cond::Exact(e) => value.eq_ignore_ascii_case(e),
            Cond::Prefix(p) => {
                value.len() >= p.len()
                    && value.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            }
            other => other.matches(value),
        }
    }

    /// How the condition reads in an explanation.
    pub fn describe(&self) -> String {
        match self {
            Cond::Exact(e) => format!("exact {e:?}"),
            Cond::Prefix(p) => format!("prefix {p:?}"),
            Cond::Regex(re) => format!("regex {:?}", re.as_str()),
            Cond::Present => "present".into(),
            Cond::Invalid(e) => format!("invalid pattern ({e})"),
        }
    }

    pub fn is_prefix_root(&self) -> bool {
        matches!(self, Cond::Prefix(p) if p == "/" || p.is_empty())
    }
}

/// A header name a match reads, lower-cased, with the pseudo-header it
/// names (`:authority`/`host`, `:method`, `:path`, `:scheme`) found once at
/// compile time rather than per request.
#[derive(Debug)]
pub(crate) struct HeaderKey {
    pub name: String,
    pub pseudo: Option<Pseudo>,
}

/// A header read from the request line rather than the header list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pseudo {
    Authority,
    Method,
    Path,
    Scheme,
}

impl HeaderKey {
    fn new(name: &str) -> HeaderKey {
        let name = name.to_ascii_lowercase();
        let pseudo = match name.as_str() {
            ":authority" | "host" => Some(Pseudo::Authority),
            ":method" => Some(Pseudo::Method),
            ":path" => Some(Pseudo::Path),
            ":scheme" => Some(Pseudo::Scheme),
            _ => None,
        };
        HeaderKey { name, pseudo }
    }
}

impl std::fmt::Display for HeaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// One compiled HTTPMatchRequest.
#[derive(Debug)]
pub(crate) struct CompiledMatch {
    pub index: usize,
    pub uri: Option<Cond>,
    pub ignore_uri_case: bool,
    pub scheme: Option<Cond>,
    pub method: Option<Cond>,
    pub authority: Option<Cond>,
    pub headers: Vec<(HeaderKey, Cond)>,
    pub without_headers: Vec<(HeaderKey, Cond)>,
    pub query_params: Vec<(String, Cond)>,
    pub port: Option<u32>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    pub gateways: Vec<GatewayRef>,
}

impl CompiledMatch {
    fn compile(index: usize, m: &HttpMatchRequest, vs_namespace: &str) -> CompiledMatch {
        let pairs = |map: &BTreeMap<String, StringMatch>, star: bool| {
            map.iter()
                .map(|(k, v)| (HeaderKey::new(k), Cond::from_string_match(v, star)))
                .collect::<Vec<_>>()
        };
        CompiledMatch {
            index,
            uri: m.uri.as_ref().map(|u| Cond::from_string_match(u, false)),
            ignore_uri_case: m.ignore_uri_case.unwrap_or(false),
            scheme: m.scheme.as_ref().map(|u| Cond::from_string_match(u, false)),
            method: m.method.as_ref().map(|u| Cond::from_string_match(u, false)),
            authority: m
                .authority
                .as_ref()
                .map(|u| Cond::from_string_match(u, false)),
            headers: pairs(&m.headers, false),
            without_headers: pairs(&m.without_headers, true),
            query_params: m
                .query_params
                .iter()
                .map(|(k, v)| (k.clone(), Cond::from_string_match(v, true)))
                .collect(),
            port: m.port.filter(|p| *p != 0),
            source_labels: m.source_labels.clone(),
            source_namespace: m.source_namespace.clone().filter(|s| !s.is_empty()),
            gateways: m
                .gateways
                .iter()
                .map(|g| hosts::resolve_gateway_ref(g, vs_namespace).gateway)
                .collect(),
        }
    }

    /// A catch-all for gateway merging: path prefix `/` (or none) or regex
    /// `.*`, and no header or query conditions.
    pub fn is_catch_all(&self) -> bool {
        let path_all = match &self.uri {
            None => true,
            Some(c) if c.is_prefix_root() => true,
            Some(Cond::Regex(re)) => re.as_str() == ".*",
            _ => false,
        };
        path_all
            && self.headers.is_empty()
            && self.without_headers.is_empty()
            && self.query_params.is_empty()
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
    pub matches: Vec<CompiledMatch>,
    pub route: Arc<HttpRoute>,
    /// `route[]` destinations, resolved.
    pub dests: Vec<PreparedDest>,
    /// The retry policy in force (Istio's default when the rule has none).
    pub retries: Arc<crate::decide::decision::Retries>,
    pub timeout: Option<Arc<str>>,
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
    fn compile(route: &HttpRoute) -> Option<RewritePlan> {
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
                let re = Re2Regex::new_search(rr.r#match.as_deref()?).ok()?;
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
        matches: Vec<CompiledMatch>,
        route: HttpRoute,
        domain: &str,
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
        let retries = crate::policy::effective_retries(route.retries.as_ref());
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
            cors: route.cors_policy.clone().map(Arc::new),
            route_headers: (Arc::new(route_headers.0), Arc::new(route_headers.1)),
            forward_headers: (Arc::new(forward_headers.0), Arc::new(forward_headers.1)),
            index,
            id: 0,
            vs,
            vs_namespace,
            delegated_from,
            name: route.name.as_deref().map(Arc::from),
            matches,
            timeout: route.timeout.as_deref().map(Arc::from),
            rewrite: RewritePlan::compile(&route),
            route: Arc::new(route),
            dests,
            retries: Arc::new(retries),
        }
    }

    pub fn is_catch_all(&self) -> bool {
        self.matches.is_empty()
            || self
                .matches
                .iter()
                .any(|m| m.is_catch_all() && m.port.is_none())
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

/// Which L4 match attributes a TLS or TCP rule has.
#[derive(Debug)]
pub(crate) struct CompiledL4Match {
    pub index: usize,
    pub sni_hosts: Vec<String>,
    pub destination_subnets: Vec<String>,
    pub port: Option<u32>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    pub gateways: Vec<GatewayRef>,
}

impl CompiledL4Match {
    fn from_tcp(index: usize, m: &L4MatchAttributes, ns: &str) -> Self {
        CompiledL4Match {
            index,
            sni_hosts: Vec::new(),
            destination_subnets: m.destination_subnets.clone(),
            port: m.port.filter(|p| *p != 0),
            source_labels: m.source_labels.clone(),
            source_namespace: m.source_namespace.clone().filter(|s| !s.is_empty()),
            gateways: m
                .gateways
                .iter()
                .map(|g| hosts::resolve_gateway_ref(g, ns).gateway)
                .collect(),
        }
    }

    fn from_tls(index: usize, m: &TlsMatchAttributes, ns: &str) -> Self {
        CompiledL4Match {
            index,
            sni_hosts: m.sni_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            destination_subnets: m.destination_subnets.clone(),
            port: m.port.filter(|p| *p != 0),
            source_labels: m.source_labels.clone(),
            source_namespace: m.source_namespace.clone().filter(|s| !s.is_empty()),
            gateways: m
                .gateways
                .iter()
                .map(|g| hosts::resolve_gateway_ref(g, ns).gateway)
                .collect(),
        }
    }
}

/// One TLS or TCP rule.
#[derive(Debug)]
pub(crate) struct CompiledL4Route {
    pub index: usize,
    pub matches: Vec<CompiledL4Match>,
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
    pub http_index: super::index::RouteIndex,
    pub tls: Vec<CompiledL4Route>,
    pub tcp: Vec<CompiledL4Route>,
}

impl CompiledVs {
    pub fn bound_to(&self, gateway: &GatewayRef) -> bool {
        self.gateways.contains(gateway)
    }
}

/// Compiles every VirtualService that has hosts (delegates are merged into
/// their roots), in Istio's order: creation time, name, namespace.
pub(crate) fn compile_virtual_services(config: &Config, domain: &str) -> Vec<CompiledVs> {
    let mut list: Vec<&Resource<VirtualService>> = config.virtual_services.iter().collect();
    list.sort_by(|a, b| resource_order(a, b));
    list.iter()
        .filter(|vs| !vs.spec.hosts.is_empty())
        .filter(|vs| !crate::limits::exceeds_rules_per_host(vs, config))
        .map(|vs| compile_one(vs, config, domain))
        .collect()
}

fn compile_one(vs: &Resource<VirtualService>, config: &Config, domain: &str) -> CompiledVs {
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
    let mut http = Vec::new();
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
                    .map(|(j, m)| CompiledMatch::compile(j, m, ns))
                    .collect(),
                route.clone(),
                domain,
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
                if !Visibility::from_export_to(&delegate.spec.export_to, dns).visible_in(ns) {
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
                            .map(|(k, m)| CompiledMatch::compile(k, m, dns))
                            .collect(),
                        merged,
                        domain,
                    ));
                }
            }
        }
    }
    let l4 =
        |i: usize,
         ms: Vec<CompiledL4Match>,
         ds: &[crate::model::virtual_service::RouteDestination]| CompiledL4Route {
            index: i,
            matches: ms,
            destinations: ds.to_vec(),
        };
    let http_index = super::index::RouteIndex::build(&http);
    CompiledVs {
        key,
        namespace,
        http_index,
        visibility: Visibility::from_export_to(&vs.spec.export_to, ns),
        hosts: vs
            .spec
            .hosts
            .iter()
            .map(|h| hosts::resolve_short_name(h, ns, domain).to_ascii_lowercase())
            .collect(),
        gateways,
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
                        .map(|(j, m)| CompiledL4Match::from_tls(j, m, ns))
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
                        .map(|(j, m)| CompiledL4Match::from_tcp(j, m, ns))
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
