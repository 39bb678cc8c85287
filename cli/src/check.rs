//! `meshroute check`: validate configuration, print messages the way
//! `istioctl analyze` does.

use crate::args::{scan, unknown, Arg};
use crate::inputs;
use crate::progress::Reporter;
use crate::style::Style;
use crate::Failure;
use meshroute::load::{load_with_progress, Input, LoadOptions};
use meshroute::message::{codes, Suppression};
use meshroute::{routetest, Message, Severity};

const HELP: &str = "\
Usage: meshroute check [options] FILES...

Validates Istio configuration. FILES are YAML or JSON files, directories
(read recursively for *.yaml, *.yml, *.json) or - for standard input. All
plain files are checked together, as one mesh; a route-test file
(*.routetest.yaml) is checked on its own configuration.

Options:
  -o, --output FORMAT          text (default) or json
      --fail-on LEVEL          error (default) or warning: exit 1 on warnings
  -S, --suppress CODE=RESOURCE leave out a message code on resources matching
                               RESOURCE (`Kind namespace/name`, `*` matches any
                               text), as istioctl analyze --suppress; repeatable
      --output-threshold LEVEL info (default), warning or error: hide messages below
  -n, --namespace NS           namespace of resources that name none (default: default)
      --mesh-config FILE       Istio MeshConfig YAML (what istiod reads from its
                               --meshConfig file); replaces a ConfigMap istio-system/istio
                               among the files (spec/mesh-config.md)
  -v, --verbose                also list documents of kinds Istio ignores for traffic
                               (ServiceAccounts, Secrets, ...), skipped quietly otherwise
{LIMITS}  -h, --help                   this text

Documents of kinds meshroute does not model (Gateway API routes, security
policies, ...) are listed as Info messages [MR0007]: decisions leave out what
they would change. Info messages never fail the run.

Exit status: 0 no errors (nor warnings with --fail-on warning), 1 warnings
with --fail-on warning, 2 errors (or unreadable input).
";

fn level(value: &str) -> Result<Severity, Failure> {
    match value.to_ascii_lowercase().as_str() {
        "info" => Ok(Severity::Info),
        "warning" | "warn" => Ok(Severity::Warning),
        "error" => Ok(Severity::Error),
        other => Err(Failure(format!(
            "unknown level {other:?}: use info, warning or error"
        ))),
    }
}

/// Runs the command; returns the exit status.
pub fn main(argv: &[String]) -> Result<u8, Failure> {
    let mut json = false;
    let mut fail_on = Severity::Error;
    let mut suppressions: Vec<Suppression> = Vec::new();
    let mut threshold = Severity::Info;
    let mut verbose = false;
    let mut options = LoadOptions::default();
    let mut paths = Vec::new();
    let mut mesh_config_path: Option<String> = None;
    let mut show_progress = true;
    let flags = [
        "--limit",
        "--mesh-config",
        "-o",
        "--output",
        "--fail-on",
        "-S",
        "--suppress",
        "--output-threshold",
        "-n",
        "--namespace",
    ];
    for arg in scan(argv, &flags)? {
        match arg {
            Arg::Positional(p) => paths.push(p),
            Arg::Flag(f, v) => match (f.as_str(), v.unwrap_or_default()) {
                ("-h" | "--help", _) => {
                    print!("{}", HELP.replace("{LIMITS}", crate::limits::HELP));
                    return Ok(0);
                }
                ("--limit", v) => crate::limits::apply(&mut options.limits, &v)?,
                ("--no-progress", _) => show_progress = false,
                ("-o" | "--output", v) => {
                    json = match v.as_str() {
                        "json" => true,
                        "text" | "log" => false,
                        other => return Err(Failure(format!("unknown output format {other:?}"))),
                    }
                }
                ("--fail-on", v) => fail_on = level(&v)?,
                ("-S" | "--suppress", v) => {
                    suppressions.push(Suppression::parse(&v).map_err(Failure)?)
                }
                ("--output-threshold", v) => threshold = level(&v)?,
                ("-n" | "--namespace", v) => options.default_namespace = v,
                ("-v" | "--verbose", _) => verbose = true,
                ("--mesh-config", v) => mesh_config_path = Some(v),
                (other, _) => return Err(unknown(other, "check")),
            },
        }
    }
    if paths.is_empty() {
        return Err(Failure(
            "no files given; run `meshroute check --help`".into(),
        ));
    }
    let names = inputs::expand(&paths, |p| {
        inputs::is_config_file(p) && !inputs::is_test_file(p)
    })?;
    let (test_files, config_files): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| inputs::is_test_file(n));
    let limits = &options.limits;
    let texts = inputs::read_all(&config_files, limits)?;
    let mesh_config = inputs::read_mesh_config(mesh_config_path.as_deref(), limits)?;
    let reporter = Reporter::for_stderr(show_progress);
    let progress = reporter.progress();
    let input_list: Vec<Input<'_>> = texts
        .iter()
        .map(|t| Input {
            name: &t.name,
            text: &t.text,
        })
        .collect();
    let mut messages = Vec::new();
    let mut resources = 0usize;
    if !input_list.is_empty() || (mesh_config.is_some() && test_files.is_empty()) {
        let mut config = load_with_progress(&input_list, &options, progress);
        if let Some(m) = &mesh_config {
            config.add_mesh_config_file(&m.text, &m.name);
        }
        resources += config.resource_count();
        messages.extend(meshroute::check_with_progress(&config, progress));
        // Freeing a big configuration piece by piece costs a tenth of the
        // run at 100,000 services; the process exits soon after.
        std::mem::forget(config);
    }
    for test_file in &test_files {
        let text =
            inputs::read(test_file, limits).map_err(|e| Failure(format!("{test_file}: {e}")))?;
        let file = routetest::parse_within(&text, test_file, limits)?;
        let config = file.load_config_with_progress(
            inputs::resolver(test_file, limits),
            mesh_config.as_ref().map(inputs::Text::pair),
            progress,
        )?;
        resources += config.resource_count();
        messages.extend(meshroute::check_with_progress(&config, progress));
        // Freeing a big configuration piece by piece costs a tenth of the
        // run at 100,000 services; the process exits soon after.
        std::mem::forget(config);
    }
    drop(reporter);
    messages.retain(|m| !suppressions.iter().any(|s| s.matches(m)));
    let shown: Vec<&Message> = messages
        .iter()
        .filter(|m| m.severity >= threshold)
        .filter(|m| verbose || m.code != codes::SKIPPED_KIND)
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else if shown.is_empty() {
        let files = config_files.len() + test_files.len();
        let ignored = messages
            .iter()
            .filter(|m| m.code == codes::NOT_MODELLED)
            .count();
        let ignored = match ignored {
            0 => String::new(),
            1 => ", 1 document not modelled".to_string(),
            n => format!(", {n} documents not modelled"),
        };
        println!(
            "\u{2714} No validation issues found when analyzing {files} file{} ({resources} resource{}{ignored}).",
            if files == 1 { "" } else { "s" },
            if resources == 1 { "" } else { "s" },
        );
    } else {
        let style = Style::for_stdout();
        for m in &shown {
            let text = m.to_string();
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            let first = match m.severity {
                Severity::Error => style.red(first),
                Severity::Warning => style.yellow(first),
                Severity::Info => first.to_string(),
            };
            println!("{first}");
            if !rest.is_empty() {
                println!("{}", style.dim(rest));
            }
        }
    }
    let worst = messages.iter().map(|m| m.severity).max();
    Ok(match worst {
        Some(Severity::Error) => 2,
        Some(Severity::Warning) if fail_on <= Severity::Warning => 1,
        _ => 0,
    })
}
