//! The request a proxy knows when it must pick a route (spec: route-tests.md).

use crate::limits;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Which route list of a VirtualService applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP (and HTTP/2, gRPC): `http` routes.
    #[default]
    Http,
    /// TLS not terminated by the proxy: `tls` routes by SNI.
    Tls,
    /// Opaque TCP: `tcp` routes.
    Tcp,
}

/// The calling workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Caller {
    /// Namespace of the calling workload (short hosts resolve from it).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Labels of the calling workload (for `sourceLabels`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Caller {
    /// Replaces the labels with `pairs`, for a request refilled for each
    /// decision (as [`Headers::try_refill`] does for the headers); the first
    /// error stops it and is returned (the labels are then partly filled).
    // Always inlined, as `Request::refill`: it runs for every refilled request.
    #[inline(always)]
    pub fn try_refill_labels<'a, E>(
        &mut self,
        pairs: impl IntoIterator<Item = Result<(&'a str, &'a str), E>>,
    ) -> Result<(), E> {
        // Guarded: clearing even an empty BTreeMap costs ~60 instructions,
        // and most requests have no labels.
        if !self.labels.is_empty() {
            self.labels.clear();
        }
        for pair in pairs {
            let (key, value) = pair?;
            self.labels.insert(key.to_string(), value.to_string());
        }
        Ok(())
    }
}

impl Default for Caller {
    fn default() -> Self {
        Caller {
            namespace: default_namespace(),
            labels: BTreeMap::new(),
        }
    }
}

// The defaults of a request's unset fields (`Request::DEFAULT_*`), for JSON
// and for `Request::refill` alike.
fn default_namespace() -> String {
    Request::DEFAULT_NAMESPACE.to_string()
}

fn default_method() -> String {
    Request::DEFAULT_METHOD.to_string()
}

fn default_path() -> String {
    Request::DEFAULT_PATH.to_string()
}

fn default_gateway() -> String {
    Request::DEFAULT_GATEWAY.to_string()
}

/// A request's fields as borrowed text, for [`Request::refill`] (the
/// headers and the caller's labels are refilled on their own). `None`
/// takes the default a request read from JSON has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFields<'a> {
    /// The `:authority`, may carry `:port`.
    pub host: &'a str,
    /// Destination port.
    pub port: Option<u16>,
    /// HTTP method; default `GET`.
    pub method: Option<&'a str>,
    /// Path with optional `?query`; default `/`.
    pub path: Option<&'a str>,
    /// `http` or `https`.
    pub scheme: Option<&'a str>,
    /// `mesh` or `namespace/name` of a Gateway; default `mesh`.
    pub gateway: Option<&'a str>,
    /// The caller's namespace; default `default`.
    pub namespace: Option<&'a str>,
    /// Which route list applies.
    pub protocol: Protocol,
    /// TLS server name.
    pub sni: Option<&'a str>,
    /// Original destination IP.
    pub destination_ip: Option<&'a str>,
}

/// `to = value` in the buffer `to` already has.
#[inline]
fn set(to: &mut String, value: &str) {
    to.clear();
    to.push_str(value);
}

/// [`set`] for an optional field.
#[inline]
fn set_optional(to: &mut Option<String>, value: Option<&str>) {
    match (to.as_mut(), value) {
        (Some(to), Some(value)) => set(to, value),
        (None, Some(value)) => *to = Some(value.to_string()),
        (Some(_), None) => *to = None,
        (None, None) => {}
    }
}

/// Request headers: lower-cased names, each with one or more values in
/// arrival order. In JSON/YAML a map whose values are a string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one header line; the name is lower-cased.
    pub fn append(&mut self, name: &str, value: &str) {
        self.entries
            .push((name.to_ascii_lowercase(), value.to_string()));
    }

    /// Replaces every header with `pairs` (names lower-cased), reusing the
    /// buffers already held: a request refilled for each decision (as the C
    /// binding does) stops allocating once its buffers are large enough.
    pub fn refill<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let filled: Result<(), std::convert::Infallible> =
            self.try_refill(pairs.into_iter().map(Ok));
        let Ok(()) = filled;
    }

    /// [`Headers::refill`] from pairs that may fail to read; the first
    /// error stops it and is returned (the headers are then partly filled).
    pub fn try_refill<'a, E>(
        &mut self,
        pairs: impl IntoIterator<Item = Result<(&'a str, &'a str), E>>,
    ) -> Result<(), E> {
        let mut count = 0;
        let result = pairs.into_iter().try_for_each(|pair| {
            let (name, value) = pair?;
            match self.entries.get_mut(count) {
                Some((n, v)) => {
                    n.clear();
                    n.push_str(name);
                    n.make_ascii_lowercase();
                    v.clear();
                    v.push_str(value);
                }
                None => self
                    .entries
                    .push((name.to_ascii_lowercase(), value.to_string())),
            }
            count += 1;
            Ok(())
        });
        self.entries.truncate(count);
        result
    }

    /// [`Headers::try_refill`] for a caller that writes the text itself
    /// (a binding checking foreign bytes as it copies them): `count`
    /// headers, `write(index, name, value)` filling the two kept buffers
    /// of each (cleared before); the names are lower-cased after. The
    /// first error stops it and is returned (the headers are then partly
    /// filled).
    pub fn try_refill_with<E>(
        &mut self,
        count: usize,
        mut write: impl FnMut(usize, &mut String, &mut String) -> Result<(), E>,
    ) -> Result<(), E> {
        self.entries.truncate(count);
        self.entries.resize_with(count, Default::default);
        for (index, (name, value)) in self.entries.iter_mut().enumerate() {
            name.clear();
            value.clear();
            write(index, name, value)?;
            name.make_ascii_lowercase();
        }
        Ok(())
    }

    /// Builder form of [`Headers::append`].
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.append(name, value);
        self
    }

    /// The value of `name` (lower-case) as a matcher sees it: several lines
    /// joined with `,` (no space), as Envoy joins them. `None` when absent.
    pub fn get(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        let mut values = self
            .entries
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        match values.next() {
            None => Some(std::borrow::Cow::Borrowed(first)),
            Some(second) => {
                let mut joined = String::with_capacity(first.len() + second.len() + 1);
                joined.push_str(first);
                joined.push(',');
                joined.push_str(second);
                for v in values {
                    joined.push(',');
                    joined.push_str(v);
                }
                Some(std::borrow::Cow::Owned(joined))
            }
        }
    }

    /// Whether `name` (lower-case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// All header lines in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, v) in &self.entries {
            grouped.entry(n).or_default().push(v);
        }
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(grouped.len()))?;
        for (n, vs) in grouped {
            if vs.len() == 1 {
                map.serialize_entry(n, vs[0])?;
            } else {
                map.serialize_entry(n, &vs)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        impl<'de> Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header name to a value or a list of values")
            }
            fn visit_unit<E>(self) -> Result<Headers, E> {
                Ok(Headers::new())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Headers, A::Error> {
                let mut h = Headers::new();
                while let Some((k, v)) = m.next_entry::<String, OneOrMany>()? {
                    match v {
                        OneOrMany::One(s) => h.append(&k, &s),
                        OneOrMany::Many(list) => list.iter().for_each(|s| h.append(&k, s)),
                    }
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// A request to decide (spec: route-tests.md, "The request").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// The `:authority` (or the name the client connects to); may carry `:port`.
    pub host: String,
    /// Destination port; default: the port in `host`, else 80 (443 for https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Path with optional `?query`.
    #[serde(default = "default_path")]
    pub path: String,
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// `mesh` for a sidecar, or `namespace/name` of the Gateway the request entered by.
    #[serde(default = "default_gateway")]
    pub gateway: String,
    /// The calling workload.
    #[serde(default)]
    pub source: Caller,
    /// `http`, `tls` or `tcp`.
    #[serde(default)]
    pub protocol: Protocol,
    /// TLS server name, for `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Original destination IP, for `destinationSubnets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ip: Option<String>,
}

impl Request {
    /// The method of a request that sets none (route-tests.md).
    pub const DEFAULT_METHOD: &'static str = "GET";
    /// The path of a request that sets none.
    pub const DEFAULT_PATH: &'static str = "/";
    /// The gateway of a request that sets none: a sidecar's.
    pub const DEFAULT_GATEWAY: &'static str = "mesh";
    /// The caller's namespace when the request sets none.
    pub const DEFAULT_NAMESPACE: &'static str = "default";

    /// A GET of `/` to `host` from namespace `default`, through a sidecar.
    pub fn new(host: impl Into<String>) -> Self {
        Request {
            host: host.into(),
            port: None,
            method: default_method(),
            path: default_path(),
            scheme: None,
            headers: Headers::new(),
            gateway: default_gateway(),
            source: Caller::default(),
            protocol: Protocol::Http,
            sni: None,
            destination_ip: None,
        }
    }

    /// Replaces every field but the headers and the caller's labels with
    /// `fields` (unset ones take their defaults), reusing this request's
    /// buffers: a request refilled for each decision, as the bindings do,
    /// stops allocating once they are large enough. The headers have
    /// [`Headers::refill`].
    // Always inlined: a binding builds `fields` just before the call, and
    // inlined the struct is never written out (the C decision path's
    // instruction count went back down by ~100).
    #[inline(always)]
    pub fn refill(&mut self, fields: &RequestFields<'_>) {
        set(&mut self.host, fields.host);
        self.port = fields.port;
        set(
            &mut self.method,
            fields.method.unwrap_or(Request::DEFAULT_METHOD),
        );
        set(&mut self.path, fields.path.unwrap_or(Request::DEFAULT_PATH));
        set_optional(&mut self.scheme, fields.scheme);
        set(
            &mut self.gateway,
            fields.gateway.unwrap_or(Request::DEFAULT_GATEWAY),
        );
        set(
            &mut self.source.namespace,
            fields.namespace.unwrap_or(Request::DEFAULT_NAMESPACE),
        );
        self.protocol = fields.protocol;
        set_optional(&mut self.sni, fields.sni);
        set_optional(&mut self.destination_ip, fields.destination_ip);
    }

    /// Sets the path.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets the method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the caller's namespace.
    pub fn from_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.source.namespace = namespace.into();
        self
    }

    /// Sets the caller's labels.
    pub fn from_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.source.labels = labels;
        self
    }

    /// Sets the gateway (`mesh` or `namespace/name`).
    pub fn via_gateway(mut self, gateway: impl Into<String>) -> Self {
        self.gateway = gateway.into();
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the SNI.
    pub fn sni(mut self, sni: impl Into<String>) -> Self {
        self.sni = Some(sni.into());
        self
    }

    /// The scheme: as given, else `http`.
    pub fn scheme_or_default(&self) -> &str {
        self.scheme.as_deref().unwrap_or("http")
    }

    /// Checks the request against the default limits; the error says which.
    pub fn check_limits(&self) -> Result<(), super::RequestError> {
        self.check_limits_within(&limits::Limits::default())
    }

    /// Checks the request against `limits` (a mesh checks it against its
    /// [`crate::MeshOptions::limits`]); the error says which.
    #[inline]
    pub fn check_limits_within(&self, limits: &limits::Limits) -> Result<(), super::RequestError> {
        let within = self.path.len() <= limits.max_request_path_bytes
            && self.headers.len() <= limits.max_request_headers
            && self
                .headers
                .iter()
                .all(|(n, v)| n.len() + v.len() <= limits.max_request_header_bytes)
            && !self.host.is_empty();
        if within {
            Ok(())
        } else {
            Err(self.limit_error(limits))
        }
    }

    /// The first limit the request breaks, in `check_limits`'s order; kept
    /// out of line so the common, valid request pays only for the checks.
    #[cold]
    #[inline(never)]
    fn limit_error(&self, limits: &limits::Limits) -> super::RequestError {
        use super::RequestError;
        if self.path.len() > limits.max_request_path_bytes {
            return RequestError::PathTooLong {
                bytes: self.path.len(),
                limit: limits.max_request_path_bytes,
            };
        }
        if self.headers.len() > limits.max_request_headers {
            return RequestError::TooManyHeaders {
                count: self.headers.len(),
                limit: limits.max_request_headers,
            };
        }
        if let Some((n, v)) = self
            .headers
            .iter()
            .find(|(n, v)| n.len() + v.len() > limits.max_request_header_bytes)
        {
            return RequestError::HeaderTooLong {
                name: n.to_string(),
                bytes: n.len() + v.len(),
                limit: limits.max_request_header_bytes,
            };
        }
        RequestError::EmptyHost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_a_limit_is_a_typed_error_whose_message_names_the_limit() {
        use crate::decide::RequestError;
        let long_path =
            Request::new("reviews").path("/".repeat(limits::MAX_REQUEST_PATH_BYTES + 1));
        let err = long_path.check_limits().unwrap_err();
        assert_eq!(
            err,
            RequestError::PathTooLong {
                bytes: limits::MAX_REQUEST_PATH_BYTES + 1,
                limit: limits::MAX_REQUEST_PATH_BYTES
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("limits::MAX_REQUEST_PATH_BYTES")
                && text.contains("limit max_request_path_bytes = 64 KiB")
                && text.contains("--limit max_request_path_bytes=SIZE"),
            "{text}"
        );
        let big_header =
            Request::new("reviews").header("x-big", &"v".repeat(limits::MAX_REQUEST_HEADER_BYTES));
        match big_header.check_limits() {
            Err(RequestError::HeaderTooLong { name, bytes, .. }) => {
                assert_eq!(
                    (name.as_str(), bytes),
                    ("x-big", limits::MAX_REQUEST_HEADER_BYTES + 5)
                );
            }
            other => panic!("expected HeaderTooLong, got {other:?}"),
        }
        let mut many = Request::new("reviews");
        for i in 0..=limits::MAX_REQUEST_HEADERS {
            many = many.header(&format!("x-{i}"), "1");
        }
        assert!(
            matches!(many.check_limits(), Err(RequestError::TooManyHeaders { count, .. }) if count == limits::MAX_REQUEST_HEADERS + 1)
        );
        let empty = Request::new("").check_limits().unwrap_err();
        assert_eq!(
            (empty.clone(), empty.to_string().as_str()),
            (RequestError::EmptyHost, "invalid request: host is empty")
        );
    }

    #[test]
    fn refill_replaces_every_header_and_keeps_buffers() {
        let mut h = Headers::new().with("A", "1").with("b", "2").with("c", "3");
        h.refill([("X-Id", "7"), ("y", "8")]);
        assert_eq!(h.iter().collect::<Vec<_>>(), [("x-id", "7"), ("y", "8")]);
        h.refill([("one", "1"), ("two", "2"), ("three", "3")]);
        assert_eq!(h.len(), 3);
        assert_eq!(h.get("three").as_deref(), Some("3"));
        let stopped: Result<(), &str> = h.try_refill([Ok(("k", "v")), Err("bad"), Ok(("z", "z"))]);
        assert_eq!(stopped, Err("bad"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [("k", "v")]);
        h.refill([]);
        assert!(h.is_empty());
    }

    #[test]
    fn refill_with_lets_the_caller_write_each_pair_into_kept_buffers() {
        let mut h = Headers::new()
            .with("old", "1")
            .with("b", "2")
            .with("c", "3");
        let pairs = [("X-Id", "7"), ("Y", "8")];
        let written: Result<(), ()> = h.try_refill_with(2, |i, name, value| {
            assert!(name.is_empty() && value.is_empty(), "buffers come cleared");
            name.push_str(pairs[i].0);
            value.push_str(pairs[i].1);
            Ok(())
        });
        assert_eq!(written, Ok(()));
        assert_eq!(h.iter().collect::<Vec<_>>(), [("x-id", "7"), ("y", "8")]);
        let grown: Result<(), ()> = h.try_refill_with(3, |i, name, _| {
            name.push_str(["a", "b", "c"][i]);
            Ok(())
        });
        assert_eq!(grown, Ok(()));
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("a", ""), ("b", ""), ("c", "")]
        );
        let stopped = h.try_refill_with(3, |i, _, _| if i == 1 { Err("bad") } else { Ok(()) });
        assert_eq!(stopped, Err("bad"));
        let none: Result<(), ()> = h.try_refill_with(0, |_, _, _| unreachable!());
        assert_eq!(none, Ok(()));
        assert!(h.is_empty());
    }

    #[test]
    fn refill_sets_every_field_and_defaults_the_unset_ones() {
        let mut r: Request = serde_json::from_str(
            r#"{"host":"a:81","port":81,"method":"POST","path":"/x","scheme":"https","gateway":"ns/gw",
                "protocol":"tls","sni":"s","destinationIp":"10.0.0.1","source":{"namespace":"n","labels":{"k":"v"}},
                "headers":{"h":"1"}}"#,
        )
        .unwrap();
        r.refill(&RequestFields {
            host: "b",
            ..RequestFields::default()
        });
        let json: Request = serde_json::from_str(
            r#"{"host":"b","source":{"labels":{"k":"v"}},"headers":{"h":"1"}}"#,
        )
        .unwrap();
        assert_eq!(
            r, json,
            "unset fields as JSON defaults them; headers and labels kept"
        );
        let all = RequestFields {
            host: "a:81",
            port: Some(81),
            method: Some("POST"),
            path: Some("/x"),
            scheme: Some("https"),
            gateway: Some("ns/gw"),
            namespace: Some("n"),
            protocol: Protocol::Tls,
            sni: Some("s"),
            destination_ip: Some("10.0.0.1"),
        };
        r.refill(&all);
        let json: Request = serde_json::from_str(
            r#"{"host":"a:81","port":81,"method":"POST","path":"/x","scheme":"https","gateway":"ns/gw",
                "protocol":"tls","sni":"s","destinationIp":"10.0.0.1","source":{"namespace":"n","labels":{"k":"v"}},
                "headers":{"h":"1"}}"#,
        )
        .unwrap();
        assert_eq!(r, json);
    }

    #[test]
    fn labels_refill_replaces_them_and_stops_at_an_error() {
        let mut c = Caller::default();
        c.labels.insert("old".into(), "1".into());
        c.try_refill_labels([Ok::<_, ()>(("app", "web")), Ok(("v", "2"))])
            .unwrap();
        assert_eq!(
            c.labels.iter().collect::<Vec<_>>(),
            [
                (&"app".to_string(), &"web".to_string()),
                (&"v".to_string(), &"2".to_string())
            ]
        );
        assert_eq!(
            c.try_refill_labels([Ok(("k", "v")), Err("bad")]),
            Err("bad")
        );
        assert_eq!(c.labels.len(), 1);
        c.try_refill_labels(std::iter::empty::<Result<_, ()>>())
            .unwrap();
        assert!(c.labels.is_empty());
    }

    #[test]
    fn defaults_follow_the_spec() {
        let r: Request = serde_json::from_str(r#"{"host":"reviews"}"#).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/");
        assert_eq!(r.gateway, "mesh");
        assert_eq!(r.source.namespace, "default");
        assert_eq!(r.protocol, Protocol::Http);
    }

    #[test]
    fn repeated_headers_join_with_comma() {
        let r: Request =
            serde_json::from_str(r#"{"host":"a","headers":{"X-A":["1","2"],"b":"3"}}"#).unwrap();
        assert_eq!(r.headers.get("x-a").as_deref(), Some("1,2"));
        assert_eq!(r.headers.get("b").as_deref(), Some("3"));
        assert_eq!(r.headers.get("c"), None);
    }

    #[test]
    fn unknown_request_keys_are_errors() {
        let e = serde_json::from_str::<Request>(r#"{"host":"a","hedaers":{}}"#).unwrap_err();
        assert!(e.to_string().contains("hedaers"));
    }
}
