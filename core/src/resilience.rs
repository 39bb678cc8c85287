//! The resilience state machines of the `meshroute-resilience` crate:
//! retries and back-off, fault injection, outlier detection, connection-pool
//! circuit breakers and load balancing, with time and randomness supplied by
//! the caller.

pub use meshroute_resilience::*;
