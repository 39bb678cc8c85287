//! `--limit NAME=VALUE` on every command that loads configuration, and
//! progress that stays off standard error when it is not a terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn meshroute_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A command that refuses its arguments exits before reading stdin.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    child.wait_with_output().expect("the binary finishes")
}

fn meshroute(args: &[&str]) -> Output {
    meshroute_with_stdin(args, "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "meshroute-cli-limits-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {ports: [{name: http, port: 9080}]}\n";

/// `N` Services, one document each.
fn services(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: ns-{}}}\nspec: {{ports: [{{name: http, port: 8080}}], selector: {{app: svc-{i}}}}}\n---\n", i % 50)
        })
        .collect()
}

/// Every command that loads configuration, with arguments that make it
/// load `file` (a mesh, or a route-test / scenario file naming it).
fn commands(dir: &std::path::Path) -> Vec<Vec<String>> {
    let mesh = dir.join("mesh.yaml");
    std::fs::write(&mesh, format!("{SERVICE}---\n{SERVICE}")).unwrap();
    let routetest = dir.join("t.routetest.yaml");
    std::fs::write(
        &routetest,
        "config: {files: [mesh.yaml]}\ncases:\n- request: {host: reviews:9080}\n  expect: {outcome: route}\n",
    )
    .unwrap();
    let scenario = dir.join("s.scenario.yaml");
    std::fs::write(
        &scenario,
        "config: {files: [mesh.yaml]}\ndestination: {host: reviews, port: 9080}\nhosts: [10.0.0.1]\nevents:\n- {at: 1s, pick: 1}\nexpect: []\n",
    )
    .unwrap();
    let (mesh, routetest, scenario) = (
        mesh.to_string_lossy().into_owned(),
        routetest.to_string_lossy().into_owned(),
        scenario.to_string_lossy().into_owned(),
    );
    [
        vec!["check", mesh.as_str()],
        vec!["route", "-f", mesh.as_str(), "http://reviews:9080/"],
        vec!["explain", "-f", mesh.as_str(), "http://reviews:9080/"],
        vec!["explain", routetest.as_str()],
        vec!["test", routetest.as_str()],
        vec!["simulate", scenario.as_str()],
        vec!["envoy-config", mesh.as_str()],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect()
}

#[test]
fn every_command_that_loads_takes_limit_and_names_it_in_its_help() {
    for command in [
        "check",
        "route",
        "explain",
        "test",
        "simulate",
        "envoy-config",
    ] {
        let o = meshroute(&[command, "--help"]);
        let help = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(
            help.contains("--limit NAME=VALUE") && help.contains("max_input_bytes=1GiB"),
            "{command} --help:\n{help}"
        );
        assert!(help.contains("--no-progress"), "{command} --help:\n{help}");
    }
}

#[test]
fn a_lowered_document_limit_is_hit_in_every_command_and_the_error_names_the_flag() {
    let dir = scratch("lowered");
    for command in commands(&dir) {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        let within = meshroute(&args);
        let output = format!("{}{}", text(&within.stdout), text(&within.stderr));
        assert!(!output.contains("max_documents"), "{args:?}:\n{output}");
        args.insert(1, "--limit=max_documents=1");
        let over = meshroute(&args);
        let output = format!("{}{}", text(&over.stdout), text(&over.stderr));
        assert!(
            output.contains("more than 1 documents") && output.contains("--limit max_documents=N"),
            "{args:?}:\n{output}"
        );
    }
}

#[test]
fn a_bad_limit_is_a_usage_error_with_a_suggestion_in_every_command() {
    let dir = scratch("bad");
    for command in commands(&dir) {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.insert(1, "--limit");
        args.insert(2, "max_documnets=5");
        let o = meshroute(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("did you mean max_documents?"),
            "{args:?}: {err}"
        );
        args[2] = "max_documents=five";
        let o = meshroute(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("a whole number"), "{args:?}: {err}");
    }
    let o = meshroute(&["check", "--limit", "max_regex_len=4096", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("fixed"), "{}", text(&o.stderr));
}

#[test]
fn a_raised_request_limit_lets_route_decide() {
    let mut args = vec!["route", "-f", "-"];
    let headers: Vec<String> = (0..1100).map(|i| format!("x-{i}:v")).collect();
    for h in &headers {
        args.extend(["-H", h.as_str()]);
    }
    args.push("http://reviews:9080/");
    let o = meshroute_with_stdin(&args, SERVICE);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("1100 headers, more than 1024")
            && err.contains("--limit max_request_headers=N"),
        "{err}"
    );
    args.insert(1, "--limit");
    args.insert(2, "max_request_headers=2_000");
    let o = meshroute_with_stdin(&args, SERVICE);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("reviews.default.svc.cluster.local"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_raised_input_size_reads_a_file_the_default_refuses() {
    let dir = scratch("size");
    let mesh = dir.join("big.yaml");
    // A comment past 64 MiB: cheap to load, over the default size.
    let mut big = String::from(SERVICE);
    big.push('#');
    big.push_str(&"x".repeat(64 << 20));
    big.push('\n');
    std::fs::write(&mesh, big).unwrap();
    let mesh = mesh.to_string_lossy().into_owned();
    let o = meshroute(&["check", &mesh]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("--limit max_input_bytes=SIZE"), "{err}");
    let o = meshroute(&["check", "--limit", "max_input_bytes=65MiB", &mesh]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loading and compiling this input takes over a second in a debug build,
/// long enough for a bar to be drawn were standard error a terminal; piped,
/// nothing but the command's own output appears.
#[test]
fn progress_stays_off_a_piped_standard_error() {
    let dir = scratch("piped");
    let mesh = dir.join("mesh.yaml");
    std::fs::write(&mesh, services(60_000)).unwrap();
    let mesh = mesh.to_string_lossy().into_owned();
    let o = meshroute(&[
        "route",
        "-f",
        &mesh,
        "--from",
        "ns-1",
        "http://svc-1.ns-1:8080/",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert!(
        text(&o.stdout).contains("svc-1.ns-1.svc.cluster.local"),
        "{}",
        text(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
