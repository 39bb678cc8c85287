//! The resilience state machines of the `meshroute-resilience` crate:
//! retries and back-off, fault injection, outlier detection, connection-pool
//! circuit breakers and load balancing, with time and randomness supplied by
//! the caller; and [`from_policy`], which configures them from a
//! DestinationRule's traffic policy as Istio configures Envoy.

pub use meshroute_resilience::*;

pub mod from_policy;
