//! The explanation a decision carries when asked for: entries collected
//! only when explaining, so deciding pays one test per entry.

use super::decision::{TraceEntry, Verdict};

/// Collects trace entries when explaining; does nothing otherwise.
pub(crate) struct Tracer {
    pub(super) on: bool,
    entries: Vec<TraceEntry>,
}

impl Tracer {
    pub fn new(on: bool) -> Self {
        Tracer {
            on,
            entries: Vec::new(),
        }
    }

    /// Inlined so that, when not explaining, a call is one test of `on`.
    #[inline(always)]
    pub fn add(
        &mut self,
        stage: &'static str,
        subject: impl FnOnce() -> String,
        verdict: Verdict,
        detail: impl FnOnce() -> String,
    ) {
        if self.on {
            self.entries.push(TraceEntry {
                stage,
                subject: subject(),
                verdict,
                detail: detail(),
            });
        }
    }

    pub fn into_entries(self) -> Vec<TraceEntry> {
        self.entries
    }
}
