//! The `meshroute` command: reads files, calls the core, prints.
//!
//! Commands: `check`, `route`, `explain`, `test`. Argument parsing is
//! hand-rolled (a handful of flags); every decision is made in the core.
#![forbid(unsafe_code)]

mod args;
mod check;
mod inputs;
mod route;
mod style;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
meshroute: Istio traffic management decisions, exactly as a mesh makes them

Usage: meshroute <command> [options]

Commands:
  check FILES...                     validate Istio configuration (like istioctl analyze)
  route -f FILES... [METHOD] URL     print the routing decision as JSON
  explain -f FILES... [METHOD] URL   show why a request is routed where it is
  explain FILE.routetest.yaml        explain every case of a route-test file
  test FILES...                      run route-test files

Run `meshroute <command> --help` for a command's options.
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
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message)) => {
            eprintln!("meshroute {command}: {message}");
            ExitCode::from(2)
        }
    }
}
