//! Progress of long phases (loading, checking), for a caller that shows it.
//!
//! The core does no I/O and keeps no clocks: it only says which phase runs,
//! how much work it has and how much is done, through a [`Progress`] the
//! caller passes in. The CLI draws a bar on a terminal; every other caller
//! passes [`NoProgress`] (what the functions without a progress argument do).

/// What a phase's units count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Bytes of input.
    Bytes,
    /// Steps (stages of a check, files).
    Steps,
}

/// Receives progress reports. Every method has an empty default, so an
/// implementation overrides only what it shows. `Sync`: a caller may read
/// what it was told from another thread (a ticker redrawing a bar).
pub trait Progress: Sync {
    /// A phase starts (`load`, `check`) with `total` units of work to do
    /// (0 when unknown).
    fn phase(&self, name: &str, total: u64, unit: ProgressUnit) {
        let _ = (name, total, unit);
    }

    /// `units` more units of the current phase are done.
    fn advance(&self, units: u64) {
        let _ = units;
    }

    /// The current phase is over.
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every call, in order, as text.
    #[derive(Default)]
    pub(crate) struct Recorder(pub Mutex<Vec<String>>);

    impl Progress for Recorder {
        fn phase(&self, name: &str, total: u64, unit: ProgressUnit) {
            self.0
                .lock()
                .unwrap()
                .push(format!("phase {name} {total} {unit:?}"));
        }
        fn advance(&self, units: u64) {
            self.0.lock().unwrap().push(format!("advance {units}"));
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }

    #[test]
    fn loading_reports_every_byte_of_the_input_once_then_finishes() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
        let recorder = Recorder::default();
        let config = crate::load::load_with_progress(
            &[crate::load::Input {
                name: "ns.yaml",
                text,
            }],
            &crate::load::LoadOptions::default(),
            &recorder,
        );
        assert_eq!(config.namespaces.len(), 2);
        let calls = recorder.0.into_inner().unwrap();
        assert_eq!(
            calls.first().map(String::as_str),
            Some(format!("phase load {} Bytes", text.len()).as_str())
        );
        assert_eq!(calls.last().map(String::as_str), Some("finish"));
        let advanced: u64 = calls
            .iter()
            .filter_map(|c| c.strip_prefix("advance "))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(advanced, text.len() as u64);
    }

    #[test]
    fn checking_reports_its_stages() {
        let recorder = Recorder::default();
        let config = crate::load::load_str("", "empty.yaml");
        let messages = crate::check_with_progress(&config, &recorder);
        assert!(messages.is_empty());
        let calls = recorder.0.into_inner().unwrap();
        let Some(first) = calls.first() else {
            panic!("no progress reported")
        };
        let total: u64 = first
            .strip_prefix("phase check ")
            .and_then(|r| r.strip_suffix(" Steps"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{first}"));
        assert_eq!(
            calls.iter().filter(|c| *c == "advance 1").count() as u64,
            total
        );
        assert_eq!(calls.last().map(String::as_str), Some("finish"));
    }
}
