//! Text to [`Config`]: multi-document YAML and JSON, `kind: List`, several
//! files at once, every resource and field with its file, line and column.
//!
//! The YAML library (serde-saphyr) is used only inside this module; see
//! README "Design notes" for why.

pub(crate) mod de;
pub(crate) mod events;
/// Typed readers over nodes for the route-test and scenario file formats.
pub(crate) mod fields;
pub(crate) mod node;
mod positions;
#[cfg(feature = "fast-yaml")]
mod subset;
mod suggest;

use crate::fasthash::FastMap;
use crate::limits::{self, Limits};
use crate::message::{codes, Message, Severity};
use crate::model::{self, kube, Config, ObjectMeta, Resource};
use crate::progress::{NoProgress, Progress, ProgressUnit};
use crate::source::{Location, Source};
use node::{Node, Value};
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub(crate) use suggest::did_you_mean;

/// How to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Namespace of resources that name none (`kubectl apply` without `-n`).
    pub default_namespace: String,
    /// The limits the load applies; the configuration keeps them for
    /// `check`, `Mesh::compile` and decisions ([`crate::limits`]).
    pub limits: Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".to_string(),
            limits: Limits::default(),
        }
    }
}

/// One input text and the name messages use for it (a file path, `-`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Name shown in messages.
    pub name: &'a str,
    /// YAML (one or more documents) or JSON text.
    pub text: &'a str,
}

/// Loads one text. Never fails: problems become error messages in
/// [`Config::messages`], and resources with errors are left out.
pub fn load_str(text: &str, name: &str) -> Config {
    load(&[Input { name, text }], &LoadOptions::default())
}

/// Loads several texts into one configuration, in order.
pub fn load(inputs: &[Input<'_>], options: &LoadOptions) -> Config {
    load_with_progress(inputs, options, &NoProgress)
}

/// [`load`], reporting the bytes read (phase `load`) to `progress`.
pub fn load_with_progress(
    inputs: &[Input<'_>],
    options: &LoadOptions,
    progress: &dyn Progress,
) -> Config {
    let total = inputs
        .iter()
        .map(|i| i.text.len() as u64)
        .fold(0, u64::saturating_add);
    progress.phase("load", total, ProgressUnit::Bytes);
    let mut loader = Loader {
        config: Config {
            limits: options.limits.clone(),
            ..Config::default()
        },
        options,
        progress,
        order: 0,
        documents: 0,
        bytes: 0,
    };
    for input in inputs {
        loader.load_input(input);
    }
    let config = loader.finish();
    progress.finish();
    config
}

/// Reads one YAML or JSON document into plain JSON values, with the reader
/// and the limits [`load`] uses (input size, nesting, aliases, nodes): for
/// bindings that hand a document to their language. An empty text is `null`.
/// `Err` is an error message with the position and, for a limit, its name.
pub fn read_document(text: &str, name: &str) -> Result<serde_json::Value, Box<Message>> {
    read_document_within(text, name, &Limits::default())
}

/// [`read_document`] within the given limits.
pub fn read_document_within(
    text: &str,
    name: &str,
    limits: &Limits,
) -> Result<serde_json::Value, Box<Message>> {
    let file: Arc<str> = Arc::from(name);
    let error = |code: &str, loc: Location, text: String, fix: &str| {
        Box::new(Message::new(
            code,
            Severity::Error,
            String::new(),
            String::new(),
            Source::new(file.clone(), loc),
            text,
            fix,
        ))
    };
    if text.len() > limits.max_input_bytes {
        return Err(error(
            codes::LIMIT_EXCEEDED,
            Location::new(1, 1),
            format!(
                "input is {} bytes, more than the limit of {} bytes ({})",
                text.len(),
                limits.max_input_bytes,
                limits::hint("max_input_bytes", limits.max_input_bytes as u64)
            ),
            "read a smaller document, or raise the limit",
        ));
    }
    let mut root = None;
    let mut scratch = events::Scratch::default();
    for doc in node::documents(text) {
        match events::parse_document_with(&doc, &mut scratch, limits) {
            Ok(None) => {}
            Ok(Some(node)) if root.is_none() => root = Some(node),
            Ok(Some(node)) => {
                return Err(error(
                    codes::PARSE_ERROR,
                    node.loc,
                    "a second document: one was expected".into(),
                    "read each document on its own",
                ))
            }
            Err(e) if e.limit => {
                return Err(error(
                    codes::LIMIT_EXCEEDED,
                    e.loc,
                    format!("invalid YAML: {}", e.text),
                    "simplify the document, or raise the limit the error names",
                ))
            }
            Err(e) => {
                return Err(error(
                    codes::PARSE_ERROR,
                    e.loc,
                    format!("invalid YAML: {}", e.text),
                    "fix the YAML syntax at this position",
                ))
            }
        }
    }
    match root {
        None => Ok(serde_json::Value::Null),
        Some(root) => root.to_json_strict().map_err(|(loc, text)| {
            error(codes::BAD_FIELD, loc, text, "write a JSON-compatible value")
        }),
    }
}

struct Loader<'o> {
    config: Config,
    options: &'o LoadOptions,
    progress: &'o dyn Progress,
    order: usize,
    documents: usize,
    bytes: usize,
}

const TOP_LEVEL_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

impl Loader<'_> {
    fn message(&mut self, message: Message) {
        self.config.messages.push(message);
    }

    fn load_input(&mut self, input: &Input<'_>) {
        let file: Arc<str> = Arc::from(input.name);
        let start = Source::new(file.clone(), Location::new(1, 1));
        self.bytes = self.bytes.saturating_add(input.text.len());
        let limits = &self.options.limits;
        if self.bytes > limits.max_input_bytes {
            self.message(Message::new(
                codes::LIMIT_EXCEEDED,
                Severity::Error,
                String::new(),
                String::new(),
                start,
                format!(
                    "input is {} bytes, more than the limit of {} bytes ({}); the file was not read",
                    input.text.len(),
                    limits.max_input_bytes,
                    limits::hint("max_input_bytes", limits.max_input_bytes as u64)
                ),
                "split the configuration into smaller loads, or raise the limit",
            ));
            self.progress.advance(input.text.len() as u64);
            return;
        }
        let mut scratch = events::Scratch::default();
        let mut reported = 0usize;
        for doc in node::documents(input.text) {
            // Bytes up to this document's end: the start of the next one.
            let read = (doc.text.as_ptr() as usize + doc.text.len())
                .saturating_sub(input.text.as_ptr() as usize)
                .min(input.text.len());
            self.progress.advance(read.saturating_sub(reported) as u64);
            reported = reported.max(read);
            match events::parse_document_with(&doc, &mut scratch, limits) {
                Ok(None) => {}
                Ok(Some(root)) => {
                    self.documents += 1;
                    if self.documents > limits.max_documents {
                        self.message(Message::new(
                            codes::LIMIT_EXCEEDED,
                            Severity::Error,
                            String::new(),
                            String::new(),
                            Source::new(file.clone(), Location::new(doc.first_line, 1)),
                            format!(
                                "more than {} documents ({}); the rest was not read",
                                limits.max_documents,
                                limits::hint("max_documents", limits.max_documents as u64)
                            ),
                            "split the configuration into smaller loads, or raise the limit",
                        ));
                        self.progress
                            .advance(input.text.len().saturating_sub(reported) as u64);
                        return;
                    }
                    self.object(&root, &file, input.text, 0);
                }
                Err(e) => {
                    let (code, fix) = if e.limit {
                        (
                            codes::LIMIT_EXCEEDED,
                            "simplify the document, or raise the limit the error names",
                        )
                    } else {
                        (codes::PARSE_ERROR, "fix the YAML syntax at this position")
                    };
                    self.message(Message::new(
                        code,
                        Severity::Error,
                        String::new(),
                        String::new(),
                        Source::new(file.clone(), e.loc),
                        format!("invalid YAML: {}", e.text),
                        fix,
                    ));
                }
            }
        }
        self.progress
            .advance(input.text.len().saturating_sub(reported) as u64);
    }

    /// One object: a resource, or a `List` of them.
    fn object(&mut self, root: &Node, file: &Arc<str>, text: &str, list_depth: usize) {
        let source = Source::new(file.clone(), root.loc);
        if !matches!(root.value, Value::Map(_)) {
            self.message(Message::new(
                codes::BAD_ENVELOPE,
                Severity::Error,
                String::new(),
                String::new(),
                source,
                format!(
                    "a resource must be a mapping with apiVersion and kind, found {}",
                    root.value.describe()
                ),
                "write each resource as a mapping (apiVersion, kind, metadata, spec)",
            ));
            return;
        }
        let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        if api_version.is_empty() || kind.is_empty() {
            self.message(Message::new(
                codes::BAD_ENVELOPE,
                Severity::Error,
                String::new(),
                String::new(),
                source,
                "unable to parse resource with no group, version and kind",
                "add `apiVersion:` and `kind:` to the document",
            ));
            return;
        }
        if (kind == "List" || kind.ends_with("List")) && root.get("items").is_some() {
            if list_depth >= 4 {
                return;
            }
            if let Some(Node {
                value: Value::Seq(items),
                ..
            }) = root.get("items")
            {
                for item in items {
                    self.object(item, file, text, list_depth + 1);
                }
            }
            return;
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        match (group, kind) {
            (model::ISTIO_NETWORKING_GROUP, _) => {
                if !model::ISTIO_NETWORKING_VERSIONS.contains(&version) {
                    self.message(Message::new(
                        codes::BAD_ENVELOPE,
                        Severity::Error,
                        format!("{kind} {}", display_name(root)),
                        "apiVersion",
                        source,
                        format!("unknown apiVersion {api_version:?}"),
                        "use networking.istio.io/v1 (or v1beta1, v1alpha3)",
                    ));
                    return;
                }
                match kind {
                    "VirtualService" => {
                        self.istio(root, file, api_version, kind, |c| &mut c.virtual_services)
                    }
                    "DestinationRule" => {
                        self.istio(root, file, api_version, kind, |c| &mut c.destination_rules)
                    }
                    "Gateway" => self.istio(root, file, api_version, kind, |c| &mut c.gateways),
                    "ServiceEntry" => {
                        let before = self.config.service_entries.len();
                        self.istio(root, file, api_version, kind, |c| &mut c.service_entries);
                        // The status istiod wrote (allocated addresses), for analysis only.
                        if self.config.service_entries.len() > before
                            && root.get("status").is_some()
                        {
                            if let Some(r) = self
                                .analysis_only::<model::service_entry_status::ServiceEntryStatus>(
                                    root,
                                    file,
                                    api_version,
                                    "ServiceEntryStatus",
                                )
                            {
                                self.config.service_entry_statuses.push(r);
                            }
                        }
                    }
                    "WorkloadEntry" => {
                        self.istio(root, file, api_version, kind, |c| &mut c.workload_entries)
                    }
                    "Sidecar" => self.istio(root, file, api_version, kind, |c| &mut c.sidecars),
                    _ => self.skip(root, source, kind),
                }
            }
            ("", "Service") if version == "v1" => {
                if let Some(r) = self.typed::<kube::Service>(root, file, api_version, kind, false) {
                    self.config.services.push(r);
                }
            }
            ("", "Pod") if version == "v1" => {
                if let Some(r) = self.typed::<kube::PodSpec>(root, file, api_version, kind, false) {
                    let mut pod = kube::Workload::pod(r.metadata.labels.clone());
                    pod.node_name = r.spec.node_name.clone();
                    self.config.workloads.push(with_spec(r, pod));
                }
            }
            ("networking.k8s.io", "Ingress") if version == "v1" => {
                if let Some(r) = self.typed::<model::Ingress>(root, file, api_version, kind, false)
                {
                    self.config.ingresses.push(r);
                }
            }
            ("networking.k8s.io", "IngressClass") if version == "v1" => {
                if let Some(r) =
                    self.typed::<model::IngressClass>(root, file, api_version, kind, false)
                {
                    self.config.ingress_classes.push(r);
                }
            }
            ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
                if version == "v1" =>
            {
                if let Some(r) =
                    self.typed::<kube::ControllerSpec>(root, file, api_version, kind, false)
                {
                    let workload = r.spec.clone().into_workload();
                    self.config.workloads.push(with_spec(r, workload));
                }
            }
            ("", "ConfigMap") if version == "v1" && self.is_mesh_config_map(root) => {
                let (sources, messages) = crate::mesh_config::from_config_map(
                    root,
                    file,
                    text,
                    &self.options.default_namespace,
                );
                self.config.messages.extend(messages);
                self.config.mesh_configs.extend(sources);
            }
            // Read for analysis only; for routing they stay skipped (below).
            ("", "Secret") if version == "v1" => {
                if let Some(r) = self.analysis_only::<kube::Secret>(root, file, api_version, kind) {
                    self.config.secrets.push(r);
                }
                self.skip(root, source, kind);
            }
            ("gateway.networking.k8s.io", "Gateway") => {
                if let Some(r) = self.analysis_only::<model::gateway_api::KubernetesGateway>(
                    root,
                    file,
                    api_version,
                    kind,
                ) {
                    self.config.kubernetes_gateways.push(r);
                }
                self.skip(root, source, kind);
            }
            ("", "Node") if version == "v1" => {
                if let Some(r) = self.analysis_only::<kube::Node>(root, file, api_version, kind) {
                    self.config.nodes.push(r);
                }
                self.skip(root, source, kind);
            }
            ("", "Namespace") if version == "v1" => {
                if let Some(r) =
                    self.analysis_only::<kube::Namespace>(root, file, api_version, kind)
                {
                    self.config.namespaces.push(r);
                }
                self.skip(root, source, kind);
            }
            ("security.istio.io", "RequestAuthentication") => {
                if let Some(r) = self.analysis_only::<model::security::RequestAuthentication>(
                    root,
                    file,
                    api_version,
                    kind,
                ) {
                    self.config.request_authentications.push(r);
                }
                self.skip(root, source, kind);
            }
            _ => self.skip(root, source, kind),
        }
    }

    /// A resource routing ignores but analysis reads: its metadata, and its
    /// body read leniently from `spec` (absent: empty) or, for a Secret,
    /// Namespace or Node, from the whole document (for `ServiceEntryStatus`,
    /// a ServiceEntry's `status`). `None`, without a message,
    /// when it cannot be read: the resource is reported as skipped anyway.
    fn analysis_only<T: DeserializeOwned>(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        api_version: &str,
        kind: &str,
    ) -> Option<Resource<T>> {
        let mut spec = None;
        let resource = self.analysis_only_envelope(root, file, api_version, kind, &mut |body| {
            spec = de::read::<T>(body, "spec").ok();
            spec.is_some()
        })?;
        Some(with_spec(resource, spec?))
    }

    /// [`Self::analysis_only`] without its type: `read_spec` reads the body
    /// (false: unreadable). Kept apart so that this code is not repeated for
    /// every kind read.
    fn analysis_only_envelope(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        api_version: &str,
        kind: &str,
        read_spec: &mut dyn FnMut(&Node) -> bool,
    ) -> Option<Resource<()>> {
        let empty = Node {
            value: Value::Map(Vec::new()),
            loc: root.loc,
        };
        let body = match kind {
            "Secret" | "Namespace" | "Node" => root,
            "ServiceEntryStatus" => root.get("status").unwrap_or(&empty),
            _ => root.get("spec").unwrap_or(&empty),
        };
        if !read_spec(body) {
            return None;
        }
        let metadata = match root.get("metadata") {
            Some(m) => de::read::<ObjectMeta>(m, "metadata").ok()?,
            None => return None,
        };
        if metadata.name.is_empty() {
            return None;
        }
        let mut metadata = metadata;
        if metadata.namespace.is_empty() {
            metadata.namespace = self.options.default_namespace.clone();
        }
        let fields =
            positions::field_locations(&[("metadata", root.get("metadata")?), ("spec", body)]);
        Some(Resource {
            api_version: api_version.to_string(),
            kind_name: kind.to_string(),
            metadata,
            spec: (),
            source: Source::new(file.clone(), root.loc),
            fields: Arc::new(fields),
            order: usize::MAX,
        })
    }

    /// Whether `root` is Istio's mesh ConfigMap (`model::is_mesh_config_map`).
    fn is_mesh_config_map(&self, root: &Node) -> bool {
        let meta = root.get("metadata");
        let field = |key: &str| meta.and_then(|m| m.get(key)).and_then(Node::as_str);
        let namespace = field("namespace").unwrap_or(&self.options.default_namespace);
        model::is_mesh_config_map(namespace, field("name").unwrap_or(""))
    }

    /// A document meshroute does not read: quiet (`SKIPPED_KIND`) when Istio
    /// ignores its kind too, else an info that it is not modelled.
    fn skip(&mut self, root: &Node, source: Source, kind: &str) {
        let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let meta = root.get("metadata");
        let field = |key: &str| meta.and_then(|m| m.get(key)).and_then(Node::as_str);
        let namespace = field("namespace").unwrap_or(&self.options.default_namespace);
        let name = field("name").unwrap_or("<unnamed>");
        let resource = format!("{kind} {namespace}/{name}");
        let message = if model::ignored_by_istio(api_version, kind, namespace, name) {
            Message::new(
                codes::SKIPPED_KIND,
                Severity::Info,
                resource,
                String::new(),
                source,
                format!("skipped: {kind} does not affect routing"),
                String::new(),
            )
        } else {
            Message::new(
                codes::NOT_MODELLED,
                Severity::Info,
                resource.clone(),
                String::new(),
                source,
                format!("{resource} is not modelled: ignored"),
                String::new(),
            )
        };
        self.message(message);
    }

    fn istio<T: DeserializeOwned>(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        api_version: &str,
        kind: &str,
        list: impl FnOnce(&mut Config) -> &mut Vec<Resource<T>>,
    ) {
        if let Some(r) = self.typed::<T>(root, file, api_version, kind, true) {
            list(&mut self.config).push(r);
        }
    }

    /// Reads the envelope and spec of one resource; `None` (with messages) on errors.
    fn typed<T: DeserializeOwned>(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        api_version: &str,
        kind: &str,
        strict: bool,
    ) -> Option<Resource<T>> {
        let mut spec = None;
        let resource = self.envelope(root, file, api_version, kind, strict, &mut |node| {
            spec = Some(de::read::<T>(node, "spec")?);
            Ok(())
        })?;
        Some(with_spec(resource, spec?))
    }

    /// [`Self::typed`] without its type: `read_spec` reads the spec node.
    /// Kept apart so that this code is not repeated for every kind read.
    fn envelope(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        api_version: &str,
        kind: &str,
        strict: bool,
        read_spec: &mut dyn FnMut(&Node) -> Result<(), Vec<de::FieldError>>,
    ) -> Option<Resource<()>> {
        let source = Source::new(file.clone(), root.loc);
        let mut errors = Vec::new();
        if strict {
            if let Value::Map(entries) = &root.value {
                for (k, _) in entries {
                    let key = k.as_str().unwrap_or("");
                    if !TOP_LEVEL_FIELDS.contains(&key) {
                        let fix = match did_you_mean(key, TOP_LEVEL_FIELDS) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "remove it; a resource has apiVersion, kind, metadata, spec and status".into(),
                        };
                        errors.push(de::FieldError {
                            path: key.to_string(),
                            loc: k.loc,
                            text: format!("unknown field `{key}`"),
                            fix,
                        });
                    }
                }
            }
        }
        let empty = Node {
            value: Value::Map(Vec::new()),
            loc: root.loc,
        };
        let metadata: Option<ObjectMeta> = match root.get("metadata") {
            Some(m) => match de::read::<ObjectMeta>(m, "metadata") {
                Ok(meta) => Some(meta),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            },
            None => Some(ObjectMeta::default()),
        };
        let spec_node = root.get("spec").unwrap_or(&empty);
        let spec = match read_spec(spec_node) {
            Ok(()) => Some(()),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        if let Some(meta) = &metadata {
            if meta.name.is_empty() {
                errors.push(de::FieldError {
                    path: "metadata.name".into(),
                    loc: root.get("metadata").map(|m| m.loc).unwrap_or(root.loc),
                    text: "resource has no name".into(),
                    fix: "add `metadata.name`".into(),
                });
            }
        }
        let had_errors = !errors.is_empty();
        if had_errors {
            let resource_name = format!(
                "{kind} {}",
                display_name_with(root, &self.options.default_namespace)
            );
            self.errors(errors, &resource_name, &source);
            return None;
        }
        let mut metadata = metadata?;

        let fields = match root.get("metadata") {
            Some(m) => positions::field_locations(&[("metadata", m), ("spec", spec_node)]),
            None => positions::field_locations(&[("spec", spec_node)]),
        };
        if metadata.namespace.is_empty() {
            metadata.namespace = self.options.default_namespace.clone();
        }
        let order = self.order;
        self.order += 1;
        Some(Resource {
            api_version: api_version.to_string(),
            kind_name: kind.to_string(),
            metadata,
            spec: spec?,
            source,
            fields: Arc::new(fields),
            order,
        })
    }

    /// One BAD_FIELD error message per field error of `resource_name`.
    fn errors(&mut self, errors: Vec<de::FieldError>, resource_name: &str, source: &Source) {
        for e in errors {
            self.message(Message::new(
                codes::BAD_FIELD,
                Severity::Error,
                resource_name,
                e.path,
                source.at(e.loc),
                e.text,
                e.fix,
            ));
        }
    }

    fn finish(mut self) -> Config {
        let mut dups = Vec::new();
        dedupe(
            &mut self.config.virtual_services,
            "VirtualService",
            &mut dups,
        );
        dedupe(
            &mut self.config.destination_rules,
            "DestinationRule",
            &mut dups,
        );
        dedupe(&mut self.config.gateways, "Gateway", &mut dups);
        dedupe(&mut self.config.service_entries, "ServiceEntry", &mut dups);
        dedupe(
            &mut self.config.workload_entries,
            "WorkloadEntry",
            &mut dups,
        );
        dedupe(&mut self.config.sidecars, "Sidecar", &mut dups);
        dedupe(&mut self.config.services, "Service", &mut dups);
        self.config.messages.extend(dups);
        self.config
    }
}

/// For the fuzz targets: reads every document of `text` with both YAML
/// readers and panics when the fast subset reader's tree differs from the
/// full parser's.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn assert_yaml_readers_agree(text: &str) {
    for doc in node::documents(text) {
        if let Some((subset, full)) = events::both_readers(doc.text, doc.first_line) {
            assert_eq!(subset, full, "the YAML readers differ on:\n{}", doc.text);
        }
    }
}

fn with_spec<A, B>(r: Resource<A>, spec: B) -> Resource<B> {
    Resource {
        api_version: r.api_version,
        kind_name: r.kind_name,
        metadata: r.metadata,
        spec,
        source: r.source,
        fields: r.fields,
        order: r.order,
    }
}

/// Keeps the last definition of each namespace/name, as `kubectl apply` of
/// the files in order would, and warns about the replaced ones.
fn dedupe<T>(list: &mut Vec<Resource<T>>, kind: &str, messages: &mut Vec<Message>) {
    let mut last: FastMap<(&str, &str), usize> = FastMap::default();
    last.reserve(list.len());
    for (i, r) in list.iter().enumerate() {
        last.insert((&r.metadata.namespace, &r.metadata.name), i);
    }
    if last.len() == list.len() {
        return;
    }
    // Indexes of the definitions to keep (the last of each key), in order.
    let mut keep: Vec<bool> = vec![false; list.len()];
    for &j in last.values() {
        if let Some(k) = keep.get_mut(j) {
            *k = true;
        }
    }
    let mut i = 0usize;
    list.retain(|r| {
        let keep = keep.get(i).copied().unwrap_or(true);
        if !keep {
            messages.push(Message::new(
                codes::DUPLICATE_RESOURCE,
                Severity::Warning,
                format!("{kind} {}", r.key()),
                "metadata.name",
                r.source.clone(),
                "defined more than once; the later definition replaces this one",
                "remove one of the definitions",
            ));
        }
        i += 1;
        keep
    });
}

fn display_name(root: &Node) -> String {
    display_name_with(root, "default")
}

fn display_name_with(root: &Node, default_namespace: &str) -> String {
    let meta = root.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("<unnamed>");
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .unwrap_or(default_namespace);
    format!("{ns}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infos(config: &Config) -> Vec<(&str, &str, &str, u32)> {
        config
            .messages
            .iter()
            .filter(|m| m.severity == Severity::Info)
            .map(|m| {
                (
                    m.code.as_str(),
                    m.resource.as_str(),
                    m.text.as_str(),
                    m.source.location.line,
                )
            })
            .collect()
    }

    #[test]
    fn a_gateway_api_route_is_reported_as_not_modelled_where_it_is_written() {
        let text = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reviews}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n";
        let config = load_str(text, "routes.yaml");
        assert_eq!(config.resource_count(), 0);
        assert!(!config.has_errors());
        assert_eq!(
            infos(&config),
            [
                (
                    codes::SKIPPED_KIND,
                    "ServiceAccount default/reviews",
                    "skipped: ServiceAccount does not affect routing",
                    1
                ),
                (
                    codes::NOT_MODELLED,
                    "HTTPRoute default/r",
                    "HTTPRoute default/r is not modelled: ignored",
                    5
                ),
            ]
        );
        assert_eq!(
            config.messages[1].to_string(),
            "Info [MR0007] (HTTPRoute default/r) routes.yaml:5:1 HTTPRoute default/r is not modelled: ignored"
        );
    }

    #[test]
    fn unmodelled_kinds_of_every_group_are_reported_in_their_namespace() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: infra}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny}\n---\napiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: lua}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n";
        let options = LoadOptions {
            default_namespace: "shop".into(),
            ..LoadOptions::default()
        };
        let config = load(
            &[Input {
                name: "k.yaml",
                text,
            }],
            &options,
        );
        let reported: Vec<&str> = config
            .messages
            .iter()
            .filter(|m| m.code == codes::NOT_MODELLED)
            .map(|m| m.resource.as_str())
            .collect();
        assert_eq!(
            reported,
            [
                "Gateway infra/g",
                "AuthorizationPolicy shop/deny",
                "EnvoyFilter shop/lua",
                "ConfigMap istio-system/istio"
            ]
        );
        assert!(
            config.gateways.is_empty(),
            "a Gateway API Gateway is not Istio's"
        );
    }

    #[test]
    fn kinds_istio_ignores_stay_quiet_and_modelled_kinds_load() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews-v1}\nspec:\n  template:\n    metadata: {labels: {app: reviews}}\n";
        let config = load_str(text, "k.yaml");
        assert!(config
            .messages
            .iter()
            .all(|m| m.code == codes::SKIPPED_KIND && m.severity == Severity::Info));
        assert_eq!(config.messages.len(), 3);
        assert_eq!(config.workloads.len(), 1);
    }

    #[test]
    fn read_document_gives_plain_values_with_the_loaders_limits() {
        let value = read_document("a: [1, -2, 2.5, true, null, x]\n3: {b: c}\n", "d.yaml")
            .expect("a valid document");
        assert_eq!(
            value,
            serde_json::json!({"a": [1, -2, 2.5, true, null, "x"], "3": {"b": "c"}})
        );
        assert_eq!(
            read_document("# nothing\n", "d.yaml"),
            Ok(serde_json::Value::Null)
        );

        let deep = format!(
            "{}1{}",
            "[".repeat(limits::MAX_NESTING_DEPTH + 1),
            "]".repeat(limits::MAX_NESTING_DEPTH + 1)
        );
        let e = read_document(&deep, "deep.yaml").expect_err("too deep");
        assert_eq!(e.code, codes::LIMIT_EXCEEDED);
        assert!(e.text.contains("MAX_NESTING_DEPTH"), "{e}");
        assert_eq!(&*e.source.file, "deep.yaml");

        let e = read_document("a: [1\n", "bad.yaml").expect_err("syntax error");
        assert_eq!(e.code, codes::PARSE_ERROR);
        assert!(e.source.location.is_known(), "{e}");

        let e = read_document("a: 1\n---\nb: 2\n", "two.yaml").expect_err("two documents");
        assert_eq!(e.source.location.line, 3, "{e}");
        let e = read_document("? [a]\n: 1\n", "key.yaml").expect_err("a list as a key");
        assert!(e.text.contains("mapping key"), "{e}");
    }
}
