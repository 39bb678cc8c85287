//! # meshroute
//!
//! Istio traffic management, decided exactly as a mesh decides it, with no I/O,
//! no clocks and no global state.
//!
//! The flow is one direction:
//!
//! ```text
//! text ─► load ─► Config ─► validate ─► Messages
//!                   │
//!                   └─► compile ─► Mesh ─► decide(Request) ─► Decision (+ Trace)
//! ```
//!
//! Resilience state machines ([`resilience`], the `meshroute-resilience`
//! crate) take the decision's merged traffic policy, caller-supplied time and
//! randomness, and decide retries, ejections, admissions and load-balancer
//! picks.
//!
//! ## Quick start
//!
//! Load once, check, compile once, then decide as often as you like:
//!
//! ```
//! use meshroute::{load::load_str, Mesh, Outcome, Request, Severity};
//!
//! let yaml = r#"
//! apiVersion: v1
//! kind: Service
//! metadata: {name: reviews, namespace: default}
//! spec: {ports: [{name: http, port: 9080}], selector: {app: reviews}}
//! ---
//! apiVersion: v1
//! kind: Pod
//! metadata: {name: reviews-v1, namespace: default, labels: {app: reviews, version: v1}}
//! ---
//! apiVersion: v1
//! kind: Pod
//! metadata: {name: reviews-v2, namespace: default, labels: {app: reviews, version: v2}}
//! ---
//! apiVersion: v1
//! kind: Pod
//! metadata: {name: reviews-v3, namespace: default, labels: {app: reviews, version: v3}}
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! metadata: {name: reviews, namespace: default}
//! spec:
//!   host: reviews
//!   subsets:
//!   - {name: v1, labels: {version: v1}}
//!   - {name: v2, labels: {version: v2}}
//!   - {name: v3, labels: {version: v3}}
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: {name: reviews, namespace: default}
//! spec:
//!   hosts: [reviews]
//!   http:
//!   - match: [{headers: {end-user: {exact: jason}}}]
//!     route: [{destination: {host: reviews, subset: v2}}]
//!   - route:
//!     - {destination: {host: reviews, subset: v1}, weight: 90}
//!     - {destination: {host: reviews, subset: v3}, weight: 10}
//! "#;
//! let config = load_str(yaml, "reviews.yaml");
//! // Every face reports the same messages: file:line:col, code, fix.
//! let messages = meshroute::check(&config);
//! assert!(messages.iter().all(|m| m.severity != Severity::Error), "{messages:?}");
//!
//! // The compiled table is immutable, `Send + Sync`: share it (`Arc`).
//! let mesh = Mesh::compile(&config);
//! let request = Request::new("reviews:9080").header("end-user", "jason");
//! let decision = mesh.explain(&request)?;
//! assert_eq!(decision.outcome(), Outcome::Route);
//! assert_eq!(decision.destinations()[0].subset(), Some("v2"));
//! assert!(!decision.trace().is_empty(), "explain says why");
//!
//! // Everyone else: the 90/10 split.
//! let decision = mesh.decide(&Request::new("reviews.default.svc.cluster.local:9080"))?;
//! let weights: Vec<u32> = decision.destinations().iter().map(|d| d.weight()).collect();
//! assert_eq!(weights, [90, 10]);
//!
//! // A service's name is routed on its own ports only, as Envoy's listeners
//! // see it: port 80 is not one of them, so the request passes through.
//! let decision = mesh.decide(&Request::new("reviews"))?;
//! assert_eq!(decision.outcome(), Outcome::Passthrough);
//! # Ok::<(), meshroute::RequestError>(())
//! ```
//!
//! Where to start reading: [`load`] (text to [`model::Config`]), [`check`]
//! (the messages), [`Mesh`] (the compiled table) and [`Decision`]; the
//! repository's `ARCHITECTURE.md` maps the rest.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admission;
pub mod analyze;
pub mod decide;
pub mod destination_rules;
pub mod duration;
pub mod explain;
pub mod fasthash;
pub mod hosts;
pub mod ingress;
pub mod limits;
pub mod load;
pub mod matching;
pub mod mesh_config;
pub mod message;
pub mod model;
pub mod names;
pub mod progress;
pub mod registry;
pub mod resilience;
pub mod routetest;
pub mod scenario;
pub mod source;
pub mod validate;

pub use decide::{Decision, Mesh, MeshOptions, Outcome, Request, RequestError};

/// Everything meshroute reports about a loaded configuration, as `meshroute
/// check` prints it and every binding returns it: the loader's messages
/// (positions, unknown fields, limits), Istio's admission-webhook
/// validation, the `istioctl analyze` checks across resources, and the
/// resources the routing table leaves out for exceeding a limit
/// ([`limits`]). Each message names the resource, field and position.
/// Messages a resource suppresses with the annotation
/// `galley.istio.io/analyze-suppress` are left out, as istioctl leaves them.
pub fn check(config: &model::Config) -> Vec<Message> {
    check_with_progress(config, &progress::NoProgress)
}

/// [`check`], reporting its stages (phase `check`) to `progress`.
pub fn check_with_progress(
    config: &model::Config,
    progress: &dyn progress::Progress,
) -> Vec<Message> {
    progress.phase("check", 4, progress::ProgressUnit::Steps);
    let mut messages = config.messages.clone();
    validate::validate_into(config, &mut messages);
    progress.advance(1);
    analyze::analyze_into(config, &mut messages);
    progress.advance(1);
    mesh_config::check_into(config, &mut messages);
    progress.advance(1);
    messages.extend(limits::check(config));
    analyze::suppress_annotated(config, &mut messages);
    progress.advance(1);
    progress.finish();
    messages
}
pub use message::{Message, Severity};
pub use source::{Location, Source};
