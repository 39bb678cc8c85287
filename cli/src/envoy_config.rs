//! `meshroute envoy-config FILES... [--endpoints F] [--listen PORT] [--admin PORT]
//! [--namespace NS] [--wasm FILTER.wasm]`: a complete Envoy bootstrap (JSON on
//! stdout) that routes as meshroute decides: native routes, or with `--wasm`
//! the meshroute proxy-wasm filter configured with the same files.

use meshroute::load::{load, Input, LoadOptions};
use meshroute::Mesh;
use meshroute_envoy::{bootstrap, Endpoints, Options, WasmFilter};

const USAGE: &str = "usage: meshroute envoy-config FILES... [--endpoints FILE] [--listen PORT] [--admin PORT] [--namespace NS] [--mesh-config FILE] [--wasm FILTER.wasm]";

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
            "--wasm" => wasm = Some(it.next().ok_or((2, USAGE.to_string()))?.clone()),
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
        let text = std::fs::read_to_string(f).map_err(|e| (1, format!("{f}: {e}")))?;
        texts.push((f.clone(), text));
    }
    let inputs: Vec<Input<'_>> = texts
        .iter()
        .map(|(name, text)| Input { name, text })
        .collect();
    let mut config = load(&inputs, &LoadOptions::default());
    if let Some(path) = &mesh_config {
        let text = std::fs::read_to_string(path).map_err(|e| (1, format!("{path}: {e}")))?;
        config.add_mesh_config_file(&text, path);
    }
    let errors: Vec<String> = config.load_errors().map(|m| m.to_string()).collect();
    if !errors.is_empty() {
        return Err((1, errors.join("\n")));
    }
    if let Some(path) = endpoints_file {
        let text = std::fs::read_to_string(&path).map_err(|e| (1, format!("{path}: {e}")))?;
        options.endpoints = Endpoints::from_json(&text).map_err(|e| (1, e))?;
    }
    if let Some(path) = wasm {
        let joined: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
        let plugin = serde_json::json!({
            "config": joined.join("\n---\n"),
            "gateway": "mesh",
            "sourceNamespace": options.source_namespace,
            "clusterHeader": "x-meshroute-cluster",
        });
        options.wasm = Some(WasmFilter {
            wasm_path: path,
            configuration: plugin.to_string(),
            cluster_header: "x-meshroute-cluster".into(),
        });
    }
    let mesh = Mesh::compile(&config);
    serde_json::to_string_pretty(&bootstrap(&mesh, &options)).map_err(|e| (1, e.to_string()))
}
