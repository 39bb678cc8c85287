//! The phases from text to decisions on generated meshes of 1,000 and 10,000
//! services (issue 18's shape, from `scripts/genmesh.py`): load, check,
//! compile, the first decision from a caller namespace on a fresh table, the
//! first from a second namespace, and a decision after the first (for the
//! host as `svc-1.ns-1`, which the table resolves, and as its FQDN).
//!
//! Meshes are generated with `python3 scripts/genmesh.py` when the bench runs
//! (never at build time) and kept in `target/scale-meshes/`, the cache
//! `scripts/scale-bench.py` shares. `MESHROUTE_SCALE_SIZES=1000/200,10000/50`
//! chooses the sizes (SERVICES/NAMESPACES, within the default input limits);
//! `MESH_FILE=path.yaml` benches that file instead (its requests go to
//! `svc-1` in `ns-1`, as in a generated mesh).
//!
//! `cargo bench -p meshroute --bench scale` (about 5 minutes on 2 cores).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use meshroute::load::load_str;
use meshroute::model::Config;
use meshroute::{check, Mesh, Outcome, Request};

const DEFAULT_SIZES: &str = "1000/10,10000/50";

/// One mesh to bench: a label for the report and its YAML text.
struct MeshText {
    label: String,
    path: PathBuf,
    text: String,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The generated mesh of `services`/`namespaces`, generated on first use.
fn generated(services: usize, namespaces: usize) -> PathBuf {
    let dir = target_dir().join("scale-meshes");
    // The generator's own name for a file in a directory (scripts/genmesh.py default_file_name).
    let path = dir.join(format!("mesh-{services}svc-{namespaces}ns.yaml"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("target/scale-meshes is writable");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/genmesh.py");
    let status = Command::new("python3")
        .arg(&script)
        .args(["--services", &services.to_string()])
        .args(["--namespaces", &namespaces.to_string()])
        .arg("-o")
        .arg(&dir)
        .status()
        .expect("python3 runs scripts/genmesh.py (or set MESH_FILE to a mesh)");
    assert!(status.success(), "genmesh.py failed: {status}");
    path
}

fn meshes() -> Vec<MeshText> {
    let paths: Vec<(String, PathBuf)> = match std::env::var_os("MESH_FILE") {
        Some(file) => {
            let path = PathBuf::from(file);
            let label = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "mesh".to_string());
            vec![(label, path)]
        }
        None => {
            let sizes = std::env::var("MESHROUTE_SCALE_SIZES")
                .unwrap_or_else(|_| DEFAULT_SIZES.to_string());
            sizes
                .split(',')
                .map(|size| {
                    let parsed = size.trim().split_once('/').and_then(|(s, n)| {
                        Some((s.parse::<usize>().ok()?, n.parse::<usize>().ok()?))
                    });
                    let (services, namespaces) = parsed.unwrap_or_else(|| {
                        panic!("MESHROUTE_SCALE_SIZES: {size:?} is not SERVICES/NAMESPACES")
                    });
                    (
                        format!("{services}svc_{namespaces}ns"),
                        generated(services, namespaces),
                    )
                })
                .collect()
        }
    };
    paths
        .into_iter()
        .map(|(label, path)| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            MeshText { label, path, text }
        })
        .collect()
}

fn load(mesh: &MeshText) -> Config {
    let config = load_str(&mesh.text, "mesh.yaml");
    assert!(
        !config.has_errors(),
        "{}: {:?}",
        mesh.path.display(),
        config.messages.first()
    );
    config
}

/// A request from `from` to `svc-1` in `ns-1`, as `meshroute route --from FROM http://svc-1.ns-1:8080/`.
fn request(from: &str) -> Request {
    Request::new("svc-1.ns-1")
        .port(8080)
        .path("/")
        .from_namespace(from)
}

/// The decision every bench request must get: the 90/10 split of `ns-1/svc-1`.
fn assert_routes_to_svc_1(mesh: &Mesh, request: &Request) {
    let decision = mesh.decide(request).expect("a valid request");
    assert_eq!(decision.outcome(), Outcome::Route);
    assert_eq!(decision.virtual_service(), Some("ns-1/svc-1"));
    let weights: Vec<(Option<&str>, u32)> = decision
        .destinations()
        .iter()
        .map(|d| (d.subset(), d.weight()))
        .collect();
    assert_eq!(weights, [(Some("v1"), 90), (Some("v2"), 10)]);
}

fn bench(c: &mut Criterion) {
    let first = request("ns-1");
    let second = request("ns-2");
    for mesh in meshes() {
        let config = load(&mesh);
        let compiled = Mesh::compile(&config);
        assert_routes_to_svc_1(&compiled, &first);
        assert_routes_to_svc_1(&compiled, &second);

        let mut group = c.benchmark_group(format!("scale_{}", mesh.label));
        // Whole-mesh phases take up to seconds: few samples, short warm-up.
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(10));
        group.bench_function("load", |b| {
            b.iter(|| load_str(black_box(&mesh.text), "mesh.yaml"))
        });
        group.bench_function("check", |b| b.iter(|| check(black_box(&config))));
        group.bench_function("compile", |b| b.iter(|| Mesh::compile(black_box(&config))));
        // The table is built outside the timing and returned, so its drop is too.
        group.bench_function("first_decision", |b| {
            b.iter_batched(
                || Mesh::compile(&config),
                |table| {
                    black_box(table.decide(black_box(&first)).is_ok());
                    table
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function("first_decision_second_namespace", |b| {
            b.iter_batched(
                || {
                    let table = Mesh::compile(&config);
                    black_box(table.decide(&first).is_ok());
                    table
                },
                |table| {
                    black_box(table.decide(black_box(&second)).is_ok());
                    table
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();

        // A decision after the first: the steady state, nanoseconds.
        let mut group = c.benchmark_group(format!("scale_{}", mesh.label));
        group.bench_function("decision_after_first", |b| {
            b.iter(|| compiled.decide(black_box(&first)).map(|d| d.outcome()))
        });
        let fqdn = Request::new("svc-1.ns-1.svc.cluster.local")
            .port(8080)
            .path("/")
            .from_namespace("ns-1");
        assert_routes_to_svc_1(&compiled, &fqdn);
        group.bench_function("decision_after_first_fqdn", |b| {
            b.iter(|| compiled.decide(black_box(&fqdn)).map(|d| d.outcome()))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
