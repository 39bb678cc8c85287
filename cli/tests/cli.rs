//! Runs the built `meshroute` binary on small inputs.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn meshroute(args: &[&str]) -> Output {
    meshroute_with_stdin(args, "")
}

fn meshroute_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the input");
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshroute-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path.to_string_lossy().into_owned()
}

const GOOD_VS: &str = "apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
";

const TYPO_VS: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spce:
  hosts: [reviews]
";

const DUPLICATE_VS: &str = "apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
";

#[test]
fn check_clean_config_exits_0_with_the_istioctl_line() {
    let dir = scratch("clean");
    let f = write(&dir, "vs.yaml", GOOD_VS);
    let o = meshroute(&["check", &f]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("\u{2714} No validation issues found when analyzing 1 file"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_typo_shows_line_column_and_did_you_mean_and_exits_2() {
    let dir = scratch("typo");
    let f = write(&dir, "vs.yaml", TYPO_VS);
    let o = meshroute(&["check", &f]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert!(
        out.starts_with("Error [MR0002] (VirtualService default/reviews"),
        "{out}"
    );
    assert!(out.contains(&format!("{f}:5:1")), "{out}");
    assert!(out.contains("did you mean `spec`?"), "{out}");
}

#[test]
fn check_suppress_leaves_out_a_code_on_matching_resources() {
    // istioctl analyze --suppress CODE=RESOURCE (glob `*`).
    let dir = scratch("suppress");
    let f = write(
        &dir,
        "dr.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ratings, namespace: default}\nspec:\n  host: ratings.example.com\n",
    );
    let o = meshroute(&["check", "--fail-on", "warning", &f]);
    assert!(stdout(&o).contains("[IST0174]"), "{}", stdout(&o));
    let o = meshroute(&[
        "check",
        "--fail-on",
        "warning",
        "--suppress",
        "IST0174=DestinationRule */ratings",
        &f,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = meshroute(&["check", "-S", "IST0174", &f]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn check_warnings_exit_1_only_with_fail_on_warning() {
    let dir = scratch("warn");
    let f = write(&dir, "vs.yaml", DUPLICATE_VS);
    assert_eq!(meshroute(&["check", &f]).status.code(), Some(0));
    let o = meshroute(&["check", "--fail-on", "warning", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("Warning [MR0006]"), "{}", stdout(&o));
}

#[test]
fn check_json_output_is_a_list_of_messages() {
    let o = meshroute_with_stdin(&["check", "-o", "json", "-"], TYPO_VS);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    let list = v.as_array().expect("a list");
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(m["code"], "MR0002");
    assert_eq!(m["severity"], "Error");
    assert_eq!(m["resource"], "VirtualService default/reviews");
    assert_eq!(m["source"]["file"], "-");
    assert_eq!(m["source"]["line"], 5);
    assert_eq!(m["source"]["column"], 1);
    assert!(m["text"].as_str().unwrap_or("").contains("spce"));

    let clean = meshroute_with_stdin(&["check", "-o", "json", "-"], GOOD_VS);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(stdout(&clean).trim(), "[]");
}

#[test]
fn check_reads_directories_recursively() {
    let dir = scratch("dir");
    std::fs::create_dir_all(dir.join("sub")).expect("subdir");
    write(&dir, "sub/vs.yml", TYPO_VS);
    write(&dir, "notes.txt", "not yaml: [");
    let o = meshroute(&["check", &dir.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains("sub/vs.yml:5:1"));
}

#[test]
fn test_ends_with_the_count_line_and_fails_on_failures() {
    let dir = scratch("test");
    write(&dir, "vs.yaml", TYPO_VS);
    let t = write(
        &dir,
        "a.routetest.yaml",
        "config: {files: [vs.yaml]}
cases:
  - name: the typo is reported
    request: {host: reviews}
    expectError: unknown field `SPCE`
  - name: some other error
    request: {host: reviews}
    expectError: no such message
",
    );
    let o = meshroute(&["test", &t]);
    let out = stdout(&o);
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
    assert_eq!(o.status.code(), Some(1));
    let fail_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fail_lines.len(), 1, "{out}");
    assert!(
        fail_lines[0].contains("a.routetest.yaml:6: some other error"),
        "{out}"
    );

    let ok = write(
        &dir,
        "b.routetest.yaml",
        "config: {files: [vs.yaml]}\ncases:\n  - {name: x, request: {host: r}, expectError: spce}\n",
    );
    let o = meshroute(&["test", &ok]);
    assert_eq!(stdout(&o).lines().last(), Some("1 passed, 0 failed"));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn test_counts_each_scenario_expectation_as_a_case() {
    let dir = scratch("scenario");
    let s = write(
        &dir,
        "s.scenario.yaml",
        "config: {inline: \"\"}\ndestination: {host: reviews.example.com, port: 80}\nhosts: [10.0.0.1]\nevents:\n  - {at: 0s, start: 1}\nexpect:\n  - {at: 0s, admitted: 1}\n  - {at: 0s, admitted: 2}\n",
    );
    let o = meshroute(&["test", &s]);
    let out = stdout(&o);
    assert!(out.contains("FAIL"), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn test_reports_a_broken_file_as_a_failure() {
    let dir = scratch("broken");
    let t = write(
        &dir,
        "c.routetest.yaml",
        "cases:\n  - name: a\n    expcet: {}\n",
    );
    let o = meshroute(&["test", &t]);
    let out = stdout(&o);
    assert!(out.contains("did you mean `expect`"), "{out}");
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn every_command_has_help() {
    for c in ["check", "route", "explain", "test"] {
        let o = meshroute(&[c, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{c}");
        assert!(
            stdout(&o).starts_with(&format!("Usage: meshroute {c}")),
            "{c}"
        );
    }
    assert_eq!(meshroute(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(meshroute(&["check", "--bogus", "x"]).status.code(), Some(2));
}

#[test]
fn explain_a_route_test_file_shows_every_case_plainly_when_piped() {
    let dir = scratch("explain");
    write(&dir, "vs.yaml", GOOD_VS);
    let t = write(
        &dir,
        "e.routetest.yaml",
        "config: {files: [vs.yaml]}\ndefaults: {port: 9080}\ncases:\n  - {name: first case, request: {host: reviews, headers: {end-user: jason}}, expectError: hedaers}\n  - {name: second case, request: {host: reviews, hedaers: {}}, expectError: hedaers}\n",
    );
    let o = meshroute(&["explain", &t]);
    let out = stdout(&o);
    assert!(
        out.contains("first case") && out.contains("second case"),
        "{out}"
    );
    assert!(out.contains("GET http://reviews:9080/"), "{out}");
    assert!(out.contains("end-user: jason"), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour when piped: {out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
    assert_eq!(o.status.code(), Some(1));
}

/// The project's scenario files, from the repository root.
fn scenario_file(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn explain_a_scenario_file_replays_it_and_judges_every_expectation() {
    let file = scenario_file("outlier-ejection-at-fifth-5xx.scenario.yaml");
    let o = meshroute(&["explain", &file]);
    let out = stdout(&o);
    assert!(!out.contains("pending"), "{out}");
    assert!(
        out.contains("outlier detection: eject after 5 consecutive 5xx"),
        "{out}"
    );
    assert!(
        out.contains("EJECTED 10.0.0.1 (5 consecutive 5xx)"),
        "{out}"
    );
    assert!(
        out.contains("\u{2714} expect[1] at 4s") && out.contains("{\"ejected\":[\"10.0.0.1\"]}"),
        "{out}"
    );
    let tested = meshroute(&["test", &file]);
    assert_eq!(out.lines().last(), stdout(&tested).lines().last(), "{out}");
    assert_eq!(out.lines().last(), Some("5 passed, 0 failed"));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn explain_a_failing_scenario_shows_expected_and_actual_and_exits_as_test_does() {
    let dir = scratch("explain-scenario");
    let s = write(
        &dir,
        "s.scenario.yaml",
        "config: {inline: \"\"}\ndestination: {host: reviews.example.com, port: 80}\nhosts: [10.0.0.1]\nevents:\n  - {at: 0s, start: 1}\nexpect:\n  - {at: 0s, admitted: 1}\n  - {at: 0s, admitted: 2}\n",
    );
    let o = meshroute(&["explain", &s]);
    let out = stdout(&o);
    assert!(out.contains("start x1: 1 running (10.0.0.1: 1)"), "{out}");
    assert!(
        out.contains("\u{2718} expect[1] at 0s (")
            && out
                .contains("not as expected: expected {\"admitted\":2} at 0s, got {\"admitted\":1}"),
        "{out}"
    );
    assert!(
        out.contains("s.scenario.yaml:8)"),
        "the entry's line: {out}"
    );
    let tested = meshroute(&["test", &s]);
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
    assert_eq!(stdout(&tested).lines().last(), Some("1 passed, 1 failed"));
    assert_eq!(o.status.code(), tested.status.code());
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn explain_a_scenario_that_cannot_be_set_up_counts_it_failed() {
    let dir = scratch("explain-scenario-error");
    let s = write(
        &dir,
        "s.scenario.yaml",
        "config: {inline: \"\"}\ndestination: {host: nowhere}\nevents: []\nexpect:\n  - {at: 0s, admitted: 0}\n",
    );
    let o = meshroute(&["explain", &s]);
    let out = stdout(&o);
    assert!(out.contains("gives no `hosts`"), "{out}");
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"), "{out}");
    assert_eq!(o.status.code(), Some(1));
    let tested = meshroute(&["test", &s]);
    assert_eq!(stdout(&tested).lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn simulate_prints_the_timeline_and_each_expectation() {
    let file = scenario_file("pool-pending-overflow-http1.scenario.yaml");
    let o = meshroute(&["simulate", &file]);
    let out = stdout(&o);
    assert!(out.contains("connection pool (HTTP/1.1"), "{out}");
    assert!(out.contains("\u{2714} expect at"), "{out}");
    assert!(!out.contains('\u{2718}'), "{out}");
    assert_eq!(o.status.code(), Some(0));
}

/// A root VirtualService whose `delegate` entries, each counted as the
/// leaf's routes, carry more HTTP routes than `limits::MAX_RULES_PER_HOST`
/// (317 x 317 = 100,489 > 100,000) in a few kilobytes of text.
fn over_the_rules_per_host_limit() -> String {
    let per_side = 317;
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: root}\nspec:\n  hosts: [t.example]\n  http:\n",
    );
    text.push_str(&"  - delegate: {name: leaf}\n".repeat(per_side));
    text.push_str(
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: leaf}\nspec:\n  http:\n",
    );
    text.push_str(&"  - route: [{destination: {host: t.example}}]\n".repeat(per_side));
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n");
    text
}

#[test]
fn check_reports_a_virtual_service_left_out_for_exceeding_the_rules_limit() {
    let o = meshroute_with_stdin(
        &["check", "--output-threshold", "error", "-"],
        &over_the_rules_per_host_limit(),
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.starts_with("Error [MR0005] (VirtualService default/root spec.http) -:6:"),
        "{out}"
    );
    assert!(out.contains("MAX_RULES_PER_HOST"), "{out}");
    assert_eq!(out.matches("[MR0005]").count(), 1, "{out}");
}

const GATEWAY_API_ROUTE: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: g}]
";

#[test]
fn check_lists_documents_it_does_not_model_and_never_fails_on_them() {
    let dir = scratch("not-modelled");
    let f = write(&dir, "route.yaml", GATEWAY_API_ROUTE);
    let o = meshroute(&["check", &f]);
    let out = stdout(&o);
    assert_eq!(
        out,
        format!(
            "Info [MR0007] (HTTPRoute default/r) {f}:1:1 HTTPRoute default/r is not modelled: ignored\n"
        )
    );
    assert_eq!(o.status.code(), Some(0));
    for fail_on in ["warning", "info"] {
        let o = meshroute(&["check", "--fail-on", fail_on, &f]);
        assert_eq!(o.status.code(), Some(0), "--fail-on {fail_on}");
    }

    let o = meshroute(&["check", "--output-threshold", "warning", &f]);
    assert_eq!(
        stdout(&o),
        "\u{2714} No validation issues found when analyzing 1 file (0 resources, 1 document not modelled).\n"
    );

    let account = write(
        &dir,
        "account.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reviews}\n",
    );
    let o = meshroute(&["check", &account]);
    assert_eq!(
        stdout(&o),
        "\u{2714} No validation issues found when analyzing 1 file (0 resources).\n",
        "kinds Istio ignores stay quiet"
    );
    let o = meshroute(&["check", "-v", &account]);
    assert!(stdout(&o).starts_with("Info [MR0004]"), "{}", stdout(&o));
}

/// Runs the binary with a standard output nobody reads (the reader is
/// closed before the child starts, as `| head -0` would end up).
fn meshroute_with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs")
}

#[test]
fn every_command_ends_quietly_when_its_output_is_closed() {
    let dir = scratch("closed-stdout");
    let vs = write(&dir, "vs.yaml", GOOD_VS);
    let test = write(
        &dir,
        "t.routetest.yaml",
        "config: {files: [vs.yaml]}\ncases:\n  - {name: a, request: {host: reviews, port: 9080}, expect: {outcome: route}}\n",
    );
    let scenario = write(
        &dir,
        "s.scenario.yaml",
        "config: {inline: \"\"}\ndestination: {host: reviews.example.com, port: 80}\nhosts: [10.0.0.1]\nevents:\n  - {at: 0s, start: 1}\nexpect:\n  - {at: 0s, admitted: 1}\n",
    );
    let commands: [&[&str]; 7] = [
        &["route", "-f", &vs, "http://reviews:9080/"],
        &["explain", "-f", &vs, "http://reviews:9080/"],
        &["explain", &test],
        &["check", &vs],
        &["test", &test],
        &["simulate", &scenario],
        &["envoy-config", &vs],
    ];
    for args in commands {
        let o = meshroute_with_closed_stdout(args);
        assert_eq!(o.status.code(), Some(141), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{args:?}");
    }
}

/// `--mesh-config` on every command that reads configuration: REGISTRY_ONLY
/// turns a passthrough into istiod's 502, explain names the file, and the
/// file replaces a ConfigMap istio-system/istio among the inputs.
#[test]
fn mesh_config_flag_changes_decisions_on_every_command() {
    let dir = scratch("mesh-config");
    let config = write(&dir, "svc.yaml", GOOD_VS);
    let mesh = write(
        &dir,
        "mesh.yaml",
        "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n",
    );
    let allow_map = write(
        &dir,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    outboundTrafficPolicy: {mode: ALLOW_ANY}\n",
    );
    let plain = meshroute(&["route", "-f", &config, "http://example.com/"]);
    assert!(stdout(&plain).contains("passthrough"), "{}", stdout(&plain));
    let refused = meshroute(&[
        "route",
        "--mesh-config",
        &mesh,
        "-f",
        &format!("{config},{allow_map}"),
        "http://example.com/",
    ]);
    assert!(stdout(&refused).contains("502"), "{}", stdout(&refused));
    let explained = meshroute(&[
        "explain",
        "--mesh-config",
        &mesh,
        "-f",
        &config,
        "http://example.com/",
    ]);
    let text = stdout(&explained);
    assert!(
        text.contains("REGISTRY_ONLY") && text.contains("mesh.yaml"),
        "{text}"
    );
    let checked = meshroute(&["check", "--mesh-config", &mesh, &config, &allow_map]);
    let text = stdout(&checked);
    assert!(text.contains("replaced by mesh config file"), "{text}");
    let test = write(
        &dir,
        "unknown.routetest.yaml",
        "config: {files: [svc.yaml]}\ncases:\n  - {request: {host: example.com}, expect: {outcome: directResponse, directResponse: {status: 502}}}\n",
    );
    let without = meshroute(&["test", &test]);
    assert!(
        stdout(&without).contains("0 passed, 1 failed"),
        "{}",
        stdout(&without)
    );
    let with = meshroute(&["test", "--mesh-config", &mesh, &test]);
    assert!(
        stdout(&with).contains("1 passed, 0 failed"),
        "{}",
        stdout(&with)
    );
    let envoy = meshroute(&[
        "envoy-config",
        &config,
        "--mesh-config",
        "/nonexistent/mesh.yaml",
    ]);
    assert_eq!(
        envoy.status.code(),
        Some(1),
        "an unreadable mesh config is an error"
    );
}
