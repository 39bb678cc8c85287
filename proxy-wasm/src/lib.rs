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
pub mod selection;

#[cfg(target_arch = "wasm32")]
mod glue {
    use crate::plan::{self, Filter, LocalReply, Plan, Scratch};
    use meshroute::decide::HeaderOps;
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::{Duration, SystemTime};

    /// Requests held by a fault delay: context id, when to go on, abort then.
    /// `ticking`: whether the root's timer runs (only while one is held).
    #[derive(Default)]
    struct Held {
        requests: RefCell<Vec<(u32, SystemTime, Option<LocalReply>)>>,
        ticking: Cell<bool>,
    }

    /// What every stream of one worker shares: the filter, the buffers it
    /// decides with (one stream decides at a time), the held requests.
    struct Shared {
        filter: Filter,
        scratch: RefCell<Scratch>,
        held: Held,
    }

    /// How often held requests are checked (delay precision).
    const TICK: Duration = Duration::from_millis(5);

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
            Box::new(Root { shared: None })
        });
    }}

    struct Root {
        shared: Option<Rc<Shared>>,
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
                    let filter = Filter::new(c);
                    let scratch = RefCell::new(filter.scratch());
                    self.shared = Some(Rc::new(Shared {
                        filter,
                        scratch,
                        held: Held::default(),
                    }));
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
            let Some(shared) = &self.shared else {
                return;
            };
            let held = &shared.held;
            let now = hostcalls::get_current_time().unwrap_or(SystemTime::UNIX_EPOCH);
            let due: Vec<(u32, Option<LocalReply>)> = {
                let mut list = held.requests.borrow_mut();
                let mut due = Vec::new();
                list.retain(|(id, at, abort)| {
                    if *at <= now {
                        due.push((*id, abort.clone()));
                        false
                    } else {
                        true
                    }
                });
                if list.is_empty() && hostcalls::set_tick_period(Duration::ZERO).is_ok() {
                    held.ticking.set(false);
                }
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
                shared: self.shared.clone(),
                response: None,
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct Http {
        id: u32,
        shared: Option<Rc<Shared>>,
        /// The route's response header operations, when it has any.
        response: Option<HeaderOps>,
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

    impl Http {
        /// Carries out a plan (what it holds that outlives the request
        /// headers is taken out of it).
        fn carry_out(&mut self, shared: &Shared, p: &mut Plan) -> Action {
            if let Some(r) = &p.reply {
                let _ = send(r);
                return Action::Pause;
            }
            apply(p);
            if !p.response.is_empty() {
                self.response = Some(std::mem::take(&mut p.response));
            }
            if let Some(ms) = p.delay_ms {
                let now = hostcalls::get_current_time().unwrap_or(SystemTime::UNIX_EPOCH);
                let held = &shared.held;
                held.requests.borrow_mut().push((
                    self.id,
                    now + Duration::from_millis(ms),
                    p.abort.take(),
                ));
                if !held.ticking.get() && hostcalls::set_tick_period(TICK).is_ok() {
                    held.ticking.set(true);
                }
                return Action::Pause;
            }
            if let Some(r) = &p.abort {
                let _ = send(r);
                return Action::Pause;
            }
            Action::Continue
        }
    }

    impl HttpContext for Http {
        fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
            let Some(shared) = self.shared.clone() else {
                return Action::Continue;
            };
            let headers = hostcalls::get_map(proxy_wasm::types::MapType::HttpRequestHeaders)
                .unwrap_or_default();
            let mut scratch = shared.scratch.borrow_mut();
            let mut p = shared.filter.plan(&mut scratch, &headers);
            let action = self.carry_out(&shared, &mut p);
            scratch.recycle(p);
            action
        }

        fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
            use proxy_wasm::types::MapType::HttpResponseHeaders as Resp;
            let Some(response) = &self.response else {
                return Action::Continue;
            };
            for h in &response.remove {
                let _ = hostcalls::set_map_value(Resp, h, None);
            }
            for (k, v) in &response.set {
                let _ = hostcalls::set_map_value(Resp, k, Some(v));
            }
            for (k, v) in &response.add {
                let _ = hostcalls::add_map_value(Resp, k, v);
            }
            Action::Continue
        }

        fn on_log(&mut self) {
            if let Some(shared) = &self.shared {
                let id = self.id;
                let mut held = shared.held.requests.borrow_mut();
                if !held.is_empty() {
                    held.retain(|(i, _, _)| *i != id);
                }
            }
        }
    }
}
