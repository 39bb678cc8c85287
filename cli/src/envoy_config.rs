//! `meshroute envoy-config FILES... [--endpoints F] [--listen PORT] [--admin PORT]
//! [--namespace NS] [--labels k=v,...] [--gateway NS/NAME|NS/k=v,...[@IP]] [--wasm FILTER.wasm]`:
//! a complete Envoy bootstrap (JSON on stdout) that routes as meshroute
//! decides, for a sidecar in NS whose workload has the labels, or for a
//! gateway (one Gateway resource, or the gateway workload with the given
//! labels and every Gateway selecting it, merged as the decision merges them): native routes, or with `--wasm` the
//! meshroute proxy-wasm filter configured with the same files. Resources
//! Istio's admission webhook refuses are left out (as they never reach a
//! proxy), and so are routes Envoy would refuse; both are named on stderr.

use meshroute::load::{load_with_progress, Input, LoadOptions};
use meshroute::Mesh;
use meshroute_envoy::{bootstrap, Endpoints, Options, ProxyKind, WasmFilter};
use std::collections::BTreeMap;

const USAGE: &str = "usage: meshroute envoy-config FILES... [--endpoints FILE] [--listen PORT] [--admin PORT] [--namespace NS] [--labels k=v,...] [--gateway NS/NAME|NS/k=v,...[@IP]] [--mesh-config FILE] [--wasm FILTER.wasm] [--limit NAME=VALUE]... [--no-progress]
  --limit NAME=VALUE raises (or lowers) an input limit, repeatable: --limit max_input_bytes=1GiB
  (names and defaults: README \"Limits\")";

/// Runs the command; returns the exit code (0 ok, 1 configuration errors, 2 usage).
pub fn run(args: &[String]) -> i32 {
    match run_inner(args) {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err((code, text)) => {
            eprintln!("meshroute envoy-config: {text}");
            code
        }
    }
}

fn port(flag: &str, v: Option<&String>) -> Result<u16, (i32, String)> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| (2, format!("{flag} needs a port number\n{USAGE}")))
}

fn run_inner(args: &[String]) -> Result<String, (i32, String)> {
    let mut files = Vec::new();
    let mut options = Options::default();
    let mut endpoints_file = None;
    let mut wasm = None;
    let mut mesh_config = None;
    let mut load_options = LoadOptions::default();
    let mut show_progress = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoints" => {
                endpoints_file = Some(it.next().ok_or((2, USAGE.to_string()))?.clone())
            }
            "--listen" => options.listen_port = port(a, it.next())?,
            "--admin" => options.admin_port = port(a, it.next())?,
            "--namespace" => {
                options.source_namespace = it.next().ok_or((2, USAGE.to_string()))?.clone()
            }
            "--mesh-config" => mesh_config = Some(it.next().ok_or((2, USAGE.to_string()))?.clone()),
            "--labels" => options.source_labels = labels(it.next().ok_or((2, USAGE.to_string()))?)?,
            "--gateway" => {
                let key = it.next().ok_or((2, USAGE.to_string()))?;
                let parts: Vec<&str> = key.splitn(2, '/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                    return Err((
                        2,
                        format!("--gateway needs NAMESPACE/NAME or NAMESPACE/LABEL=VALUE[,LABEL=VALUE][@ADDRESS], not {key:?}\n{USAGE}"),
                    ));
                }
                options.proxy = ProxyKind::Gateway(key.clone());
            }
            "--wasm" => wasm = Some(it.next().ok_or((2, USAGE.to_string()))?.clone()),
            "--limit" => {
                let pair = it.next().ok_or((2, USAGE.to_string()))?;
                crate::limits::apply(&mut load_options.limits, pair).map_err(|e| (2, e.0))?;
            }
            "--no-progress" => show_progress = false,
            a if a.starts_with("--limit=") => {
                crate::limits::apply(&mut load_options.limits, &a["--limit=".len()..])
                    .map_err(|e| (2, e.0))?;
            }
            "-h" | "--help" => return Err((2, USAGE.to_string())),
            f if f.starts_with("--") => return Err((2, format!("unknown option {f}\n{USAGE}"))),
            f => files.push(f.to_string()),
        }
    }
    if files.is_empty() {
        return Err((2, USAGE.to_string()));
    }
    let mut texts = Vec::new();
    for f in &files {
        let text =
            crate::inputs::read(f, &load_options.limits).map_err(|e| (1, format!("{f}: {e}")))?;
        texts.push((f.clone(), text));
    }
    let reporter = crate::progress::Reporter::for_stderr(show_progress);
    let inputs: Vec<Input<'_>> = texts
        .iter()
        .map(|(name, text)| Input { name, text })
        .collect();
    let mut config = load_with_progress(&inputs, &load_options, reporter.progress());
    let mut mesh_config_text = None;
    if let Some(path) = &mesh_config {
        let text = std::fs::read_to_string(path).map_err(|e| (1, format!("{path}: {e}")))?;
        config.add_mesh_config_file(&text, path);
        mesh_config_text = Some(text);
    }
    let errors: Vec<String> = config.load_errors().map(|m| m.to_string()).collect();
    if !errors.is_empty() {
        return Err((1, errors.join("\n")));
    }
    let admission = meshroute::admission::admit(&config);
    for r in &admission.refused {
        eprintln!(
            "meshroute envoy-config: left out {} (Istio's admission webhook refuses it):",
            r.resource
        );
        for m in &r.errors {
            eprintln!("  {m}");
        }
    }
    if let Some(path) = endpoints_file {
        let text = std::fs::read_to_string(&path).map_err(|e| (1, format!("{path}: {e}")))?;
        options.endpoints = Endpoints::from_json(&text).map_err(|e| (1, e))?;
    }
    if let Some(path) = wasm {
        let mut joined: Vec<String> = texts.iter().map(|(_, t)| t.clone()).collect();
        if let Some(text) = &mesh_config_text {
            joined.push(mesh_config_map(text));
        }
        let gateway = match &options.proxy {
            ProxyKind::Sidecar => "mesh".to_string(),
            ProxyKind::Gateway(key) => key.clone(),
        };
        let plugin = serde_json::json!({
            "config": joined.join("\n---\n"),
            "gateway": gateway,
            "sourceNamespace": options.source_namespace,
            "sourceLabels": options.source_labels,
            "clusterHeader": "x-meshroute-cluster",
        });
        options.wasm = Some(WasmFilter {
            wasm_path: path,
            configuration: plugin.to_string(),
            cluster_header: "x-meshroute-cluster".into(),
        });
    }
    let mesh = reporter.timed("compile", || Mesh::compile(&admission.config));
    drop(reporter);
    if let ProxyKind::Gateway(key) = &options.proxy {
        if mesh.gateway_view(key).is_none() {
            return Err((
                1,
                format!("no Gateway {key} in the configuration (or a malformed workload key)"),
            ));
        }
    }
    let generated = bootstrap(&mesh, &options);
    for line in &generated.left_out {
        eprintln!("meshroute envoy-config: left out {line}");
    }
    serde_json::to_string_pretty(&generated.config).map_err(|e| (1, e.to_string()))
}

/// The filter reads only resources: the explicit mesh config goes to it as
/// the mesh ConfigMap, last, so it is the one in force (as the explicit
/// file is for the native routes; `meshroute::mesh_config`).
fn mesh_config_map(text: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": meshroute::mesh_config::CONFIG_MAP_NAME,
            "namespace": "istio-system",
        },
        "data": {meshroute::mesh_config::CONFIG_MAP_KEY: text},
    })
    .to_string()
}

/// `k=v,k2=v2` as a label map.
fn labels(text: &str) -> Result<BTreeMap<String, String>, (i32, String)> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| (2, format!("--labels: {pair:?} is not key=value\n{USAGE}")))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}
