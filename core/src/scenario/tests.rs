use super::*;
use crate::limits;
use crate::routetest::run_scenario as run;
use serde_json::json;

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
";

fn no_files(name: &str) -> Result<String, String> {
    Err(format!("{name}: no such file"))
}

/// A scenario over two hosts with `policy` as the DestinationRule's trafficPolicy
/// (indented YAML), and `events`/`expect` blocks.
fn scenario(policy: &str, body: &str) -> String {
    let policy: String = policy.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "config:
  files: [svc.yaml]
  inline: |
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {{name: reviews, namespace: default}}
    spec:
      host: reviews
      trafficPolicy:
{policy}destination: {{host: reviews, port: 9080}}
source: {{namespace: default}}
hosts: [10.0.0.1, 10.0.0.2]
{body}"
    )
}

fn line_of(text: &str, needle: &str) -> u32 {
    let index = text.lines().position(|l| l.contains(needle)).unwrap_or(0);
    u32::try_from(index).unwrap_or(0) + 1
}

fn run_text(text: &str) -> Result<ScenarioReport, String> {
    run(text, "s.scenario.yaml", |name| match name {
        "svc.yaml" => Ok(SERVICE.to_string()),
        other => no_files(other),
    })
}

const OD: &str = "outlierDetection:
  consecutive5xxErrors: 5
  interval: 10s
  baseEjectionTime: 30s
  maxEjectionPercent: 50";

#[test]
fn scenario_files_are_recognised_by_their_events_key() {
    assert!(is_scenario("config: {}\nevents: []\n"));
    assert!(!is_scenario("config: {}\ncases: []\n"));
    assert!(!is_scenario("apiVersion: v1\nkind: Service\n"));
    // Broken YAML still counts when a top-level `events:` line is there.
    assert!(is_scenario("events:\n  - {at: [\n"));
}

#[test]
fn fifth_consecutive_5xx_ejects_and_a_tick_brings_it_back() {
    let text = scenario(
        OD,
        "events:
  - {at: 2s, host: 10.0.0.1, result: 503, repeat: 5}
expect:
  - {at: 2s, ejected: [10.0.0.1]}
  - {at: 39s, ejected: [10.0.0.1]}
  - {at: 40s, ejected: []}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:?}", report.results);
    assert_eq!(report.passed(), 3);
    let timeline = report.render_timeline();
    assert!(timeline.contains("EJECTED 10.0.0.1 (5 consecutive 5xx): out for 30s"));
    assert!(timeline.contains("BACK 10.0.0.1"));
}

#[test]
fn four_5xx_do_not_eject_and_a_wrong_expectation_fails_with_actual_values() {
    let text = scenario(
        OD,
        "events:
  - {at: 1s, host: 10.0.0.1, result: 503, repeat: 4}
expect:
  - {at: 1s, ejected: [10.0.0.1]}
",
    );
    let report = run_text(&text).unwrap();
    let r = &report.results[0];
    assert!(!r.passed);
    assert_eq!(r.expected, json!({"ejected": ["10.0.0.1"]}));
    assert_eq!(r.actual, json!({"ejected": []}));
    assert_eq!(r.line, line_of(&text, "ejected: [10.0.0.1]"));
    assert!(report
        .render_timeline()
        .contains("10.0.0.1: 503 x4; consecutive 5xx 4/5 now"));
}

#[test]
fn tick_at_the_same_time_runs_before_the_events() {
    // Ejected at 10s; at 40s the tick (30s out) unejects first, then the
    // 5 new 5xx at 40s eject it again for 60s.
    let text = scenario(
        &OD.replace("maxEjectionPercent: 50", "maxEjectionPercent: 100"),
        "events:
  - {at: 10s, host: 10.0.0.1, result: 503, repeat: 5}
  - {at: 40s, host: 10.0.0.1, result: 503, repeat: 5}
expect:
  - {at: 40s, ejected: [10.0.0.1]}
  - {at: 99s, ejected: [10.0.0.1]}
  - {at: 100s, ejected: []}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    assert!(report
        .render_timeline()
        .contains("out for 1m (base 30s x 2)"));
}

#[test]
fn without_outlier_detection_results_never_eject() {
    let text = scenario(
        "loadBalancer: {simple: ROUND_ROBIN}",
        "events:
  - {at: 1s, host: 10.0.0.1, result: 503, repeat: 50}
  - {at: 2s, pick: 10}
expect:
  - {at: 1s, ejected: []}
  - {at: 2s, picks: {10.0.0.1: 5, 10.0.0.2: 5}}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    assert!(report
        .setup
        .iter()
        .any(|l| l.contains("outlier detection: off")));
}

#[test]
fn picks_are_counted_per_time_and_unlisted_hosts_must_have_none() {
    let text = scenario(
        "loadBalancer: {simple: ROUND_ROBIN}",
        "events:
  - {at: 1s, pick: 4}
  - {at: 2s, pick: 2}
expect:
  - {at: 1s, picks: {10.0.0.1: 2, 10.0.0.2: 2}}
  - {at: 2s, picks: {10.0.0.1: 1}}
  - {at: 3s, picks: {}, unpicked: 0}
",
    );
    let report = run_text(&text).unwrap();
    let passed: Vec<bool> = report.results.iter().map(|r| r.passed).collect();
    assert_eq!(passed, vec![true, false, true]);
    assert_eq!(
        report.results[1].actual,
        json!({"picks": {"10.0.0.1": 1, "10.0.0.2": 1}})
    );
}

#[test]
fn grpc_unavailable_counts_as_503_and_grpc_not_found_does_not() {
    let text = scenario(
        OD,
        "events:
  - {at: 1s, host: 10.0.0.1, result: 'grpc:UNAVAILABLE', repeat: 5}
  - {at: 1s, host: 10.0.0.2, result: 'grpc:NOT_FOUND', repeat: 5}
expect:
  - {at: 1s, ejected: [10.0.0.1]}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
}

#[test]
fn timeouts_and_resets_count_as_5xx_without_the_split() {
    let text = scenario(
        &OD.replace("maxEjectionPercent: 50", "maxEjectionPercent: 100"),
        "events:
  - {at: 1s, host: 10.0.0.1, result: timeout, repeat: 5}
  - {at: 1s, host: 10.0.0.2, result: reset, repeat: 4}
expect:
  - {at: 1s, ejected: [10.0.0.1]}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
}

#[test]
fn pool_overflow_explains_which_limit_was_hit() {
    let text = scenario(
        "connectionPool:\n  tcp: {maxConnections: 1}\n  http: {http1MaxPendingRequests: 1}",
        "events:
  - {at: 0s, start: 3, host: 10.0.0.1}
  - {at: 1s, finish: 5}
expect:
  - {at: 0s, admitted: 1, pending: 1, overflowed: 1}
  - {at: 1s, active: 0, pending: 0, admitted: 2}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    let timeline = report.render_timeline();
    assert!(timeline.contains("http1MaxPendingRequests 1 reached"));
    assert!(timeline.contains("maxConnections 1 allows no new connection"));
    // finish 5 with 2 running (the first, then the promoted one).
    assert!(timeline.contains("finish x5: 2 ended"));
}

#[test]
fn start_without_host_goes_where_the_balancer_picks() {
    let text = scenario(
        "loadBalancer: {simple: ROUND_ROBIN}",
        "events:
  - {at: 0s, start: 4}
expect:
  - {at: 0s, active: 4, admitted: 4}
",
    );
    let report = run_text(&text).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    assert!(report
        .render_timeline()
        .contains("4 running (10.0.0.1: 2, 10.0.0.2: 2)"));
}

#[test]
fn registry_pods_of_the_subset_are_the_hosts() {
    let text = "config:
  inline: |
    apiVersion: v1
    kind: Service
    metadata: {name: reviews, namespace: default}
    spec:
      selector: {app: reviews}
      ports: [{name: http, port: 9080}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: r1, namespace: default, labels: {app: reviews, version: v1}}
    spec: {containers: [{name: c, image: i}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: r2, namespace: default, labels: {app: reviews, version: v2}}
    spec: {containers: [{name: c, image: i}]}
    ---
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: reviews, namespace: default}
    spec:
      host: reviews
      subsets:
      - {name: v1, labels: {version: v1}}
destination: {host: reviews, subset: v1}
events:
  - {at: 0s, pick: 3}
expect:
  - {at: 0s, picks: {r1: 3}}
";
    let report = run(text, "s.scenario.yaml", no_files).unwrap();
    assert_eq!(report.failed(), 0, "{:#?}", report.results);
    assert!(report.setup[0].starts_with("destination outbound|9080|v1|reviews.default"));
}

#[test]
fn mistakes_are_reported_with_their_line() {
    let bad_key = scenario(OD, "events:\n  - {at: 1s, host: 10.0.0.1, resut: 503}\n");
    let err = run_text(&bad_key).unwrap_err();
    let line = line_of(&bad_key, "resut");
    assert!(
        err.starts_with(&format!("s.scenario.yaml:{line}:")),
        "{err}"
    );
    assert!(err.contains("did you mean `result`"), "{err}");

    let unknown_host = scenario(OD, "events:\n  - {at: 1s, host: 10.0.0.9, result: 503}\n");
    let err = run_text(&unknown_host).unwrap_err();
    assert!(
        err.contains("10.0.0.9 is not one of the destination's hosts"),
        "{err}"
    );
    let line = line_of(&unknown_host, "10.0.0.9");
    assert!(
        err.starts_with(&format!("s.scenario.yaml:{line}:")),
        "{err}"
    );

    let out_of_order = scenario(
        OD,
        "events:\n  - {at: 2s, pick: 1}\n  - {at: 1s, pick: 1}\n",
    );
    let err = run_text(&out_of_order).unwrap_err();
    assert!(err.contains("time order"), "{err}");

    let two_actions = scenario(OD, "events:\n  - {at: 1s, pick: 1, start: 1}\n");
    assert!(run_text(&two_actions).unwrap_err().contains("one action"));

    let bad_result = scenario(
        OD,
        "events:\n  - {at: 1s, host: 10.0.0.1, result: timout}\n",
    );
    assert!(run_text(&bad_result)
        .unwrap_err()
        .contains("did you mean `timeout`"));

    let missing_file = scenario(OD, "events: []\n").replace("svc.yaml", "nope.yaml");
    assert!(run_text(&missing_file)
        .unwrap_err()
        .contains("cannot read config file \"nope.yaml\""));

    let undefined_subset =
        scenario(OD, "events: []\n").replace("port: 9080}", "port: 9080, subset: v9}");
    assert!(run_text(&undefined_subset)
        .unwrap_err()
        .contains("subset \"v9\" is not defined"));
}

#[test]
fn the_operation_limit_is_enforced() {
    let text = scenario(
        OD,
        &format!(
            "events:\n  - {{at: 1s, pick: {}}}\n",
            limits::MAX_SCENARIO_OPERATIONS + 1
        ),
    );
    assert!(run_text(&text).unwrap_err().contains("operations"));
    let ticks = scenario(OD, "events:\n  - {at: 1000000000s, pick: 1}\n");
    assert!(run_text(&ticks).unwrap_err().contains("intervals"));
}

#[test]
fn the_file_is_read_and_its_configuration_loaded_once() {
    let text = scenario(
        OD,
        "events:\n  - {at: 1s, host: 10.0.0.1, result: 503}\nexpect:\n  - {at: 1s, ejected: []}\n",
    );
    let mut asked = Vec::new();
    let report = crate::routetest::run(&text, "dir/s.scenario.yaml", |name| {
        asked.push(name.to_string());
        Ok(SERVICE.to_string())
    });
    assert_eq!(asked, ["svc.yaml"]);
    assert_eq!(report.error, None);
    assert_eq!(report.passed(), 1, "{:?}", report.cases);
    assert_eq!(report.cases[0].location.line, line_of(&text, "ejected: []"));
}

#[test]
fn route_test_keys_in_a_scenario_and_a_route_test_given_as_one_are_errors() {
    let with_defaults = scenario(OD, "defaults: {port: 1}\nevents: []\n");
    let err = run_text(&with_defaults).unwrap_err();
    assert!(
        err.contains("`defaults` belongs to route-test files"),
        "{err}"
    );
    let err = run("cases: []\n", "t.routetest.yaml", no_files).unwrap_err();
    assert!(err.contains("not a scenario"), "{err}");
}

#[test]
fn setup_errors_name_the_file() {
    let no_hosts = "config: {inline: \"\"}\ndestination: {host: nowhere}\nevents: []\n";
    let err = run(no_hosts, "s.scenario.yaml", no_files).unwrap_err();
    assert!(
        err.starts_with("s.scenario.yaml: ") && err.contains("gives no `hosts`"),
        "{err}"
    );
}
