//! meshroute as a proxy-wasm HTTP filter: Istio routing inside a plain Envoy.
//!
//! The plugin configuration is Istio YAML/JSON plus filter options (see
//! [`plan::FilterOptions`]). Per request the filter decides with meshroute
//! and carries the decision out through Envoy: the route's `cluster_header`
//! picks the cluster, rewrites and header operations edit the request,
//! redirects, direct responses and fault aborts are local replies, fault
//! delays pause the request on a timer, and timeouts and retries go to the
//! router as its `x-envoy-*` request headers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod plan;

#[cfg(target_arch = "wasm32")]
mod glue {
    use crate::plan::{self, Configured, LocalReply, Plan};
    use meshroute::decide::HeaderOps;
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::{Duration, SystemTime};

    /// Requests held by a fault delay: context id, when to go on, abort then.
    type Pending = Rc<RefCell<Vec<(u32, SystemTime, Option<LocalReply>)>>>;

    /// How often held requests are checked (delay precision).
    const TICK: Duration = Duration::from_millis(5);

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(Root { configured: None, pending: Pending::default() })
        });
    }}

    struct Root {
        configured: Option<Rc<Configured>>,
        pending: Pending,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let bytes = hostcalls::get_buffer(
                proxy_wasm::types::BufferType::PluginConfiguration,
                0,
                usize::MAX,
            )
            .ok()
            .flatten()
            .unwrap_or_default();
            match plan::configure(&bytes) {
                Ok(c) => {
                    log::info!(
                        "meshroute: configured ({} bytes of Istio config, gateway {}, cluster header {})",
                        c.options.config.len(),
                        c.options.gateway,
                        c.options.cluster_header
                    );
                    self.configured = Some(Rc::new(c));
                    let _ = hostcalls::set_tick_period(TICK);
                    true
                }
                Err(errors) => {
                    for e in errors {
                        log::error!("meshroute: {e}");
                    }
                    false
                }
            }
        }

        fn on_tick(&mut self) {
            let now = hostcalls::get_current_time().unwrap_or(SystemTime::UNIX_EPOCH);
            let due: Vec<(u32, Option<LocalReply>)> = {
                let mut list = self.pending.borrow_mut();
                let mut due = Vec::new();
                list.retain(|(id, at, abort)| {
                    if *at <= now {
                        due.push((*id, abort.clone()));
                        false
                    } else {
                        true
                    }
                });
                due
            };
            for (id, abort) in due {
                // The stream may be gone (client closed): then this fails quietly.
                if hostcalls::set_effective_context(id).is_err() {
                    continue;
                }
                let _ = match abort {
                    Some(r) => send(&r),
                    None => hostcalls::resume_http_request(),
                };
            }
        }

        fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Http {
                id: context_id,
                configured: self.configured.clone(),
                pending: self.pending.clone(),
                response: HeaderOps::default(),
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct Http {
        id: u32,
        configured: Option<Rc<Configured>>,
        pending: Pending,
        response: HeaderOps,
    }

    impl Context for Http {}

    fn send(r: &LocalReply) -> Result<(), proxy_wasm::types::Status> {
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        hostcalls::send_http_response(r.status, headers, r.body.as_deref().map(str::as_bytes))
    }

    fn apply(p: &Plan) {
        use proxy_wasm::types::MapType::HttpRequestHeaders as Req;
        for h in &p.remove {
            let _ = hostcalls::set_map_value(Req, h, None);
        }
        for (k, v) in &p.set {
            let _ = hostcalls::set_map_value(Req, k, Some(v));
        }
        for (k, v) in &p.add {
            let _ = hostcalls::add_map_value(Req, k, v);
        }
    }

    impl HttpContext for Http {
        fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
            let Some(c) = self.configured.clone() else {
                return Action::Continue;
            };
            let headers = hostcalls::get_map(proxy_wasm::types::MapType::HttpRequestHeaders)
                .unwrap_or_default();
            let p = plan::plan(&c, &headers);
            if let Some(r) = &p.reply {
                let _ = send(r);
                return Action::Pause;
            }
            apply(&p);
            self.response = p.response.clone();
            if let Some(ms) = p.delay_ms {
                let now = hostcalls::get_current_time().unwrap_or(SystemTime::UNIX_EPOCH);
                self.pending.borrow_mut().push((
                    self.id,
                    now + Duration::from_millis(ms),
                    p.abort.clone(),
                ));
                return Action::Pause;
            }
            if let Some(r) = &p.abort {
                let _ = send(r);
                return Action::Pause;
            }
            Action::Continue
        }

        fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
            use proxy_wasm::types::MapType::HttpResponseHeaders as Resp;
            for h in &self.response.remove {
                let _ = hostcalls::set_map_value(Resp, h, None);
            }
            for (k, v) in &self.response.set {
                let _ = hostcalls::set_map_value(Resp, k, Some(v));
            }
            for (k, v) in &self.response.add {
                let _ = hostcalls::add_map_value(Resp, k, v);
            }
            Action::Continue
        }

        fn on_log(&mut self) {
            let id = self.id;
            self.pending.borrow_mut().retain(|(i, _, _)| *i != id);
        }
    }
}
