//! Every input limit in `meshroute::limits`: exceeding it is a clear error
//! that names it, and the nearest input within it is accepted. The README's
//! "Limits" table must list every limit with its value.

use meshroute::limits::{self, *};
use meshroute::load::load_str;
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

const VS_HEAD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: t}\nspec:\n  hosts: [t.example]\n  http:\n  - route: [{destination: {host: t.example}}]\n";

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
    let rows = readme.lines().filter(|l| l.starts_with("| `MAX_")).count();
    assert_eq!(
        rows,
        limits.len(),
        "the table lists no limit that limits.rs lacks"
    );
}
