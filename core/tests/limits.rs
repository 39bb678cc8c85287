//! Every input limit in `meshroute::limits`: exceeding it is a clear error
//! that names it and how to raise it, the nearest input within it is
//! accepted, and a raised limit lets the input through. The README's
//! "Limits" table must list every limit with its value and its name.

use meshroute::limits::{self, *};
use meshroute::load::{load, load_str, Input, LoadOptions};
use meshroute::matching::regex::Re2Regex;
use meshroute::{Mesh, Request};

fn limit_errors(config: &meshroute::model::Config) -> String {
    config
        .messages
        .iter()
        .filter(|m| m.code == "MR0005")
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn documents_over_the_limit_are_refused_and_the_limit_itself_is_not() {
    let at_limit = "a: 1\n---\n".repeat(MAX_DOCUMENTS);
    assert_eq!(limit_errors(&load_str(&at_limit, "docs.yaml")), "");
    let over = format!("{at_limit}a: 1\n");
    let errors = limit_errors(&load_str(&over, "docs.yaml"));
    assert!(errors.contains("MAX_DOCUMENTS"), "{errors}");
}

fn nested(depth: usize) -> String {
    // `spec` is at depth 1 under the document's root mapping.
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: n}}\ndata: {}1{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn nesting_over_the_limit_is_refused_and_well_within_it_is_not() {
    assert_eq!(
        limit_errors(&load_str(&nested(MAX_NESTING_DEPTH - 4), "n.yaml")),
        ""
    );
    let errors = limit_errors(&load_str(&nested(MAX_NESTING_DEPTH + 1), "n.yaml"));
    assert!(errors.contains("MR0005"), "{errors}");
}

#[test]
fn input_bytes_over_the_limit_are_refused() {
    let over = " ".repeat(MAX_INPUT_BYTES + 1);
    let errors = limit_errors(&load_str(&over, "big.yaml"));
    assert!(errors.contains("MAX_INPUT_BYTES"), "{errors}");
    let within = " ".repeat(1024);
    assert_eq!(limit_errors(&load_str(&within, "small.yaml")), "");
}

#[test]
fn regex_length_limit_is_istios_1024() {
    assert!(Re2Regex::new(&"a".repeat(MAX_REGEX_LEN)).is_ok());
    let e = Re2Regex::new(&"a".repeat(MAX_REGEX_LEN + 1)).expect_err("over the limit");
    assert!(e.to_string().contains("1024"), "{e}");
}

#[test]
fn regex_program_size_limit_refuses_large_programs_only() {
    // `\pL` is a large Unicode class; a few repetitions fit, a thousand do not.
    assert!(Re2Regex::new(r"\pL{10}").is_ok());
    let e = Re2Regex::new(r"\pL{1000}").expect_err("program too large");
    assert!(
        e.to_string().contains(&MAX_REGEX_PROGRAM_BYTES.to_string()),
        "{e}"
    );
}

/// One VirtualService (first, so tests index it as `virtual_services[0]`)
/// for a host the registry knows on port 80, so a request to it is routed
/// by the VirtualService when the table keeps it.
const VS_HEAD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  http:\n  - route: [{destination: {host: t.example}}]\n---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n";

/// A configuration whose one VirtualService has `routes` HTTP routes (built
/// in memory: loading 100,000 rules is the hostile test's job).
fn with_routes(routes: usize) -> meshroute::model::Config {
    let mut config = load_str(VS_HEAD, "vs.yaml");
    assert!(!config.has_errors());
    let vs = &mut config.virtual_services[0];
    let one = vs.spec.http[0].clone();
    vs.spec.http = vec![one; routes];
    config
}

#[test]
fn rules_per_host_over_the_limit_leave_the_virtual_service_out_with_an_error() {
    let config = with_routes(MAX_RULES_PER_HOST + 1);
    let messages = limits::check(&config);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].is_error());
    assert!(
        messages[0].text.contains("MAX_RULES_PER_HOST"),
        "{}",
        messages[0]
    );
    let mesh = Mesh::compile(&config);
    let d = mesh.decide(&Request::new("t.example")).expect("decides");
    assert_eq!(d.virtual_service(), None, "the VirtualService is left out");
    // (`routetest::config_messages`, used by `meshroute check` and route
    // tests, adds `limits::check`; it is not called here because analysing
    // 100,001 rules is slow in a debug build.)
}

#[test]
fn rules_per_host_at_the_limit_are_accepted() {
    let config = with_routes(MAX_RULES_PER_HOST);
    assert!(limits::check(&config).is_empty());
}

#[test]
fn delegated_routes_count_toward_the_root_hosts_limit() {
    let text = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: root}\nspec:\n  hosts: [t.example]\n  http:\n  - delegate: {name: leaf}\n  - route: [{destination: {host: t.example}}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: leaf}\nspec:\n  http:\n  - route: [{destination: {host: t.example}}]\n";
    let mut config = load_str(text, "d.yaml");
    assert_eq!(
        limits::http_routes_after_delegation(&config.virtual_services[0], &config),
        2
    );
    let leaf = config.virtual_services[1].spec.http[0].clone();
    config.virtual_services[1].spec.http = vec![leaf; MAX_RULES_PER_HOST];
    let messages = limits::check(&config);
    assert_eq!(messages.len(), 1, "the root, not the delegate");
    assert!(
        messages[0].resource.contains("default/root"),
        "{}",
        messages[0]
    );
}

#[test]
fn request_header_count_and_size_limits() {
    let mesh = Mesh::compile(&load_str(VS_HEAD, "vs.yaml"));
    let mut req = Request::new("t.example");
    for i in 0..MAX_REQUEST_HEADERS {
        req.headers.append(&format!("h{i}"), "v");
    }
    assert!(mesh.decide(&req).is_ok());
    req.headers.append("one-more", "v");
    let e = mesh.decide(&req).expect_err("too many headers");
    assert!(e.to_string().contains("MAX_REQUEST_HEADERS"), "{e}");

    let name = "x";
    let fits = "v".repeat(MAX_REQUEST_HEADER_BYTES - name.len());
    assert!(mesh
        .decide(&Request::new("t.example").header(name, &fits))
        .is_ok());
    let over = format!("{fits}v");
    let e = mesh
        .decide(&Request::new("t.example").header(name, &over))
        .expect_err("header too large");
    assert!(e.to_string().contains("MAX_REQUEST_HEADER_BYTES"), "{e}");
}

#[test]
fn request_path_limit() {
    let mesh = Mesh::compile(&load_str(VS_HEAD, "vs.yaml"));
    let fits = format!("/{}", "a".repeat(MAX_REQUEST_PATH_BYTES - 1));
    assert!(mesh
        .decide(&Request::new("t.example").path(fits.clone()))
        .is_ok());
    let e = mesh
        .decide(&Request::new("t.example").path(format!("{fits}a")))
        .expect_err("path too long");
    assert!(e.to_string().contains("MAX_REQUEST_PATH_BYTES"), "{e}");
}

/// `(name, value as written)` of every `pub const` in limits.rs.
fn declared_limits() -> Vec<(String, String)> {
    include_str!("../src/limits.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let (_, value) = rest.split_once('=')?;
            Some((
                name.trim().to_string(),
                value.trim().trim_end_matches(';').trim().to_string(),
            ))
        })
        .collect()
}

fn load_within(text: &str, name: &str, limits: &Limits) -> meshroute::model::Config {
    let options = LoadOptions {
        limits: limits.clone(),
        ..LoadOptions::default()
    };
    load(&[Input { name, text }], &options)
}

#[test]
fn a_raised_document_limit_lets_the_load_through_and_the_error_says_how() {
    let over = "a: 1\n---\n".repeat(MAX_DOCUMENTS + 1);
    let errors = limit_errors(&load_str(&over, "docs.yaml"));
    assert!(
        errors.contains("--limit max_documents=N") && errors.contains("MAX_DOCUMENTS"),
        "{errors}"
    );
    let mut limits = Limits::default();
    limits.set("max_documents", "200_000").unwrap();
    assert_eq!(limit_errors(&load_within(&over, "docs.yaml", &limits)), "");
    limits.set("max_documents", "3").unwrap();
    let errors = limit_errors(&load_within(
        "a: 1\n---\n".repeat(4).as_str(),
        "d.yaml",
        &limits,
    ));
    assert!(errors.contains("more than 3 documents"), "{errors}");
}

#[test]
fn a_raised_input_size_lets_the_load_through() {
    let over = " ".repeat(MAX_INPUT_BYTES + 1);
    let mut limits = Limits::default();
    limits.set("max_input_bytes", "65MiB").unwrap();
    assert_eq!(limit_errors(&load_within(&over, "big.yaml", &limits)), "");
    let errors = limit_errors(&load_str(&over, "big.yaml"));
    assert!(
        errors.contains("limit max_input_bytes = 64 MiB")
            && errors.contains("--limit max_input_bytes=SIZE"),
        "{errors}"
    );
}

#[test]
fn alias_limits_are_raisable() {
    let text: String = std::iter::once("base: &b {x: 1}\nlist:\n".to_string())
        .chain((0..=MAX_ALIASES).map(|_| "- *b\n".to_string()))
        .collect();
    let errors = limit_errors(&load_str(&text, "a.yaml"));
    assert!(errors.contains("--limit max_aliases=N"), "{errors}");
    let mut limits = Limits::default();
    limits.set("max_aliases", "20_000").unwrap();
    assert_eq!(limit_errors(&load_within(&text, "a.yaml", &limits)), "");
    let replays = "base: &b [1, 2, 3, 4, 5, 6, 7, 8, 9]\nlist: [*b, *b]\n";
    limits.set("max_anchor_expansion_events", "19").unwrap();
    let errors = limit_errors(&load_within(replays, "r.yaml", &limits));
    assert!(
        errors.contains("--limit max_anchor_expansion_events=N"),
        "{errors}"
    );
    limits.set("max_anchor_expansion_events", "20").unwrap();
    assert_eq!(limit_errors(&load_within(replays, "r.yaml", &limits)), "");
}

#[test]
fn the_node_limit_applies_to_both_yaml_readers() {
    // A document the fast reader takes (block YAML) and one it leaves to the
    // full parser (a tab): both stop at a lowered limit.
    for text in ["a: [1, 2, 3]\nb: c\n", "a: [1, 2, 3]\nb:\tc\n"] {
        let mut limits = Limits::default();
        limits.set("max_nodes", "5").unwrap();
        let errors = limit_errors(&load_within(text, "n.yaml", &limits));
        assert!(errors.contains("--limit max_nodes=N"), "{text:?}: {errors}");
        limits.set("max_nodes", "9").unwrap();
        assert_eq!(
            limit_errors(&load_within(text, "n.yaml", &limits)),
            "",
            "{text:?}"
        );
    }
}

#[test]
fn a_raised_rules_per_host_limit_keeps_the_virtual_service() {
    let mut config = with_routes(MAX_RULES_PER_HOST + 1);
    config.limits.set("max_rules_per_host", "200_000").unwrap();
    assert!(limits::check(&config).is_empty());
    let mesh = Mesh::compile(&config);
    let d = mesh.decide(&Request::new("t.example")).expect("decides");
    assert!(d.virtual_service().is_some(), "the VirtualService is kept");
    config.limits.set("max_rules_per_host", "10").unwrap();
    let messages = limits::check(&config);
    assert!(
        messages[0].text.contains("--limit max_rules_per_host=N"),
        "{}",
        messages[0]
    );
}

#[test]
fn request_limits_raised_at_load_apply_to_the_compiled_mesh() {
    let mut limits = Limits::default();
    limits.set("max_request_headers", "2048").unwrap();
    limits.set("max_request_path_bytes", "128KiB").unwrap();
    limits.set("max_request_header_bytes", "1MiB").unwrap();
    let config = load_within(VS_HEAD, "vs.yaml", &limits);
    let mesh = Mesh::compile(&config);
    assert_eq!(mesh.options().limits, limits);
    let mut req =
        Request::new("t.example").path(format!("/{}", "a".repeat(MAX_REQUEST_PATH_BYTES)));
    for i in 0..=MAX_REQUEST_HEADERS {
        req.headers.append(&format!("h{i}"), "v");
    }
    req.headers
        .append("big", &"v".repeat(MAX_REQUEST_HEADER_BYTES));
    assert!(mesh.decide(&req).is_ok());
    let e = Mesh::compile(&load_str(VS_HEAD, "vs.yaml"))
        .decide(&req)
        .expect_err("over the default limits");
    assert!(
        e.to_string()
            .contains("--limit max_request_path_bytes=SIZE"),
        "{e}"
    );
}

#[test]
fn route_tests_and_scenarios_read_within_the_limits_given() {
    let text = "config:\n  inline: |\n    a: 1\n    ---\n    b: 2\ncases: []\n";
    let mut limits = Limits::default();
    limits.set("max_documents", "1").unwrap();
    let file = meshroute::routetest::parse_within(text, "t.routetest.yaml", &limits).unwrap();
    let config = file.load_config(|_| Err("no files".into())).unwrap();
    assert!(
        limit_errors(&config).contains("--limit max_documents=N"),
        "{}",
        limit_errors(&config)
    );
    limits.set("max_input_bytes", "10").unwrap();
    let e = meshroute::routetest::parse_within(text, "t.routetest.yaml", &limits).unwrap_err();
    assert!(e.contains("--limit max_input_bytes=SIZE"), "{e}");
}

/// The lower-case names `Limits::set` accepts or refuses as fixed: one per
/// constant, its name in lower case.
#[test]
fn every_constant_has_a_lower_case_name_that_set_accepts_or_calls_fixed() {
    let declared = declared_limits();
    assert_eq!(declared.len(), limits::ALL.len());
    for (constant, _) in &declared {
        let name = constant.to_ascii_lowercase();
        let info = limits::info(&name).unwrap_or_else(|| panic!("no limit named {name}"));
        let mut l = Limits::default();
        let value = info.default.to_string();
        match (l.set(&name, &value), info.fixed) {
            (Ok(()), None) => assert_eq!(l.get(&name), Some(info.default)),
            (Err(LimitError::Fixed { .. }), Some(_)) => {}
            (other, fixed) => panic!("{name}: set gave {other:?}, fixed: {fixed:?}"),
        }
    }
}

#[test]
fn the_readme_limits_table_lists_every_limit_with_its_value() {
    let readme = include_str!("../../README.md");
    let limits = declared_limits();
    assert!(limits.len() >= 15, "{limits:?}");
    for (name, value) in &limits {
        let row = format!("| `{name}` | `{value}` |");
        assert!(
            readme.contains(&row),
            "README.md's Limits table lacks the row starting {row}"
        );
    }
    for info in limits::ALL {
        let (constant, name) = (info.constant, info.name);
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{constant}` |")))
            .unwrap_or_else(|| panic!("no README row for {constant}"));
        assert!(
            row.contains(&format!("| `{name}` |")),
            "README.md's row for {constant} lacks its name `{name}`: {row}"
        );
        assert_eq!(
            row.contains("fixed"),
            info.fixed.is_some(),
            "README.md's row for {constant} says whether it is fixed: {row}"
        );
    }
    let rows = readme.lines().filter(|l| l.starts_with("| `MAX_")).count();
    assert_eq!(
        rows,
        limits.len(),
        "the table lists no limit that limits.rs lacks"
    );
}
