//! A one-line progress bar on standard error, for phases that run over a
//! second (`loading  [#####.....] 52% 78/150 MB  3.1 s`), drawn only when
//! standard error is a terminal; cleared when the phase ends.
//!
//! The core reports through [`meshroute::progress::Progress`]; a ticker
//! thread redraws ten times a second, so the core's calls stay cheap (an
//! atomic add). Write errors (a closed terminal) are ignored: progress is
//! never worth failing for.

use meshroute::progress::{NoProgress, Progress, ProgressUnit};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A phase runs this long before the bar appears.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// Time between redraws.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Cells of the bar between the brackets.
const BAR_WIDTH: usize = 20;

/// The progress a command reports to: a bar on a terminal, else nothing.
pub enum Reporter {
    /// Standard error is not a terminal, or `--no-progress`.
    Quiet(NoProgress),
    /// Draws on standard error.
    Bar(Bar),
}

impl Reporter {
    /// A bar when standard error is a terminal and `enabled`, else quiet.
    pub fn for_stderr(enabled: bool) -> Reporter {
        if enabled && std::io::stderr().is_terminal() {
            Reporter::Bar(Bar::start())
        } else {
            Reporter::Quiet(NoProgress)
        }
    }

    /// The reporter as the core takes it.
    pub fn progress(&self) -> &dyn Progress {
        match self {
            Reporter::Quiet(q) => q,
            Reporter::Bar(b) => b,
        }
    }

    /// Runs `work` as the phase `name` of unknown size (the compile, which
    /// reports nothing itself).
    pub fn timed<T>(&self, name: &str, work: impl FnOnce() -> T) -> T {
        let progress = self.progress();
        progress.phase(name, 0, ProgressUnit::Steps);
        let out = work();
        progress.finish();
        out
    }
}

struct Phase {
    name: String,
    total: u64,
    unit: ProgressUnit,
    started: Instant,
    drawn: bool,
}

struct Shared {
    phase: Mutex<Option<Phase>>,
    done: AtomicU64,
    stop: AtomicBool,
    wake: Condvar,
}

/// The terminal bar: a ticker thread draws what the phase reported.
pub struct Bar {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<Option<Phase>>) -> MutexGuard<'_, Option<Phase>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn to_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Erases the line the bar is on.
const CLEAR_LINE: &str = "\r\x1b[K";

impl Bar {
    fn start() -> Bar {
        let shared = Arc::new(Shared {
            phase: Mutex::new(None),
            done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake: Condvar::new(),
        });
        let ticker_shared = Arc::clone(&shared);
        let ticker = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || tick(&ticker_shared))
            .ok();
        Bar { shared, ticker }
    }
}

fn tick(shared: &Shared) {
    let mut guard = lock(&shared.phase);
    while !shared.stop.load(Ordering::Relaxed) {
        if let Some(phase) = guard.as_mut() {
            let elapsed = phase.started.elapsed();
            if elapsed >= QUIET_FOR {
                let done = shared.done.load(Ordering::Relaxed);
                let line = render(&phase.name, done, phase.total, phase.unit, elapsed);
                to_stderr(&format!("\r{line}\x1b[K"));
                phase.drawn = true;
            }
        }
        guard = match shared.wake.wait_timeout(guard, REDRAW_EVERY) {
            Ok((g, _)) => g,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64, unit: ProgressUnit) {
        let mut guard = lock(&self.shared.phase);
        if guard.as_ref().is_some_and(|p| p.drawn) {
            to_stderr(CLEAR_LINE);
        }
        self.shared.done.store(0, Ordering::Relaxed);
        *guard = Some(Phase {
            name: name.to_string(),
            total,
            unit,
            started: Instant::now(),
            drawn: false,
        });
    }

    fn advance(&self, units: u64) {
        self.shared.done.fetch_add(units, Ordering::Relaxed);
    }

    fn finish(&self) {
        let mut guard = lock(&self.shared.phase);
        if guard.take().is_some_and(|p| p.drawn) {
            to_stderr(CLEAR_LINE);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.finish();
    }
}

/// `loading`, `checking`, `compiling`: the phase as the bar names it.
fn label(name: &str) -> String {
    match name {
        "load" => "loading".into(),
        "check" => "checking".into(),
        "compile" => "compiling".into(),
        other => other.into(),
    }
}

/// `78/150 MB` or `2/4`.
fn amounts(done: u64, total: u64, unit: ProgressUnit) -> String {
    match unit {
        ProgressUnit::Bytes => {
            const MB: f64 = 1_000_000.0;
            let precise = total < 10_000_000;
            let shown = |v: u64| {
                if precise {
                    format!("{:.1}", v as f64 / MB)
                } else {
                    format!("{:.0}", v as f64 / MB)
                }
            };
            format!("{}/{} MB", shown(done), shown(total))
        }
        ProgressUnit::Steps => format!("{done}/{total}"),
    }
}

/// One line of the bar: `loading   [##########..........] 52% 78/150 MB  3.1 s`;
/// a phase of unknown size shows its name and time only.
pub fn render(name: &str, done: u64, total: u64, unit: ProgressUnit, elapsed: Duration) -> String {
    let seconds = format!("{:.1} s", elapsed.as_secs_f64());
    if total == 0 {
        return format!("{:<10}{seconds}", label(name));
    }
    let done = done.min(total);
    let filled = usize::try_from(done.saturating_mul(BAR_WIDTH as u64) / total).unwrap_or(0);
    let percent = done.saturating_mul(100) / total;
    format!(
        "{:<10}[{}{}] {percent:>3}% {}  {seconds}",
        label(name),
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        amounts(done, total, unit)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_the_share_done_the_amounts_and_the_time() {
        let line = render(
            "load",
            78_000_000,
            150_000_000,
            ProgressUnit::Bytes,
            Duration::from_millis(3100),
        );
        assert_eq!(
            line,
            "loading   [##########..........]  52% 78/150 MB  3.1 s"
        );
        let line = render("check", 2, 4, ProgressUnit::Steps, Duration::from_secs(2));
        assert_eq!(line, "checking  [##########..........]  50% 2/4  2.0 s");
        let line = render("load", 9, 4, ProgressUnit::Steps, Duration::from_secs(1));
        assert!(line.contains("100% 4/4"), "{line}");
        let line = render(
            "load",
            500_000,
            2_000_000,
            ProgressUnit::Bytes,
            Duration::ZERO,
        );
        assert!(line.contains("0.5/2.0 MB"), "{line}");
    }

    #[test]
    fn a_phase_of_unknown_size_shows_its_time_only() {
        let line = render(
            "compile",
            0,
            0,
            ProgressUnit::Steps,
            Duration::from_millis(1300),
        );
        assert_eq!(line, "compiling 1.3 s");
    }
}
