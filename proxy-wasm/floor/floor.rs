//! The floor filter: the least a proxy-wasm routing filter can do per
//! request in Envoy. It reads `:path` and sets the cluster header to a
//! constant, so its cost is the runtime's (the VM, the context callbacks,
//! one header read and one header write) and no routing at all.
//! `proxy-wasm/test.sh --bench` runs it beside native routes and the
//! meshroute filter to tell the two costs apart.
//!
//! Plugin configuration (a `google.protobuf.StringValue`): `HEADER CLUSTER`,
//! e.g. `x-meshroute-cluster outbound|9080|v1|reviews.default.svc.cluster.local`,
//! then optionally `NAME=VALUE` words: more request headers to set (the
//! router headers a decision sets, to measure what they cost on their own).
#![forbid(unsafe_code)]

/// The headers to set, from a configuration `HEADER CLUSTER [NAME=VALUE...]`:
/// the cluster header first. `None` for fewer than two words or a third
/// without `=`.
pub fn parse_configuration(text: &str) -> Option<Vec<(String, String)>> {
    let mut words = text.split_whitespace();
    let header = words.next()?;
    let cluster = words.next()?;
    let mut set = vec![(header.to_ascii_lowercase(), cluster.to_string())];
    for word in words {
        let (name, value) = word.split_once('=')?;
        set.push((name.to_ascii_lowercase(), value.to_string()));
    }
    Some(set)
}

#[cfg(target_arch = "wasm32")]
mod glue {
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
    use std::rc::Rc;

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { route: None }) });
    }}

    /// The headers to set and their constant values.
    type Route = Rc<Vec<(String, String)>>;

    struct Root {
        route: Option<Route>,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
                .ok()
                .flatten()
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            match super::parse_configuration(&text) {
                Some(route) => {
                    self.route = Some(Rc::new(route));
                    true
                }
                None => {
                    log::error!(
                        "floor filter: the configuration must be `HEADER CLUSTER [NAME=VALUE...]`, got {text:?}"
                    );
                    false
                }
            }
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Http {
                route: self.route.clone(),
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct Http {
        route: Option<Route>,
    }

    impl Context for Http {}

    impl HttpContext for Http {
        fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
            if let Some(route) = &self.route {
                if hostcalls::get_map_value(MapType::HttpRequestHeaders, ":path")
                    .ok()
                    .flatten()
                    .is_some()
                {
                    for (name, value) in route.iter() {
                        let _ = hostcalls::set_map_value(
                            MapType::HttpRequestHeaders,
                            name,
                            Some(value),
                        );
                    }
                }
            }
            Action::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_configuration;

    #[test]
    fn configuration_is_a_header_a_cluster_and_more_headers() {
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            parse_configuration(" X-Cluster  outbound|80||a.b "),
            Some(vec![pair("x-cluster", "outbound|80||a.b")])
        );
        assert_eq!(
            parse_configuration("x-c c X-Envoy-Max-Retries=2"),
            Some(vec![pair("x-c", "c"), pair("x-envoy-max-retries", "2")])
        );
        assert_eq!(parse_configuration("x-cluster"), None);
        assert_eq!(parse_configuration("a b c"), None);
    }
}
