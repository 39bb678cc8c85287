//! meshroute for JavaScript (browsers and Node), through wasm-bindgen.
//!
//! Thin: every function converts JavaScript values to the core's types,
//! calls the core, and converts the result back. Values cross the boundary as
//! the spec's JSON shapes (route-tests.md), so the TypeScript interfaces in
//! `src/types.d.ts` (emitted into the `.d.ts`) mirror the serde shapes of `meshroute::Request`,
//! `meshroute::Decision` and `meshroute::Message`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use convert::Tape;
use js_sys::JSON;
use meshroute::load::{load, Input, LoadOptions};
use meshroute::model::{Config, Resource};
use meshroute::{MeshOptions, Message, Request, Severity, Source};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

#[cfg(feature = "bench-parts")]
mod bench;
mod convert;
mod routetests;
pub use routetests::run_route_tests;

/// Hand-written TypeScript interfaces mirroring the serde shapes the core
/// produces and accepts. Kept beside the functions that use them so a change
/// to one is seen next to the other.
#[wasm_bindgen(typescript_custom_section)]
pub const TS_TYPES: &'static str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// `MeshOptions` in the TypeScript declarations.
    #[wasm_bindgen(typescript_type = "MeshOptions")]
    pub type MeshOptionsArg;
    /// A file name to text map in the TypeScript declarations.
    #[wasm_bindgen(typescript_type = "Record<string, string>")]
    pub type FilesArg;
}

/// The name messages give the mesh config of the options.
const MESH_CONFIG_NAME: &str = "<meshConfig>";

/// Options for [`Mesh::from_yaml`] and [`Mesh::from_files`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MeshInit {
    /// Name messages use for the text (`fromYaml` only).
    file_name: Option<String>,
    /// Namespace of resources that name none.
    default_namespace: Option<String>,
    /// `meshConfig` (Istio's MeshConfig: YAML text, or an object in istiod's
    /// camelCase shape) as text, read by [`mesh_config_from_js`].
    #[serde(skip)]
    mesh_config_text: Option<String>,
    /// Shorthand for `meshConfig.rootNamespace`.
    root_namespace: Option<String>,
    /// Cluster domain suffix.
    domain_suffix: Option<String>,
    /// Shorthand for `meshConfig.outboundTrafficPolicy.mode` (`ALLOW_ANY` or `REGISTRY_ONLY`).
    outbound_traffic_policy: Option<String>,
    /// Throw when the configuration has an error message.
    strict: Option<bool>,
    /// Input limits raised (or lowered) by lower-case name, applied by
    /// [`MeshInit::load_options`].
    limits: Option<std::collections::BTreeMap<String, LimitValue>>,
}

/// A limit's value as JavaScript gives it: a number, or text with a size
/// unit or `_` separators (`"1GiB"`, `"1_000_000"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LimitValue {
    Number(u64),
    Text(String),
}

impl MeshInit {
    fn parse(value: Option<MeshOptionsArg>) -> Result<MeshInit, JsError> {
        match value {
            Some(v) if !v.is_undefined() && !v.is_null() => {
                let (rest, mesh_config_text) = mesh_config_from_js(&v)?;
                let mut init: MeshInit = from_js(&rest, "mesh options")?;
                init.mesh_config_text = mesh_config_text;
                Ok(init)
            }
            _ => Ok(MeshInit::default()),
        }
    }

    /// The load's options; an unknown limit name or a bad value is an
    /// error naming it.
    fn load_options(&self) -> Result<LoadOptions, JsError> {
        let mut options = LoadOptions::default();
        if let Some(ns) = &self.default_namespace {
            options.default_namespace.clone_from(ns);
        }
        for (name, value) in self.limits.iter().flatten() {
            let text = match value {
                LimitValue::Number(n) => n.to_string(),
                LimitValue::Text(t) => t.clone(),
            };
            options
                .limits
                .set(name, &text)
                .map_err(|e| JsError::new(&format!("invalid limits: {e}")))?;
        }
        Ok(options)
    }

    /// The mesh config text the core reads: `meshConfig` as given (YAML
    /// text, or an object as JSON), or the shorthand options written as
    /// the MeshConfig fields they stand for.
    fn mesh_config_text(&self) -> Result<Option<String>, JsError> {
        let shorthand = self.root_namespace.is_some() || self.outbound_traffic_policy.is_some();
        match &self.mesh_config_text {
            Some(_) if shorthand => Err(JsError::new(
                "invalid mesh options: with meshConfig, give rootNamespace and outboundTrafficPolicy inside it",
            )),
            Some(text) => Ok(Some(text.clone())),
            None if !shorthand => Ok(None),
            None => {
                let mut fields = Vec::new();
                if let Some(mode) = &self.outbound_traffic_policy {
                    if mode != "ALLOW_ANY" && mode != "REGISTRY_ONLY" {
                        return Err(JsError::new(&format!(
                            "invalid outboundTrafficPolicy {mode:?}: expected ALLOW_ANY or REGISTRY_ONLY"
                        )));
                    }
                    fields.push(format!(r#""outboundTrafficPolicy":{{"mode":"{mode}"}}"#));
                }
                if let Some(ns) = &self.root_namespace {
                    let ns = serde_json::to_string(ns).map_err(|e| JsError::new(&e.to_string()))?;
                    fields.push(format!(r#""rootNamespace":{ns}"#));
                }
                Ok(Some(format!("{{{}}}", fields.join(","))))
            }
        }
    }

    /// The table's settings: the configuration's mesh config in force,
    /// then the domain suffix (not a MeshConfig field).
    fn mesh_options(&self, config: &Config) -> MeshOptions {
        let mut options = MeshOptions::from_config(config);
        if let Some(suffix) = &self.domain_suffix {
            options.domain_suffix.clone_from(suffix);
        }
        options
    }
}

/// A compiled mesh: the loaded configuration and its routing table.
#[wasm_bindgen]
pub struct Mesh {
    config: Config,
    messages: Vec<Message>,
    mesh: meshroute::Mesh,
    /// Reused by every `route`: the value tape and the strings the page holds.
    tape: RefCell<Tape>,
}

/// The messages `check` reports: the core's one list of load and
/// validation messages (the same the CLI's `check` and the test runner use).
fn check_config(config: &Config) -> Vec<Message> {
    meshroute::check(config)
}

/// Serialises through JSON text: one boundary crossing, and exactly the
/// spec's JSON shape (maps as plain objects, absent keys left out).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    JSON::parse(&text).map_err(|_| JsError::new("internal error: JSON.parse failed"))
}

/// One line per error message, for a thrown `Error`.
fn error_text(messages: &[Message]) -> String {
    let errors: Vec<String> = messages
        .iter()
        .filter(|m| m.severity == Severity::Error)
        .map(|m| m.to_string())
        .collect();
    format!(
        "configuration has {} error(s):\n{}",
        errors.len(),
        errors.join("\n")
    )
}

/// Deserialises through JSON text (`JSON.stringify`, then serde_json): unlike a
/// field-by-field read of the object, this sees every key, so the core's
/// `deny_unknown_fields` reports a misspelt one.
fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsError> {
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| JsError::new(&format!("invalid {what}: not representable as JSON")))?;
    serde_json::from_str(&text).map_err(|e| JsError::new(&format!("invalid {what}: {e}")))
}

fn parse_request(request: &JsValue) -> Result<Request, JsError> {
    from_js(request, "request")
}

/// The options without `meshConfig` (read as the other options are), and
/// `meshConfig` as text: a string as given, an object as JSON text (which
/// the core's YAML reader takes); `None` when absent or null.
fn mesh_config_from_js(options: &JsValue) -> Result<(JsValue, Option<String>), JsError> {
    let key = JsValue::from_str("meshConfig");
    let Some(object) = options.dyn_ref::<js_sys::Object>() else {
        return Ok((options.clone(), None));
    };
    let value = js_sys::Reflect::get(object, &key)
        .map_err(|_| JsError::new("invalid mesh options: meshConfig cannot be read"))?;
    if value.is_undefined() {
        return Ok((options.clone(), None));
    }
    let rest = js_sys::Object::assign(&js_sys::Object::new(), object);
    // Deleting an own data property of a fresh plain object cannot fail.
    let _ = js_sys::Reflect::delete_property(&rest, &key);
    if value.is_null() {
        return Ok((rest.into(), None));
    }
    if let Some(text) = value.as_string() {
        return Ok((rest.into(), Some(text)));
    }
    if value.is_object() && !js_sys::Array::is_array(&value) {
        return JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .map(|text| (rest.into(), Some(text)))
            .ok_or_else(|| JsError::new("invalid meshConfig: not representable as JSON"));
    }
    Err(JsError::new(
        "invalid meshConfig: give MeshConfig YAML or an object",
    ))
}

/// Where a resource of `kind` with `key` (`namespace/name`) writes `field_path`.
fn locate_in<T>(resources: &[Resource<T>], key: &str, field_path: &str) -> Option<Source> {
    resources
        .iter()
        .find(|r| r.key() == key)
        .map(|r| r.source_of(field_path))
}

#[wasm_bindgen]
impl Mesh {
    fn build(inputs: &[Input<'_>], init: MeshInit) -> Result<Mesh, JsError> {
        let mesh_config = init.mesh_config_text()?;
        let mut config = load(inputs, &init.load_options()?);
        if let Some(text) = &mesh_config {
            config.add_mesh_config_file(text, MESH_CONFIG_NAME);
        }
        let messages = check_config(&config);
        if init.strict == Some(true) && messages.iter().any(Message::is_error) {
            return Err(JsError::new(&error_text(&messages)));
        }
        let mesh = meshroute::Mesh::compile_with(&config, init.mesh_options(&config));
        Ok(Mesh {
            config,
            messages,
            mesh,
            tape: RefCell::new(Tape::new()),
        })
    }

    /// Loads and compiles YAML (one or more documents) or JSON text. Never
    /// throws for configuration problems unless `options.strict` is set:
    /// resources with errors are left out and `check()` reports why.
    #[wasm_bindgen(
        js_name = fromYaml,
        unchecked_return_type = "Mesh",
    )]
    pub fn from_yaml(text: &str, options: Option<MeshOptionsArg>) -> Result<Mesh, JsError> {
        let init = MeshInit::parse(options)?;
        let name = init.file_name.clone().unwrap_or_else(|| "<inline>".into());
        Mesh::build(&[Input { name: &name, text }], init)
    }

    /// Loads several texts (file name to content, in insertion order) into one mesh.
    #[wasm_bindgen(js_name = fromFiles)]
    pub fn from_files(files: FilesArg, options: Option<MeshOptionsArg>) -> Result<Mesh, JsError> {
        let init = MeshInit::parse(options)?;
        let files: Vec<(String, String)> = files_from_js(files.into())?;
        let inputs: Vec<Input<'_>> = files
            .iter()
            .map(|(name, text)| Input { name, text })
            .collect();
        Mesh::build(&inputs, init)
    }

    /// The configuration's messages (errors, warnings, infos), each with its
    /// file, line and column.
    #[wasm_bindgen(unchecked_return_type = "Message[]")]
    pub fn check(&self) -> Result<JsValue, JsError> {
        to_js(&self.messages)
    }

    /// Where `request` goes (no trace). Throws an `Error` for a malformed
    /// request or one over a limit.
    ///
    /// The per-request call: the request is read without JSON text when it
    /// is plainly well formed (else through JSON, for the core's errors), and
    /// the decision is built as a plain object from a tape (see `convert`).
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn route(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RouteRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        // The usual call: the request read into the tape's own `Request`
        // (its buffers reused), decided, and written back, allocating nothing
        // here once warm. Re-entered from JS code the request runs (a
        // getter), the tape is busy: the JSON path then, as for odd requests.
        if let Ok(mut tape) = self.tape.try_borrow_mut() {
            if tape.read_request(&request) {
                let decision = self
                    .mesh
                    .decide(&tape.request)
                    .map_err(|e| JsError::new(&e.to_string()))?;
                return tape.decision(&decision);
            }
        }
        let request = parse_request(&request)?;
        let decision = self
            .mesh
            .decide(&request)
            .map_err(|e| JsError::new(&e.to_string()))?;
        match self.tape.try_borrow_mut() {
            Ok(mut tape) => tape.decision(&decision),
            // Re-entered from JS run while building (a setter on
            // Object.prototype): a tape of its own.
            Err(_) => Tape::new().decision(&decision),
        }
    }

    /// Where `request` goes and why: the decision with its `trace`.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RouteRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let request = parse_request(&request)?;
        let decision = self
            .mesh
            .explain(&request)
            .map_err(|e| JsError::new(&e.to_string()))?;
        // The core's own JSON text: the decision's types are serialised by
        // one instance of serde_json's code, the core's.
        JSON::parse(&decision.to_json_text())
            .map_err(|_| JsError::new("internal error: JSON.parse failed"))
    }

    /// Where a field of a loaded resource is written, e.g.
    /// `locate("VirtualService", "default/reviews", "spec.http[1]")`; falls
    /// back to the nearest written parent. `undefined` for an unknown resource.
    #[wasm_bindgen(unchecked_return_type = "Source | undefined")]
    pub fn locate(&self, kind: &str, key: &str, path: &str) -> Result<JsValue, JsError> {
        let c = &self.config;
        let found = match kind {
            "VirtualService" => locate_in(&c.virtual_services, key, path),
            "DestinationRule" => locate_in(&c.destination_rules, key, path),
            "Gateway" => locate_in(&c.gateways, key, path),
            "ServiceEntry" => locate_in(&c.service_entries, key, path),
            "WorkloadEntry" => locate_in(&c.workload_entries, key, path),
            "Sidecar" => locate_in(&c.sidecars, key, path),
            "Service" => locate_in(&c.services, key, path),
            _ => locate_in(&c.workloads, key, path),
        };
        match found {
            Some(source) => to_js(&source),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Number of loaded resources of every kind.
    #[wasm_bindgen(getter = resourceCount)]
    pub fn resource_count(&self) -> usize {
        self.config.resource_count()
    }
}

/// A JS object of file name to text, in insertion order.
fn files_from_js(files: JsValue) -> Result<Vec<(String, String)>, JsError> {
    if files.is_undefined() || files.is_null() {
        return Ok(Vec::new());
    }
    // Keeps JS insertion order (a BTreeMap would sort names; load order matters).
    let entries = js_sys::Object::entries(
        files
            .dyn_ref::<js_sys::Object>()
            .ok_or_else(|| JsError::new("files must be an object of file name to text"))?,
    );
    let mut out = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let name = pair.get(0).as_string();
        let text = pair.get(1).as_string();
        match (name, text) {
            (Some(name), Some(text)) => out.push((name, text)),
            (Some(name), None) => {
                return Err(JsError::new(&format!(
                    "file {name:?}: content must be a string"
                )))
            }
            _ => return Err(JsError::new("file names must be strings")),
        }
    }
    Ok(out)
}

/// The meshroute version this package was built from.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
