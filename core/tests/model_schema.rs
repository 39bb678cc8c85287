//! Checks the typed model against Istio's published CRD schema.
//!
//! For each of the six Istio kinds meshroute reads, an instance containing
//! every property of the schema (recursively) is synthesized. It must
//! deserialize into the model (every field is known), serialize back to the
//! same document (no field is dropped or renamed), accept every allowed enum
//! value, and reject an unknown field at every object level.
//!
//! The schema file is looked up in `$MESHROUTE_CRD_SCHEMA`, then
//! `tests/schema/istio-networking-crds.yaml`, which the repository carries
//! (provenance in `tests/schema/SOURCE.md`).

use meshroute::model::{
    DestinationRule, Gateway, ServiceEntry, Sidecar, VirtualService, WorkloadEntry,
    ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Schema properties that are legacy spellings of another property of the
/// same object: Istio's decoder accepts either, and giving both is an error.
const ALIASES: &[(&str, &str)] = &[("mirror_percent", "mirrorPercent")];

/// A key no schema object has.
const UNKNOWN_KEY: &str = "zzNotAField";

fn schema_path() -> PathBuf {
    let candidates = [
        std::env::var_os("MESHROUTE_CRD_SCHEMA").map(PathBuf::from),
        Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/schema/istio-networking-crds.yaml"),
        ),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .expect("Istio CRD schema not found in tests/schema: set MESHROUTE_CRD_SCHEMA")
}

fn crds() -> &'static [Value] {
    static CRDS: OnceLock<Vec<Value>> = OnceLock::new();
    CRDS.get_or_init(|| {
        let text = std::fs::read_to_string(schema_path()).expect("read CRD schema");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("parse CRD schema");
        docs.into_iter().filter(|d| !d.is_null()).collect()
    })
}

/// The CRD document of `kind`.
fn crd(kind: &str) -> &'static Value {
    crds()
        .iter()
        .find(|d| d["spec"]["names"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

/// `(version name, spec schema)` of every served version of `kind`.
fn served_spec_schemas(kind: &str) -> Vec<(String, &'static Value)> {
    let crd = crd(kind);
    assert_eq!(crd["spec"]["group"], ISTIO_NETWORKING_GROUP);
    crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| {
            let name = v["name"].as_str().expect("version name").to_owned();
            let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"];
            assert!(spec.is_object(), "{kind} {name}: no spec schema");
            (name, spec)
        })
        .collect()
}

/// The instance synthesized from a schema, and what was learnt on the way.
#[derive(Default)]
struct Synthesized {
    instance: Value,
    /// Schema properties visited (each property at each nesting counts once).
    fields: usize,
    /// JSON pointers of every scalar leaf.
    leaves: Vec<String>,
    /// JSON pointers of objects with fixed properties (unknown keys must fail there).
    objects: Vec<String>,
    /// JSON pointer of each string enum leaf and its allowed values.
    enums: Vec<(String, Vec<Value>)>,
    /// Object pointer, alias key, canonical key.
    aliases: Vec<(String, &'static str, &'static str)>,
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn synthesize(schema: &Value) -> Synthesized {
    let mut out = Synthesized::default();
    out.instance = synth(schema, "", "spec", &mut out);
    out
}

/// An instance of `schema` holding every property; `name` is the property
/// name, used to make strings recognisable.
fn synth(schema: &Value, ptr: &str, name: &str, out: &mut Synthesized) -> Value {
    if schema["x-kubernetes-int-or-string"] == true {
        out.leaves.push(ptr.to_owned());
        return json!(1);
    }
    match schema["type"].as_str() {
        Some("object") => {
            if let Some(props) = schema["properties"].as_object() {
                out.objects.push(ptr.to_owned());
                let mut obj = Map::new();
                for (key, prop) in props {
                    out.fields += 1;
                    if let Some((alias, canonical)) = ALIASES.iter().find(|(alias, _)| alias == key)
                    {
                        assert!(
                            props.contains_key(*canonical),
                            "alias {key} without {canonical}"
                        );
                        out.aliases.push((ptr.to_owned(), alias, canonical));
                        continue;
                    }
                    let child = format!("{ptr}/{}", escape(key));
                    obj.insert(key.clone(), synth(prop, &child, key, out));
                }
                Value::Object(obj)
            } else if let Some(values) =
                schema.get("additionalProperties").filter(|v| v.is_object())
            {
                let key = format!("{name}-key");
                let child = format!("{ptr}/{}", escape(&key));
                json!({ key: synth(values, &child, name, out) })
            } else {
                panic!("{ptr}: object schema with neither properties nor additionalProperties")
            }
        }
        Some("array") => {
            let child = format!("{ptr}/0");
            json!([synth(&schema["items"], &child, name, out)])
        }
        Some("string") => {
            out.leaves.push(ptr.to_owned());
            if let Some(values) = schema["enum"].as_array() {
                out.enums.push((ptr.to_owned(), values.clone()));
                values.first().cloned().expect("non-empty enum")
            } else if schema["format"] == "byte" {
                json!("aGVsbG8=")
            } else {
                json!(format!("{name}-value"))
            }
        }
        Some("integer") => {
            out.leaves.push(ptr.to_owned());
            json!(1)
        }
        Some("number") => {
            out.leaves.push(ptr.to_owned());
            json!(1.5)
        }
        Some("boolean") => {
            out.leaves.push(ptr.to_owned());
            json!(true)
        }
        other => panic!("{ptr}: unsupported schema type {other:?}"),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(instance: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(instance.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// What the checks of one kind covered.
struct Coverage {
    fields: usize,
    leaves: usize,
    objects: usize,
    enum_values: usize,
    aliases: usize,
}

fn check_kind<T: DeserializeOwned + Serialize>(kind: &str) -> Coverage {
    let schemas = served_spec_schemas(kind);
    let (_, schema) = schemas
        .iter()
        .find(|(v, _)| v == "v1")
        .unwrap_or_else(|| panic!("{kind}: no v1"));
    let syn = synthesize(schema);

    // Every field is known.
    let output = round_trip::<T>(&syn.instance)
        .unwrap_or_else(|e| panic!("{kind}: full instance rejected: {e}"));

    // No field is dropped: every leaf comes back unchanged.
    let missing: Vec<&String> = syn
        .leaves
        .iter()
        .filter(|p| output.pointer(p) != syn.instance.pointer(p))
        .collect();
    assert!(
        missing.is_empty(),
        "{kind}: leaves dropped or changed: {missing:?}"
    );
    assert_eq!(
        output, syn.instance,
        "{kind}: round trip changed the document"
    );

    // Every allowed enum value is accepted and kept.
    let mut enum_values = 0;
    for (ptr, values) in &syn.enums {
        for value in values {
            let mut instance = syn.instance.clone();
            *instance.pointer_mut(ptr).expect("enum leaf") = value.clone();
            let out = round_trip::<T>(&instance)
                .unwrap_or_else(|e| panic!("{kind}: {ptr} = {value} rejected: {e}"));
            assert_eq!(
                out.pointer(ptr),
                Some(value),
                "{kind}: {ptr} = {value} not kept"
            );
            enum_values += 1;
        }
        let mut instance = syn.instance.clone();
        *instance.pointer_mut(ptr).expect("enum leaf") = json!("NOT_A_VALUE");
        assert!(
            round_trip::<T>(&instance).is_err(),
            "{kind}: {ptr} accepts any string"
        );
    }

    // Legacy aliases read into the canonical field; both at once is an error.
    for (ptr, alias, canonical) in &syn.aliases {
        let mut instance = syn.instance.clone();
        let obj = instance
            .pointer_mut(ptr)
            .and_then(Value::as_object_mut)
            .expect("alias parent");
        let value = obj.remove(*canonical).expect("canonical value");
        obj.insert((*alias).to_owned(), value.clone());
        let out = round_trip::<T>(&instance)
            .unwrap_or_else(|e| panic!("{kind}: {ptr}/{alias} rejected: {e}"));
        assert_eq!(
            out, syn.instance,
            "{kind}: {ptr}/{alias} not read as {canonical}"
        );
        obj_insert(&mut instance, ptr, canonical, value);
        assert!(
            round_trip::<T>(&instance).is_err(),
            "{kind}: {ptr} accepts {alias} and {canonical} together"
        );
    }

    // Unknown fields are rejected at every level.
    for ptr in &syn.objects {
        let mut instance = syn.instance.clone();
        obj_insert(&mut instance, ptr, UNKNOWN_KEY, json!(1));
        let err = round_trip::<T>(&instance)
            .err()
            .unwrap_or_else(|| panic!("{kind}: unknown field accepted at {ptr:?}"));
        assert!(
            err.contains(UNKNOWN_KEY),
            "{kind}: {ptr}: unexpected error {err}"
        );
    }

    Coverage {
        fields: syn.fields,
        leaves: syn.leaves.len(),
        objects: syn.objects.len(),
        enum_values,
        aliases: syn.aliases.len(),
    }
}

fn obj_insert(instance: &mut Value, ptr: &str, key: &str, value: Value) {
    instance
        .pointer_mut(ptr)
        .and_then(Value::as_object_mut)
        .expect("object")
        .insert(key.to_owned(), value);
}

const KINDS: [&str; 6] = [
    "VirtualService",
    "DestinationRule",
    "Gateway",
    "ServiceEntry",
    "WorkloadEntry",
    "Sidecar",
];

#[test]
fn served_versions_share_one_spec_schema() {
    let expected: BTreeSet<&str> = ISTIO_NETWORKING_VERSIONS.into_iter().collect();
    for kind in KINDS {
        let schemas = served_spec_schemas(kind);
        let versions: BTreeSet<&str> = schemas.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(versions, expected, "{kind}: served versions");
        let (first_version, first) = &schemas[0];
        for (version, schema) in &schemas[1..] {
            assert_eq!(
                schema, first,
                "{kind}: {version} differs from {first_version}"
            );
        }
    }
}

#[test]
fn every_schema_field_is_modelled() {
    let results = [
        (
            "VirtualService",
            check_kind::<VirtualService>("VirtualService"),
        ),
        (
            "DestinationRule",
            check_kind::<DestinationRule>("DestinationRule"),
        ),
        ("Gateway", check_kind::<Gateway>("Gateway")),
        ("ServiceEntry", check_kind::<ServiceEntry>("ServiceEntry")),
        (
            "WorkloadEntry",
            check_kind::<WorkloadEntry>("WorkloadEntry"),
        ),
        ("Sidecar", check_kind::<Sidecar>("Sidecar")),
    ];
    println!("kind             fields  leaves  objects  enum-values  aliases");
    for (kind, c) in &results {
        println!(
            "{kind:<16} {:>6}  {:>6}  {:>7}  {:>11}  {:>7}",
            c.fields, c.leaves, c.objects, c.enum_values, c.aliases
        );
        assert!(c.fields > 0 && c.leaves > 0, "{kind}: nothing checked");
    }
    // The alias is where the schema says it is, and nowhere else.
    let aliases: usize = results.iter().map(|(_, c)| c.aliases).sum();
    assert_eq!(aliases, 1, "mirror_percent is the only alias in the schema");
}

#[test]
fn misspelt_nested_field_is_rejected_and_named() {
    let good = json!({
        "hosts": ["reviews"],
        "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 100}]}]
    });
    assert!(serde_json::from_value::<VirtualService>(good).is_ok());
    let bad = json!({
        "hosts": ["reviews"],
        "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "wieght": 100}]}]
    });
    let err = serde_json::from_value::<VirtualService>(bad).expect_err("wieght must be rejected");
    assert!(err.to_string().contains("unknown field `wieght`"), "{err}");
    assert!(
        err.to_string().contains("weight"),
        "expected fields listed: {err}"
    );
}
