//! What a scenario run produced: the setup, the timeline and one result per
//! `expect` entry, and the timeline as text.

use crate::duration::format_duration;
use crate::source::Location;
use serde::Serialize;
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::time::Duration;

/// What a scenario run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// How the machines were set up (destination, hosts, outlier detection,
    /// connection pool, load balancer), one line each.
    pub setup: Vec<String>,
    /// What happened, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// One result per `expect` entry, in file order.
    pub results: Vec<ExpectResult>,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Time since the scenario's start.
    #[serde(serialize_with = "serialize_duration")]
    pub at: Duration,
    /// What happened and why.
    pub text: String,
}

/// The outcome of one `expect` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectResult {
    /// The entry's time.
    #[serde(serialize_with = "serialize_duration")]
    pub at: Duration,
    /// Line of the entry in the scenario file (0 when unknown).
    pub line: u32,
    /// Where the entry starts in the scenario file.
    #[serde(skip)]
    pub location: Location,
    /// The entry's keys other than `at`, as written.
    pub expected: Json,
    /// The same keys with the values the run produced.
    pub actual: Json,
    /// Whether every key matched.
    pub passed: bool,
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

impl ScenarioReport {
    /// The setup and the timeline as text, one event per line.
    pub fn render_timeline(&self) -> String {
        let mut out = String::new();
        for line in &self.setup {
            let _ = writeln!(out, "{line}");
        }
        if !self.setup.is_empty() {
            out.push('\n');
        }
        let width = self
            .timeline
            .iter()
            .map(|e| format_duration(e.at).len())
            .max()
            .unwrap_or(2);
        for e in &self.timeline {
            let at = format_duration(e.at);
            let _ = writeln!(out, "{at:>width$}  {}", e.text);
        }
        out
    }

    /// Number of `expect` entries that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// Number of `expect` entries that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}
