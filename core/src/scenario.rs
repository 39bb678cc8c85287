//! Resilience scenarios: replay what happens to one destination's upstream
//! hosts over time and say what outlier detection, the connection pool and
//! the load balancer did (format: `route-tests.md`, "Resilience scenarios").
//!
//! [`crate::routetest::run_scenario`] takes the scenario text and a resolver for `config.files`; the
//! file is read once by [`crate::routetest::parse`] (a scenario is the other
//! kind of test file) and its configuration loaded once by
//! [`TestFile::load_config`](crate::routetest::TestFile::load_config).
//! [`replay`] then builds the mesh, resolves `destination` as a request from
//! `source` would (short host name from `source.namespace`, port, subset) to
//! get the merged DestinationRule policy, and sets up the machines as Istio
//! configures Envoy ([`crate::resilience::from_policy`]): outlier detection
//! only when the policy has an `outlierDetection` block, the circuit breakers
//! from `connectionPool`, and the load balancer (`LEAST_REQUEST` when unset,
//! `consistentHash` as ring hash or Maglev). It then replays the events and
//! returns a [`ScenarioReport`]: a timeline a person can follow and one
//! [`ExpectResult`] per `expect` entry.
//!
//! Submodules: `format` (the file), `setup` (the machines from the mesh),
//! `replay` (the events) and `report` (what came out).
//!
//! Time: interval ticks happen at every positive multiple of `interval`;
//! at a time that is both a tick and an event time the tick runs first, then
//! the events in file order; an `expect` entry sees the state after
//! everything at its time. Events must be in time order; `expect` entries may
//! come in any order.
//!
//! What the runner reports to outlier detection per `result`, as Envoy's
//! router does: an HTTP status or `grpc:NAME` (a trailers-only reply, its
//! status mapped to HTTP) is a connection success then that status; `reset`
//! and `timeout` are a connection success then a local-origin failure
//! (503 / 504 without the split); `connect-failure` is a local-origin failure
//! alone. With `splitExternalLocalOriginErrors` the connection success resets
//! the local-origin counter, so only connect failures can add up.
//!
//! Additions to the format, all optional:
//! * a `hosts` entry may be `{address: 10.0.0.1, weight: 2}`;
//! * `pick` and `start` events may carry `headers` (map), `query` (string) and
//!   `sourceIp` for consistent hashing, and `seed`;
//! * `start` without `host` sends each request where the load balancer picks.
//! * events and `expect` entries may carry a `name` (a label, not compared).
//!
//! Randomness: the scenario has one default stream, [`SplitMix64`](crate::resilience::SplitMix64) seeded with
//! 0 (it seeds the balancer and serves outlier detection and unseeded events);
//! an event with `seed: N` draws from its own stream seeded with `N`.
//!
//! `picks` and `unpicked` in an `expect` entry count the picks of the `pick`
//! events at exactly that time; hosts left out of `picks` must have none.
//! `admitted` counts requests that got a connection (queued ones when they
//! do), `overflowed` the 503 UO overflows, `ejectionsOverflow` the detections
//! `maxEjectionPercent` blocked, all since the start; `active` and `pending`
//! are current counts.

pub(crate) mod format;
mod replay;
mod report;
mod setup;

pub use format::Scenario;
pub use report::{ExpectResult, ScenarioReport, TimelineEntry};

use crate::load::node;
use crate::model::Config;

/// Whether `text` is a resilience scenario: a YAML mapping with an `events` key.
pub fn is_scenario(text: &str) -> bool {
    let first = node::split_documents(text)
        .iter()
        .map(crate::load::events::parse_document)
        .find(|d| !matches!(d, Ok(None)));
    match first {
        Some(Ok(Some(doc))) => doc.get("events").is_some(),
        Some(Ok(None)) | None => false,
        // Unparsable: decide from the text so the runner can report the error.
        Some(Err(_)) => text.lines().any(|l| l.starts_with("events:")),
    }
}

/// Replays a parsed scenario against its loaded configuration. `Err` when
/// the configuration has load errors or the destination cannot be set up.
pub fn replay(scenario: &Scenario, config: &Config) -> Result<ScenarioReport, String> {
    let setup =
        setup::Setup::build(scenario, config).map_err(|e| format!("{}: {e}", scenario.file))?;
    replay::Runner::new(setup, scenario)?.replay(scenario)
}

#[cfg(test)]
mod tests;
