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
//! Resilience state machines ([`resilience`]) take the decision's merged
//! traffic policy, caller-supplied time and randomness, and decide retries,
//! ejections, admissions and load-balancer picks.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analyze;
pub mod decide;
pub mod duration;
pub mod envoy;
pub mod explain;
pub mod fasthash;
pub mod hosts;
pub mod limits;
pub mod load;
pub mod matching;
pub mod message;
pub mod model;
pub mod names;
pub mod policy;
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
pub fn check(config: &model::Config) -> Vec<Message> {
    let mut messages = config.messages.clone();
    validate::validate_into(config, &mut messages);
    analyze::analyze_into(config, &mut messages);
    messages.extend(limits::check(config));
    messages
}
pub use message::{Message, Severity};
pub use source::{Location, Source};
