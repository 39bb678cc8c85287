//! Resilience state machines: retries and back-off, fault injection, outlier
//! detection, connection-pool circuit breakers and load balancing, each
//! decided exactly as Envoy decides it under Istio's configuration.
//!
//! Every machine is a plain value driven by its caller: time comes in as
//! [`Instant`] arguments, randomness through [`Random`] (each machine
//! documents which calls draw and how many values), and results come out as
//! decisions and events, so a scenario runner can replay a timeline
//! deterministically. No clock, no OS randomness, no global state.
//!
//! [`shared`] wraps the detector, the pool and the balancer for use from many
//! threads.
//!
//! The crate stands alone (a proxy author can take the machines without the
//! routing); `meshroute` re-exports it as `meshroute::resilience` and maps
//! a DestinationRule's traffic policy onto the machines' configurations.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backoff;
pub mod balancer;
pub mod fault;
pub mod outlier;
pub mod pool;
pub mod random;
pub mod retry;
pub mod shared;
pub mod time;

pub use balancer::{Balancer, Endpoint, LbPolicy, Pick, PickContext};
pub use outlier::{HostId, OutlierConfig, OutlierDetector, OutlierEvent};
pub use pool::{Admission, ConnectionPool, PoolConfig};
pub use random::{Random, SplitMix64};
pub use retry::{RetryDecision, RetryPolicy, RetryState};
pub use time::Instant;
