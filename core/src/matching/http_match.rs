//! One `HTTPMatchRequest`, compiled: the conditions Istio applies when it
//! builds a proxy's route table (port, gateways, source), and the ones
//! Envoy checks per request (uri, scheme, method, authority, headers,
//! query parameters), each with the reason it fails when explaining.

use super::gateway::GatewayMatcher;
use super::header::HeaderMatcher;
use super::port::PortMatcher;
use super::query::{query_param, QueryParamMatcher};
use super::regex::RegexCache;
use super::source::SourceMatcher;
use super::string_match::StringMatcher;
use crate::decide::request::Request;
use crate::hosts::GatewayRef;
use crate::model::virtual_service::HttpMatchRequest;
use std::collections::BTreeMap;

/// One compiled HTTPMatchRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRouteMatch {
    /// Position in the rule's `match` list.
    pub index: usize,
    /// `uri`, case-insensitive for exact and prefix when `ignore_uri_case`.
    pub uri: Option<StringMatcher>,
    /// `ignoreUriCase`.
    pub ignore_uri_case: bool,
    /// `scheme`.
    pub scheme: Option<StringMatcher>,
    /// `method`.
    pub method: Option<StringMatcher>,
    /// `authority` (the Host as sent, port included).
    pub authority: Option<StringMatcher>,
    /// `headers`.
    pub headers: Vec<HeaderMatcher>,
    /// `withoutHeaders` (inverted matchers).
    pub without_headers: Vec<HeaderMatcher>,
    /// `queryParams`.
    pub query_params: Vec<QueryParamMatcher>,
    /// `port`.
    pub port: PortMatcher,
    /// `sourceLabels` and `sourceNamespace`.
    pub source: SourceMatcher,
    /// `gateways`.
    pub gateways: GatewayMatcher,
}

/// The parts of a request the per-request conditions read: the request,
/// and its path, query and scheme as the router sees them (path cut at
/// `?`/`#` after normalization).
#[derive(Debug, Clone, Copy)]
pub struct HttpRequestParts<'r> {
    /// The request (method, Host, headers).
    pub request: &'r Request,
    /// The path routes match.
    pub path: &'r str,
    /// The query, without `?` (empty when none).
    pub query: &'r str,
    /// The scheme (`http` when the request names none).
    pub scheme: &'r str,
}

impl HttpRouteMatch {
    /// Compiles match block `index` of a rule in a VirtualService in
    /// `vs_namespace` (gateway names resolve from it).
    pub fn compile(index: usize, m: &HttpMatchRequest, vs_namespace: &str) -> HttpRouteMatch {
        HttpRouteMatch::compile_in(index, m, vs_namespace, &mut RegexCache::default())
    }

    /// [`HttpRouteMatch::compile`], regexes taken from `regexes` (one
    /// program per distinct pattern across a configuration).
    pub(crate) fn compile_in(
        index: usize,
        m: &HttpMatchRequest,
        vs_namespace: &str,
        regexes: &mut RegexCache,
    ) -> HttpRouteMatch {
        let ignore_uri_case = m.ignore_uri_case.unwrap_or(false);
        let mut plain = |s: &Option<crate::model::common::StringMatch>| {
            s.as_ref()
                .map(|s| StringMatcher::from_istio_in(s, false, regexes))
        };
        let uri = plain(&m.uri).map(|u| u.ignoring_case(ignore_uri_case));
        let scheme = plain(&m.scheme);
        let method = plain(&m.method);
        let authority = plain(&m.authority);
        HttpRouteMatch {
            index,
            uri,
            ignore_uri_case,
            scheme,
            method,
            authority,
            headers: (m.headers.iter())
                .map(|(k, v)| HeaderMatcher::new_in(k, v, false, regexes))
                .collect(),
            without_headers: (m.without_headers.iter())
                .map(|(k, v)| HeaderMatcher::new_in(k, v, true, regexes))
                .collect(),
            query_params: (m.query_params.iter())
                .map(|(k, v)| QueryParamMatcher {
                    name: k.clone(),
                    matcher: StringMatcher::from_istio_in(v, true, regexes),
                })
                .collect(),
            port: PortMatcher::new(m.port),
            source: SourceMatcher::new(&m.source_labels, m.source_namespace.as_deref()),
            gateways: GatewayMatcher::new(&m.gateways, vs_namespace),
        }
    }

    /// A catch-all for gateway merging and route generation: path prefix
    /// `/` (or none) or regex `.*`, and no header or query conditions.
    /// `authority`, `method` and `scheme` are header conditions too: Istio
    /// judges the Envoy route, where they are `:authority`, `:method` and
    /// `:scheme` header matchers (route.go `IsCatchAllRoute`).
    pub fn is_catch_all(&self) -> bool {
        let path_all = match &self.uri {
            None => true,
            Some(c) if c.is_prefix_root() => true,
            Some(StringMatcher::Regex(re)) => re.as_str() == ".*",
            _ => false,
        };
        path_all
            && self.headers.is_empty()
            && self.without_headers.is_empty()
            && self.query_params.is_empty()
            && self.authority.is_none()
            && self.method.is_none()
            && self.scheme.is_none()
    }

    /// Whether the match exists on a proxy (`gateway`, listening on
    /// `listener_port`, for a caller with `labels` (`None` at a gateway) in
    /// `caller_namespace`): the conditions Istio applies when it builds
    /// the route table. The reason when not. A match naming gateways
    /// exists on those whatever its source conditions.
    pub fn exists_on(
        &self,
        gateway: &GatewayRef,
        listener_port: u32,
        labels: Option<&BTreeMap<String, String>>,
        caller_namespace: &str,
    ) -> Result<(), String> {
        if let Some(p) = self.port.port.filter(|_| !self.port.holds(listener_port)) {
            return Err(format!(
                "port {p} is not the port the request arrived on ({listener_port})"
            ));
        }
        if !self.gateways.is_empty() {
            if !self.gateways.holds(gateway) {
                return Err(format!(
                    "gateways {:?} do not include {}",
                    self.gateways
                        .gateways
                        .iter()
                        .map(|g| g.key())
                        .collect::<Vec<_>>(),
                    gateway.key()
                ));
            }
            return Ok(());
        }
        if !self.source.labels_hold(labels) {
            return Err(format!(
                "sourceLabels {:?} are not all on the caller",
                self.source.labels
            ));
        }
        if let Some(ns) = self.source.namespace.as_ref() {
            if ns != caller_namespace {
                return Err(format!(
                    "sourceNamespace {ns:?} is not the caller's namespace {caller_namespace:?}"
                ));
            }
        }
        Ok(())
    }

    /// [`HttpRouteMatch::exists_on`] for a sidecar in `namespace` with
    /// `labels`, listening on `port`.
    pub fn exists_on_sidecar(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        port: u32,
    ) -> bool {
        self.exists_on(&GatewayRef::Mesh, port, Some(labels), namespace)
            .is_ok()
    }

    /// The per-request conditions; the first failing one when not (the
    /// reason is written only when `explain`: deciding must not format).
    /// `uri_proven`: the uri condition is already known to hold.
    pub fn matches_request(
        &self,
        r: &HttpRequestParts<'_>,
        explain: bool,
        uri_proven: bool,
    ) -> Result<(), String> {
        let reason = |f: &dyn Fn() -> String| if explain { f() } else { String::new() };
        let req = r.request;
        if let Some(uri) = self.uri.as_ref().filter(|_| !uri_proven) {
            if !uri.matches(r.path) {
                return Err(reason(&|| {
                    format!("uri {} does not match path {:?}", uri.describe(), r.path)
                }));
            }
        }
        if let Some(c) = &self.scheme {
            if !c.matches(r.scheme) {
                return Err(reason(&|| {
                    format!("scheme {} does not match {:?}", c.describe(), r.scheme)
                }));
            }
        }
        if let Some(c) = &self.method {
            if !c.matches(&req.method) {
                return Err(reason(&|| {
                    format!("method {} does not match {:?}", c.describe(), req.method)
                }));
            }
        }
        if let Some(c) = &self.authority {
            if !c.matches(&req.host) {
                return Err(reason(&|| {
                    format!("authority {} does not match {:?}", c.describe(), req.host)
                }));
            }
        }
        for h in &self.headers {
            let (name, c) = (&h.name, &h.matcher);
            match h.name.value_in(req) {
                Some(v) if c.matches(&v) => {}
                Some(v) => {
                    return Err(reason(&|| {
                        format!("header {name} {} does not match {v:?}", c.describe())
                    }))
                }
                None => {
                    return Err(reason(&|| {
                        format!("header {name} is absent (needs {})", c.describe())
                    }))
                }
            }
        }
        for h in &self.without_headers {
            if !h.matches(req) {
                return Err(reason(&|| {
                    format!(
                        "withoutHeaders {} {} matches, so the rule does not",
                        h.name,
                        h.matcher.describe()
                    )
                }));
            }
        }
        for q in &self.query_params {
            let (key, c) = (&q.name, &q.matcher);
            match query_param(r.query, key) {
                Some(v) if c.matches(v) => {}
                Some(v) => {
                    return Err(reason(&|| {
                        format!(
                            "query parameter {key} {} does not match {v:?}",
                            c.describe()
                        )
                    }))
                }
                None => return Err(reason(&|| format!("query parameter {key} is absent"))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(yaml_json: &str) -> HttpRouteMatch {
        let m: HttpMatchRequest = serde_json::from_str(yaml_json).unwrap();
        HttpRouteMatch::compile(0, &m, "default")
    }

    fn parts<'r>(req: &'r Request, path: &'r str, query: &'r str) -> HttpRequestParts<'r> {
        HttpRequestParts {
            request: req,
            path,
            query,
            scheme: "http",
        }
    }

    #[test]
    fn every_runtime_condition_must_hold() {
        let m = compiled(
            r#"{"uri": {"prefix": "/API"}, "ignoreUriCase": true, "method": {"exact": "GET"},
                "headers": {"end-user": {"exact": "jason"}}, "withoutHeaders": {"x-skip": {}},
                "queryParams": {"v": {"regex": "[0-9]+"}}}"#,
        );
        let mut req = Request::new("reviews");
        req.headers.append("end-user", "jason");
        assert_eq!(
            m.matches_request(&parts(&req, "/api/x", "v=12"), true, false),
            Ok(())
        );
        let why = m.matches_request(&parts(&req, "/api/x", "v=x"), true, false);
        assert_eq!(
            why,
            Err(r#"query parameter v regex "[0-9]+" does not match "x""#.to_string())
        );
        assert!(m
            .matches_request(&parts(&req, "/other", "v=1"), false, false)
            .is_err());
        assert_eq!(
            m.matches_request(&parts(&req, "/other", "v=1"), false, true),
            Ok(()),
            "a uri the route index proved is not checked again"
        );
        req.headers.append("x-skip", "1");
        assert!(m
            .matches_request(&parts(&req, "/api", "v=1"), false, false)
            .is_err());
    }

    #[test]
    fn build_time_conditions_decide_where_the_match_exists() {
        let m = compiled(r#"{"port": 9080, "sourceLabels": {"app": "a"}}"#);
        let labels: BTreeMap<String, String> = [("app".to_string(), "a".to_string())].into();
        assert!(m.exists_on_sidecar("default", &labels, 9080));
        assert!(!m.exists_on_sidecar("default", &labels, 80));
        assert!(!m.exists_on_sidecar("default", &BTreeMap::new(), 9080));
        let gw = compiled(r#"{"gateways": ["web"], "sourceLabels": {"app": "a"}}"#);
        let web = GatewayRef::Gateway {
            namespace: "default".into(),
            name: "web".into(),
        };
        assert_eq!(gw.exists_on(&web, 80, None, "x"), Ok(()));
        assert!(gw
            .exists_on(&GatewayRef::Mesh, 80, Some(&labels), "x")
            .is_err());
    }

    #[test]
    fn catch_all_is_root_prefix_or_dot_star_without_other_conditions() {
        assert!(compiled("{}").is_catch_all());
        assert!(compiled(r#"{"uri": {"prefix": "/"}}"#).is_catch_all());
        assert!(compiled(r#"{"uri": {"regex": ".*"}}"#).is_catch_all());
        assert!(!compiled(r#"{"uri": {"prefix": "/a"}}"#).is_catch_all());
        assert!(!compiled(r#"{"headers": {"a": {}}}"#).is_catch_all());
        assert!(!compiled(r#"{"authority": {"prefix": "a"}}"#).is_catch_all());
        assert!(!compiled(r#"{"method": {"exact": "GET"}}"#).is_catch_all());
        assert!(!compiled(r#"{"scheme": {"exact": "http"}}"#).is_catch_all());
    }
}
