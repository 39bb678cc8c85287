//! The `meshroute` command: reads files, calls the core, prints.
//!
//! Commands: `check`, `route`, `explain`, `test`, `simulate`, `envoy-config`. Argument parsing is
//! hand-rolled (a handful of flags); every decision is made in the core.
#![forbid(unsafe_code)]

/// `print!` for every command: shadows std's so that all output goes through
/// [`write_stdout`], the one place a closed standard output is handled.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` for every command; see [`print!`].
macro_rules! println {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod check;
mod envoy_config;
mod inputs;
mod limits;
mod progress;
mod route;
mod simulate;
mod style;
mod test;

use std::io::Write;
use std::process::ExitCode;

/// Exit status of a command whose standard output was closed early: 128 +
/// SIGPIPE, what a shell reports for `grep` killed by the signal.
const CLOSED_STDOUT_STATUS: i32 = 141;

/// Writes to standard output. When the reader has gone (`meshroute route ...
/// | head -1`) the process ends quietly, as `grep` does; any other write
/// error ends it with a message and status 2.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        stdout_failed(&e);
    }
}

fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_STDOUT_STATUS);
    }
    eprintln!("meshroute: writing to standard output: {e}");
    std::process::exit(2);
}

const USAGE: &str = "\
meshroute: Istio traffic management decisions, exactly as a mesh makes them

Usage: meshroute <command> [options]

Commands:
  check FILES...                     validate Istio configuration (like istioctl analyze)
  route -f FILES... [METHOD] URL     print the routing decision as JSON
  explain -f FILES... [METHOD] URL   show why a request is routed where it is
  explain FILE.routetest.yaml        explain every case of a route-test file
  test FILES...                      run route-test and scenario files
  simulate FILE.scenario.yaml...     replay a resilience scenario and print its timeline
  envoy-config FILES... [--endpoints F] [--listen PORT] [--wasm FILTER.wasm]
                                     print an Envoy bootstrap that routes as meshroute decides

Run `meshroute <command> --help` for a command's options. Every command
that loads configuration takes `--limit NAME=VALUE` (repeatable) to raise an
input limit on purpose, e.g. `--limit max_input_bytes=1GiB`, and shows
progress on a terminal for a phase that runs over a second (`--no-progress`:
never).
";

/// What went wrong before a command could do its job (bad arguments,
/// unreadable files): printed on standard error, exit status 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(e: T) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match argv.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        "check" => check::main(rest),
        "route" => route::main(rest, false),
        "explain" => route::main(rest, true),
        "test" => test::main(rest),
        "simulate" => simulate::main(rest),
        "envoy-config" => Ok(u8::try_from(envoy_config::run(rest)).unwrap_or(1)),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(0)
        }
        "-V" | "--version" | "version" => {
            println!("meshroute {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        other => Err(Failure(format!(
            "unknown command {other:?}; run `meshroute --help`"
        ))),
    };
    // What the last `print!` left in the buffer, before the status is decided.
    if let Err(e) = std::io::stdout().flush() {
        stdout_failed(&e);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message)) => {
            eprintln!("meshroute {command}: {message}");
            ExitCode::from(2)
        }
    }
}
