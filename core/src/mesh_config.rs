//! Istio's MeshConfig as an input: the mesh-wide settings that change a
//! routing decision, read in istiod's YAML shape (camelCase, as in the
//! `mesh` key of the `istio` ConfigMap), with their positions.
//!
//! Three places give a mesh config, in this precedence (istiod reads its
//! `--meshConfig` file instead of the ConfigMap when the file exists, and
//! `istioctl analyze --meshConfigFile` overrides the running cluster's; see
//! istio `pilot/pkg/bootstrap/mesh.go` and `istioctl/pkg/analyze/analyze.go`):
//!
//! 1. a file given explicitly (`meshroute --mesh-config FILE`, a binding's
//!    mesh-config argument) or a route test's `config.meshConfig`;
//! 2. the ConfigMap `istio` in the root namespace (`istio-system`), key `mesh`,
//!    loaded with the other resources.
//!
//! The one in force replaces the others whole (fields it leaves out take
//! Istio's defaults, pkg/config/mesh `DefaultMeshConfig`); `check` warns
//! when one replaces another. [`crate::MeshOptions::from_config`] turns
//! it into the settings a table is compiled with.
//!
//! Fields of Istio's MeshConfig that do not change a decision meshroute
//! makes are accepted and named once in an info message; unknown fields are
//! warnings with a did-you-mean (istiod ignores unknown fields too); a value
//! of the wrong type is an error and the mesh config is not applied
//! (istiod refuses such a mesh config).

use crate::load::events::parse_document;
use crate::load::node::{documents, Node, Value};
use crate::load::{de, did_you_mean};
use crate::message::{codes, Message, Severity};
use crate::model::virtual_service::HttpRetry;
use crate::model::Config;
use crate::source::{Location, Source};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The key of the mesh ConfigMap that holds the mesh config text (istio
/// `pkg/kube/watcher/configmapwatcher`, `MeshConfigKey`).
pub const CONFIG_MAP_KEY: &str = "mesh";
/// The name of the mesh ConfigMap of Istio's default revision.
pub const CONFIG_MAP_NAME: &str = "istio";

/// The MeshConfig fields meshroute reads, as written (absent: Istio's default).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshConfig {
    /// What sidecars do with traffic for hosts the registry does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    /// Istio's administrative root namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_namespace: Option<String>,
    /// `exportTo` of Services and ServiceEntries that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service_export_to: Option<Vec<String>>,
    /// `exportTo` of VirtualServices that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_virtual_service_export_to: Option<Vec<String>>,
    /// `exportTo` of DestinationRules that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_destination_rule_export_to: Option<Vec<String>>,
    /// The retry policy of routes that set no `retries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_http_retry_policy: Option<HttpRetry>,
    /// How proxies normalize the path before routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_normalization: Option<PathNormalizationSetting>,
    /// The proxies' default ProxyConfig: only `proxyMetadata` is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<DefaultProxyConfig>,
}

/// `defaultConfig` of MeshConfig, the part meshroute reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultProxyConfig {
    /// Environment of every proxy (`ISTIO_META_DNS_CAPTURE`, ...).
    /// As written, in order (a later duplicate name wins).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_metadata: Vec<(String, String)>,
}

impl MeshConfig {
    /// Whether proxies capture DNS and allocate addresses to ServiceEntries
    /// that have none (`defaultConfig.proxyMetadata`: `ISTIO_META_DNS_CAPTURE`
    /// and `ISTIO_META_DNS_AUTO_ALLOCATE` or `PILOT_ENABLE_IP_AUTOALLOCATE`
    /// `"true"`), as istio `analyzers/serviceentry/protocoladdresses.go`
    /// reads it for IST0134.
    pub fn dns_auto_allocation(&self) -> bool {
        let Some(metadata) = self.default_config.as_ref().map(|c| &c.proxy_metadata) else {
            return false;
        };
        let on = |key: &str| {
            metadata
                .iter()
                .rev()
                .find(|(name, _)| name == key)
                .is_some_and(|(_, v)| v == "true")
        };
        on("ISTIO_META_DNS_CAPTURE")
            && (on("ISTIO_META_DNS_AUTO_ALLOCATE") || on("PILOT_ENABLE_IP_AUTOALLOCATE"))
    }
}

/// `outboundTrafficPolicy` of MeshConfig.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundTrafficPolicy {
    /// The mode; absent is `REGISTRY_ONLY`, the proto's zero value, when the
    /// policy is written (Istio's default mesh config sets `ALLOW_ANY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OutboundMode>,
}

/// `outboundTrafficPolicy.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OutboundMode {
    /// Unknown hosts are refused.
    #[serde(rename = "REGISTRY_ONLY")]
    RegistryOnly,
    /// Unknown hosts pass through.
    #[serde(rename = "ALLOW_ANY")]
    AllowAny,
    /// Unknown hosts go through a dynamic forward proxy (resolved by DNS);
    /// for a routing decision this is traffic allowed to the host asked for.
    #[serde(rename = "ALLOW_ANY_DYNAMIC_DNS")]
    AllowAnyDynamicDns,
}

/// `pathNormalization` of MeshConfig.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathNormalizationSetting {
    /// The normalization; absent is `DEFAULT` (= `BASE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<NormalizationType>,
}

/// `pathNormalization.normalization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NormalizationType {
    /// Istio's default: `BASE`.
    Default,
    /// Paths are used as is.
    None,
    /// RFC 3986 normalization.
    Base,
    /// `BASE`, then runs of `/` merged.
    MergeSlashes,
    /// Encoded slashes decoded, then `MERGE_SLASHES`.
    DecodeAndMergeSlashes,
}

impl NormalizationType {
    /// The path normalization it selects.
    pub fn mode(self) -> crate::matching::path::PathNormalization {
        use crate::matching::path::PathNormalization as P;
        match self {
            NormalizationType::Default | NormalizationType::Base => P::Base,
            NormalizationType::None => P::None,
            NormalizationType::MergeSlashes => P::MergeSlashes,
            NormalizationType::DecodeAndMergeSlashes => P::DecodeAndMergeSlashes,
        }
    }
}

/// The top-level MeshConfig fields meshroute reads.
pub const MODELLED_FIELDS: [&str; 8] = [
    "outboundTrafficPolicy",
    "rootNamespace",
    "defaultServiceExportTo",
    "defaultVirtualServiceExportTo",
    "defaultDestinationRuleExportTo",
    "defaultHttpRetryPolicy",
    "pathNormalization",
    "defaultConfig",
];

/// The other fields of Istio's MeshConfig (istio/api `mesh/v1alpha1/config.proto`):
/// accepted, and named in one info message, because no decision meshroute
/// makes depends on them (listener ports, telemetry, certificates, load
/// balancing and connection settings, inbound handling, TLS versions,
/// `defaultConfig` except its `proxyMetadata`,
/// `enableAutoMtls`: a decision does not carry the upstream TLS mode;
/// `defaultInboundHttpRetryPolicy`: inbound routes, read by istio from a
/// newer MeshConfig than the api's `config.proto`).
pub const NOT_MODELLED_FIELDS: [&str; 43] = [
    "proxyListenPort",
    "proxyInboundListenPort",
    "proxyHttpPort",
    "connectTimeout",
    "hboneIdleTimeout",
    "protocolDetectionTimeout",
    "tcpKeepalive",
    "ingressClass",
    "ingressService",
    "ingressControllerMode",
    "ingressSelector",
    "enableTracing",
    "accessLogFile",
    "accessLogFormat",
    "accessLogEncoding",
    "enableEnvoyAccessLogService",
    "disableEnvoyListenerLog",
    "inboundTrafficPolicy",
    "configSources",
    "enableAutoMtls",
    "trustDomain",
    "trustDomainAliases",
    "caCertificates",
    "localityLbSetting",
    "zoneAwareLbSetting",
    "dnsRefreshRate",
    "h2UpgradePolicy",
    "inboundClusterStatName",
    "outboundClusterStatName",
    "certificates",
    "serviceSettings",
    "serviceScopeConfigs",
    "enablePrometheusMerge",
    "verifyCertificateAtClient",
    "ca",
    "extensionProviders",
    "defaultProviders",
    "discoverySelectors",
    "meshMTLS",
    "tlsDefaults",
    "defaultTrafficPolicy",
    "serviceEntryVisibility",
    "defaultInboundHttpRetryPolicy",
];

/// Where a mesh config came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MeshConfigOrigin {
    /// A file given explicitly (`--mesh-config`, a binding's argument).
    File(String),
    /// The `mesh` key of the mesh ConfigMap.
    ConfigMap {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A route-test or scenario file's `config.meshConfig`.
    RouteTest(String),
}

impl MeshConfigOrigin {
    /// Whether it was given explicitly (it then replaces a ConfigMap's).
    pub fn is_explicit(&self) -> bool {
        !matches!(self, MeshConfigOrigin::ConfigMap { .. })
    }
}

impl fmt::Display for MeshConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeshConfigOrigin::File(name) => write!(f, "mesh config file {name}"),
            MeshConfigOrigin::ConfigMap { namespace, name } => {
                write!(f, "ConfigMap {namespace}/{name}")
            }
            MeshConfigOrigin::RouteTest(name) => write!(f, "{name} config.meshConfig"),
        }
    }
}

/// A mesh config read from one place.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshConfigSource {
    /// Where it came from.
    pub origin: MeshConfigOrigin,
    /// Where its text starts.
    pub source: Source,
    /// The fields meshroute reads.
    pub config: MeshConfig,
}

/// Reads a mesh config file (a MeshConfig YAML or JSON document, as given
/// to istiod's `--meshConfig` or `istioctl analyze --meshConfigFile`).
/// `None` when it cannot be applied; the messages say why, with positions.
pub fn read_mesh_config(text: &str, name: &str) -> (Option<MeshConfigSource>, Vec<Message>) {
    let origin = MeshConfigOrigin::File(name.to_string());
    let file: Arc<str> = Arc::from(name);
    read_text(text, origin, &file, Location::new(1, 1), None)
}

impl Config {
    /// Adds a mesh config file given explicitly (as [`read_mesh_config`]
    /// reads it): its messages join [`Config::messages`], and it takes
    /// precedence over a mesh ConfigMap among the resources.
    pub fn add_mesh_config_file(&mut self, text: &str, name: &str) {
        let (source, messages) = read_mesh_config(text, name);
        self.messages.extend(messages);
        self.mesh_configs.extend(source);
    }

    /// The mesh config in force: the last one given explicitly, else the
    /// last mesh ConfigMap; `None` means Istio's defaults.
    pub fn mesh_config(&self) -> Option<&MeshConfigSource> {
        self.mesh_configs
            .iter()
            .rev()
            .find(|s| s.origin.is_explicit())
            .or_else(|| self.mesh_configs.last())
    }
}

/// Reads the text of a mesh config. `start` is where the text begins in
/// `file`; `block` is, for text embedded as a block scalar, the line of
/// its first content line and its indentation, so positions point into
/// the file. Without `block`, embedded positions fall back to `start`.
pub(crate) fn read_text(
    text: &str,
    origin: MeshConfigOrigin,
    file: &Arc<str>,
    start: Location,
    block: Option<(u32, u32)>,
) -> (Option<MeshConfigSource>, Vec<Message>) {
    let embedded = !matches!(origin, MeshConfigOrigin::File(_));
    let place = |loc: Location| -> Location {
        match block {
            Some((first_line, indent)) if loc.is_known() => {
                Location::new(loc.line + first_line - 1, loc.column + indent)
            }
            _ if embedded => start,
            _ => loc,
        }
    };
    let reader = Reader {
        origin: &origin,
        file,
        place: &place,
    };
    let mut messages = Vec::new();
    let mut root = None;
    for doc in documents(text) {
        match parse_document(&doc) {
            Ok(None) => {}
            Ok(Some(node)) if root.is_none() => root = Some(node),
            Ok(Some(node)) => {
                messages.push(
                    reader.message(
                        codes::PARSE_ERROR,
                        Severity::Error,
                        "",
                        node.loc,
                        "a second YAML document: a mesh config is one document; it is not applied"
                            .into(),
                        "give one MeshConfig document",
                    ),
                );
                return (None, messages);
            }
            Err(e) => {
                messages.push(reader.message(
                    if e.limit {
                        codes::LIMIT_EXCEEDED
                    } else {
                        codes::PARSE_ERROR
                    },
                    Severity::Error,
                    "",
                    e.loc,
                    format!("invalid YAML: {}; the mesh config is not applied", e.text),
                    "fix the YAML syntax at this position",
                ));
                return (None, messages);
            }
        }
    }
    let root = root.unwrap_or(Node {
        value: Value::Null,
        loc: Location::new(1, 1),
    });
    let config = reader.read_node(root, &mut messages);
    let source = config.map(|config| MeshConfigSource {
        origin: origin.clone(),
        source: Source::new(file.clone(), start),
        config,
    });
    (source, messages)
}

/// Reads the mesh ConfigMap document `root` (in `text`, named `file`): its
/// `data.mesh` text as a mesh config, positions mapped into the file.
pub(crate) fn from_config_map(
    root: &Node<'_>,
    file: &Arc<str>,
    text: &str,
    default_namespace: &str,
) -> (Option<MeshConfigSource>, Vec<Message>) {
    let meta = root.get("metadata");
    let field = |key: &str| meta.and_then(|m| m.get(key)).and_then(Node::as_str);
    let origin = MeshConfigOrigin::ConfigMap {
        namespace: field("namespace").unwrap_or(default_namespace).to_string(),
        name: field("name").unwrap_or(CONFIG_MAP_NAME).to_string(),
    };
    let reader_place = |loc: Location| loc;
    let reader = Reader {
        origin: &origin,
        file,
        place: &reader_place,
    };
    match root.get("data").and_then(|d| d.get(CONFIG_MAP_KEY)) {
        None => {
            let message = reader.message(
                codes::NOT_MODELLED,
                Severity::Info,
                "",
                root.loc,
                format!("{origin} has no `data.mesh`: Istio's default mesh config applies"),
                "",
            );
            (None, vec![message])
        }
        Some(node) => match &node.value {
            Value::Str(mesh) => {
                let block = crate::load::fields::block_scalar_origin(text, node.loc);
                read_text(mesh, origin, file, node.loc, block)
            }
            Value::Null => (None, Vec::new()),
            other => {
                let message = reader.message(
                    codes::BAD_FIELD,
                    Severity::Error,
                    "",
                    node.loc,
                    format!(
                        "`data.mesh` must be the mesh config as text, not {}; it is not applied",
                        other.describe()
                    ),
                    "write `mesh: |` followed by the MeshConfig YAML",
                );
                (None, vec![message])
            }
        },
    }
}

/// Reads a mesh config written as a mapping inside another file (a route
/// test's `config.meshConfig`): positions are the node's own.
pub(crate) fn read_inline(
    node: &Node<'_>,
    origin: MeshConfigOrigin,
    file: &Arc<str>,
) -> (Option<MeshConfigSource>, Vec<Message>) {
    let place = |loc: Location| loc;
    let reader = Reader {
        origin: &origin,
        file,
        place: &place,
    };
    let mut messages = Vec::new();
    let config = reader.read_node(node.clone(), &mut messages);
    let source = config.map(|config| MeshConfigSource {
        origin: origin.clone(),
        source: Source::new(file.clone(), node.loc),
        config,
    });
    (source, messages)
}

struct Reader<'r> {
    origin: &'r MeshConfigOrigin,
    file: &'r Arc<str>,
    place: &'r dyn Fn(Location) -> Location,
}

impl Reader<'_> {
    fn message(
        &self,
        code: &str,
        severity: Severity,
        field: &str,
        loc: Location,
        text: String,
        fix: &str,
    ) -> Message {
        let resource = match self.origin {
            MeshConfigOrigin::ConfigMap { namespace, name } => {
                format!("ConfigMap {namespace}/{name}")
            }
            _ => "MeshConfig".to_string(),
        };
        let field = match self.origin {
            MeshConfigOrigin::ConfigMap { .. } if field.is_empty() => "data.mesh".to_string(),
            MeshConfigOrigin::ConfigMap { .. } => format!("data.mesh: {field}"),
            _ => field.to_string(),
        };
        Message::new(
            code,
            severity,
            resource,
            field,
            Source::new(self.file.clone(), (self.place)(loc)),
            text,
            fix,
        )
    }

    /// The fields meshroute reads; the others become messages. `None` when
    /// a value has the wrong type (istiod refuses such a mesh config).
    /// Read by hand rather than through serde: the WASM build is
    /// size-limited, and this keeps the generic deserializer out of it.
    fn read_node(&self, root: Node<'_>, messages: &mut Vec<Message>) -> Option<MeshConfig> {
        let mut bad = false;
        let entries = match &root.value {
            Value::Map(entries) => entries.as_slice(),
            Value::Null => return Some(MeshConfig::default()),
            other => {
                messages.push(self.message(
                    codes::BAD_FIELD,
                    Severity::Error,
                    "",
                    root.loc,
                    format!(
                        "a mesh config is a mapping of MeshConfig fields, not {}; it is not applied",
                        other.describe()
                    ),
                    "write MeshConfig fields such as `outboundTrafficPolicy: {mode: REGISTRY_ONLY}`",
                ));
                return None;
            }
        };
        let mut config = MeshConfig::default();
        let mut not_modelled: Vec<String> = Vec::new();
        let mut first_not_modelled = None;
        let mut skip = |key: String, loc: Location| {
            first_not_modelled.get_or_insert(loc);
            not_modelled.push(key);
        };
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            if matches!(v.value, Value::Null) {
                continue;
            }
            let mut field = Field {
                reader: self,
                messages: &mut *messages,
                bad: &mut bad,
            };
            match key {
                "outboundTrafficPolicy" => {
                    let mut policy = OutboundTrafficPolicy::default();
                    for (pk, pv) in field.mapping(v, key, &["mode", "tls"]) {
                        match pk.as_str().unwrap_or("") {
                            "mode" => {
                                policy.mode = field
                                    .choice(pv, "outboundTrafficPolicy.mode", &OUTBOUND_MODES)
                                    .map(|i| OUTBOUND_MODE_VALUES[i]);
                            }
                            _ => skip("outboundTrafficPolicy.tls".into(), pk.loc),
                        }
                    }
                    if policy.mode == Some(OutboundMode::AllowAnyDynamicDns) {
                        field.messages.push(self.message(
                            codes::NOT_MODELLED,
                            Severity::Info,
                            "outboundTrafficPolicy.mode",
                            v.loc,
                            "ALLOW_ANY_DYNAMIC_DNS is decided as ALLOW_ANY: its dynamic DNS cluster is not modelled".into(),
                            "",
                        ));
                    }
                    config.outbound_traffic_policy = Some(policy);
                }
                "rootNamespace" => config.root_namespace = field.string(v, key),
                "defaultServiceExportTo" => {
                    config.default_service_export_to = field.strings(v, key)
                }
                "defaultVirtualServiceExportTo" => {
                    config.default_virtual_service_export_to = field.strings(v, key)
                }
                "defaultDestinationRuleExportTo" => {
                    config.default_destination_rule_export_to = field.strings(v, key)
                }
                "defaultHttpRetryPolicy" => config.default_http_retry_policy = field.retry(v, key),
                "pathNormalization" => {
                    let mut setting = PathNormalizationSetting::default();
                    for (_, nv) in field.mapping(v, key, &["normalization"]) {
                        setting.normalization = field
                            .choice(nv, "pathNormalization.normalization", &NORMALIZATIONS)
                            .map(|i| NORMALIZATION_VALUES[i]);
                    }
                    config.path_normalization = Some(setting);
                }
                "defaultConfig" => {
                    let mut proxy = DefaultProxyConfig::default();
                    for (pk, pv) in field.mapping(v, key, &[]) {
                        let name = pk.as_str().unwrap_or("");
                        if name != "proxyMetadata" {
                            skip(format!("defaultConfig.{name}"), pk.loc);
                            continue;
                        }
                        for (mk, mv) in field.mapping(pv, "defaultConfig.proxyMetadata", &[]) {
                            let name = mk.as_str().unwrap_or("");
                            let path = format!("defaultConfig.proxyMetadata.{name}");
                            if let Some(value) = field.string(mv, &path) {
                                proxy.proxy_metadata.push((name.to_string(), value));
                            }
                        }
                    }
                    config.default_config = Some(proxy);
                }
                _ if NOT_MODELLED_FIELDS.contains(&key) => skip(key.to_string(), k.loc),
                _ => {
                    let known = MODELLED_FIELDS.iter().chain(NOT_MODELLED_FIELDS.iter());
                    let fix = match did_you_mean(key, known.copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "remove it: not a MeshConfig field".into(),
                    };
                    field.unknown(key, k.loc, fix);
                }
            }
        }
        if let Some(loc) = first_not_modelled {
            messages.push(self.message(
                codes::NOT_MODELLED,
                Severity::Info,
                "",
                loc,
                format!(
                    "MeshConfig fields not modelled (no decision depends on them): {}",
                    not_modelled.join(", ")
                ),
                "",
            ));
        }
        (!bad).then_some(config)
    }
}

/// `outboundTrafficPolicy.mode` as written, and its value.
const OUTBOUND_MODES: [&str; 3] = ["REGISTRY_ONLY", "ALLOW_ANY", "ALLOW_ANY_DYNAMIC_DNS"];
const OUTBOUND_MODE_VALUES: [OutboundMode; 3] = [
    OutboundMode::RegistryOnly,
    OutboundMode::AllowAny,
    OutboundMode::AllowAnyDynamicDns,
];
/// `pathNormalization.normalization` as written, and its value.
const NORMALIZATIONS: [&str; 5] = [
    "DEFAULT",
    "NONE",
    "BASE",
    "MERGE_SLASHES",
    "DECODE_AND_MERGE_SLASHES",
];
const NORMALIZATION_VALUES: [NormalizationType; 5] = [
    NormalizationType::Default,
    NormalizationType::None,
    NormalizationType::Base,
    NormalizationType::MergeSlashes,
    NormalizationType::DecodeAndMergeSlashes,
];

/// Typed reads of one field's value: an unknown key is a warning (istiod
/// ignores it), a wrong type an error that stops the mesh config applying.
struct Field<'f, 'r> {
    reader: &'f Reader<'r>,
    messages: &'f mut Vec<Message>,
    bad: &'f mut bool,
}

impl Field<'_, '_> {
    /// An error that stops the mesh config applying, as istiod refuses it.
    fn refuse(&mut self, path: &str, loc: Location, problem: String, fix: &str) {
        *self.bad = true;
        self.messages.push(self.reader.message(
            codes::BAD_FIELD,
            Severity::Error,
            path,
            loc,
            format!("{problem}; the mesh config is not applied (istiod refuses it)"),
            fix,
        ));
    }

    fn wrong(&mut self, path: &str, node: &Node<'_>, expected: &str, fix: &str) {
        let found = node.value.describe();
        self.refuse(
            path,
            node.loc,
            format!("expected {expected}, found {found}"),
            fix,
        );
    }

    fn unknown(&mut self, path: &str, loc: Location, fix: String) {
        let name = path.rsplit('.').next().unwrap_or(path);
        self.messages.push(self.reader.message(
            codes::BAD_FIELD,
            Severity::Warning,
            path,
            loc,
            format!("unknown MeshConfig field `{name}`: istiod ignores it"),
            &fix,
        ));
    }

    /// The entries of a mapping; with `allowed` non-empty, other keys are
    /// unknown-field warnings and left out.
    fn mapping<'n>(
        &mut self,
        node: &'n Node<'n>,
        path: &str,
        allowed: &[&str],
    ) -> Vec<(&'n Node<'n>, &'n Node<'n>)> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => return Vec::new(),
            _ => {
                self.wrong(path, node, "a mapping", "");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            if allowed.is_empty() || allowed.contains(&key) {
                out.push((k, v));
                continue;
            }
            let fix = if key == "egressProxy" {
                "egressProxy is a field of a Sidecar's outboundTrafficPolicy, not of MeshConfig's"
                    .to_string()
            } else {
                match did_you_mean(key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("remove it; known fields here: {}", allowed.join(", ")),
                }
            };
            self.unknown(&format!("{path}.{key}"), k.loc, fix);
        }
        out
    }

    fn string(&mut self, node: &Node<'_>, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.to_string()),
            _ => {
                self.wrong(path, node, "a string", "");
                None
            }
        }
    }

    fn strings(&mut self, node: &Node<'_>, path: &str) -> Option<Vec<String>> {
        let Value::Seq(items) = &node.value else {
            self.wrong(
                path,
                node,
                "a list of strings",
                "write a list such as [\".\"]",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.string(item, &format!("{path}[{i}]"))?);
        }
        Some(out)
    }

    /// One of `choices`, by index.
    fn choice(&mut self, node: &Node<'_>, path: &str, choices: &[&str]) -> Option<usize> {
        let text = node.as_str().unwrap_or("");
        if let Some(i) = choices.iter().position(|c| *c == text) {
            return Some(i);
        }
        let fix = match did_you_mean(text, choices.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use one of: {}", choices.join(", ")),
        };
        let found = node.value.describe();
        self.refuse(path, node.loc, format!("unknown value {found}"), &fix);
        None
    }

    /// A VirtualService `HTTPRetry`, read as a route's is.
    fn retry(&mut self, node: &Node<'_>, path: &str) -> Option<HttpRetry> {
        let mut node = node.clone();
        loop {
            match de::read::<HttpRetry>(&node, path) {
                Ok(retry) => return Some(retry),
                Err(errors) => {
                    let unknown_only = errors.iter().all(|e| e.text.starts_with("unknown field"));
                    for e in &errors {
                        if unknown_only {
                            self.messages.push(self.reader.message(
                                codes::BAD_FIELD,
                                Severity::Warning,
                                &e.path,
                                e.loc,
                                format!("{}: istiod ignores it", e.text),
                                &e.fix,
                            ));
                        } else {
                            self.refuse(&e.path, e.loc, e.text.clone(), &e.fix);
                        }
                    }
                    if !unknown_only || !errors.iter().all(|e| de::remove_key_at(&mut node, e.loc))
                    {
                        return None;
                    }
                }
            }
        }
    }
}

/// The messages about mesh configs that replace others: `check` reports them.
pub(crate) fn check_into(config: &Config, messages: &mut Vec<Message>) {
    let Some(used) = config.mesh_config() else {
        return;
    };
    for other in &config.mesh_configs {
        if std::ptr::eq(other, used) {
            continue;
        }
        messages.push(Message::new(
            codes::DUPLICATE_RESOURCE,
            Severity::Warning,
            match &other.origin {
                MeshConfigOrigin::ConfigMap { namespace, name } => {
                    format!("ConfigMap {namespace}/{name}")
                }
                _ => "MeshConfig".to_string(),
            },
            String::new(),
            other.source.clone(),
            format!(
                "the mesh config of {} is replaced by {}",
                other.origin, used.origin
            ),
            "give the mesh settings in one place",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Option<MeshConfig>, Vec<Message>) {
        let (s, m) = read_mesh_config(text, "mesh.yaml");
        (s.map(|s| s.config), m)
    }

    #[test]
    fn reads_the_modelled_fields_in_istiods_shape() {
        let (c, m) = read(
            "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\nrootNamespace: mesh-root\ndefaultVirtualServiceExportTo: [\".\"]\ndefaultHttpRetryPolicy: {attempts: 5, retryOn: 5xx}\npathNormalization: {normalization: MERGE_SLASHES}\n",
        );
        assert!(m.is_empty(), "{m:?}");
        let c = c.unwrap();
        assert_eq!(
            c.outbound_traffic_policy.unwrap().mode,
            Some(OutboundMode::RegistryOnly)
        );
        assert_eq!(c.root_namespace.as_deref(), Some("mesh-root"));
        assert_eq!(c.default_virtual_service_export_to.unwrap(), ["."]);
        assert_eq!(c.default_http_retry_policy.unwrap().attempts, Some(5));
        assert_eq!(
            c.path_normalization.unwrap().normalization,
            Some(NormalizationType::MergeSlashes)
        );
    }

    #[test]
    fn istio_fields_not_modelled_are_named_once_as_info() {
        let (c, m) = read("enableTracing: true\naccessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod:15012\n  proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"true\", ISTIO_META_DNS_AUTO_ALLOCATE: \"true\"}\noutboundTrafficPolicy: {mode: ALLOW_ANY}\n");
        assert!(c.as_ref().is_some_and(MeshConfig::dns_auto_allocation));
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].code, codes::NOT_MODELLED);
        assert_eq!(m[0].severity, Severity::Info);
        assert!(m[0]
            .text
            .ends_with("enableTracing, accessLogFile, defaultConfig.discoveryAddress"));
        assert_eq!(m[0].source.location, Location::new(1, 1));
    }

    #[test]
    fn a_misspelt_field_is_a_warning_with_a_suggestion_and_the_rest_applies() {
        let (c, m) = read("outboundTraficPolicy: {mode: REGISTRY_ONLY}\nrootNamespace: r\n");
        assert_eq!(c.unwrap().root_namespace.as_deref(), Some("r"));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].severity, Severity::Warning);
        assert_eq!(m[0].fix, "did you mean `outboundTrafficPolicy`?");
        assert_eq!(m[0].source.to_string(), "mesh.yaml:1:1");
        let (c, m) =
            read("outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: egress}\n");
        assert!(c.is_some());
        assert_eq!(m[0].severity, Severity::Warning);
        assert!(m[0].fix.contains("Sidecar"), "{m:?}");
        assert_eq!(m[0].source.location, Location::new(3, 3));
    }

    #[test]
    fn a_wrong_value_is_an_error_and_the_mesh_config_is_not_applied() {
        let (c, m) = read("outboundTrafficPolicy: {mode: REGISTRY_ONLYY}\n");
        assert!(c.is_none());
        assert_eq!(m[0].severity, Severity::Error);
        assert_eq!(m[0].field_path, "outboundTrafficPolicy.mode");
        assert!(m[0].fix.contains("REGISTRY_ONLY"), "{m:?}");
        let (c, m) = read("[a]\n");
        assert!(c.is_none());
        assert!(m[0].text.contains("not a list") || m[0].text.contains("a list"));
    }

    #[test]
    fn the_retry_policy_is_read_as_a_routes_with_positions() {
        let (c, m) = read("defaultHttpRetryPolicy:\n  attempts: 3\n  retryOnn: 5xx\n");
        assert_eq!(
            c.unwrap().default_http_retry_policy.unwrap().attempts,
            Some(3)
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].severity, Severity::Warning);
        assert_eq!(m[0].field_path, "defaultHttpRetryPolicy.retryOnn");
        assert_eq!(m[0].fix, "did you mean `retryOn`?");
        let (c, m) = read("defaultHttpRetryPolicy: {attempts: many}\nrootNamespace: [x]\n");
        assert!(c.is_none());
        let errors: Vec<_> = m
            .iter()
            .map(|m| (m.severity, m.field_path.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (Severity::Error, "defaultHttpRetryPolicy.attempts"),
                (Severity::Error, "rootNamespace")
            ]
        );
    }

    #[test]
    fn an_explicit_mesh_config_wins_over_the_config_map() {
        let mut config = crate::load::load_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n",
            "cm.yaml",
        );
        let from_map = config.mesh_config().unwrap();
        assert_eq!(from_map.origin.to_string(), "ConfigMap istio-system/istio");
        config.add_mesh_config_file("rootNamespace: other\n", "mesh.yaml");
        let used = config.mesh_config().unwrap();
        assert_eq!(used.origin.to_string(), "mesh config file mesh.yaml");
        let messages = crate::check(&config);
        let replaced: Vec<_> = messages
            .iter()
            .filter(|m| m.code == codes::DUPLICATE_RESOURCE)
            .collect();
        assert_eq!(replaced.len(), 1, "{messages:?}");
        assert_eq!(replaced[0].resource, "ConfigMap istio-system/istio");
    }

    #[test]
    fn positions_inside_a_config_map_point_into_the_file() {
        let config = crate::load::load_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    rootNamespace: r\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLYY\n",
            "cm.yaml",
        );
        let error = config.load_errors().next().expect("an error");
        assert_eq!(error.source.to_string(), "cm.yaml:8:13");
        assert_eq!(error.resource, "ConfigMap istio-system/istio");
        assert_eq!(error.field_path, "data.mesh: outboundTrafficPolicy.mode");
        assert!(config.mesh_config().is_none());
    }

    #[test]
    fn dns_auto_allocation_in_the_mesh_config_silences_ist0134() {
        // istio analyzers/serviceentry/protocoladdresses.go reads defaultConfig.proxyMetadata.
        let se = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: db, namespace: default}\nspec:\n  hosts: [db.example.com]\n  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]\n";
        let ist0134 = |config: &Config| {
            crate::check(config)
                .iter()
                .filter(|m| m.code == codes::SERVICE_ENTRY_ADDRESSES_REQUIRED)
                .count()
        };
        let mut config = crate::load::load_str(se, "se.yaml");
        assert_eq!(ist0134(&config), 1);
        config.add_mesh_config_file(
            "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n    ISTIO_META_DNS_AUTO_ALLOCATE: \"true\"\n",
            "mesh.yaml",
        );
        assert_eq!(ist0134(&config), 0);
        let mut capture_only = crate::load::load_str(se, "se.yaml");
        capture_only.add_mesh_config_file(
            "defaultConfig: {proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"true\"}}\n",
            "mesh.yaml",
        );
        assert_eq!(ist0134(&capture_only), 1);
    }

    /// The settings applied to decisions, one mesh config per case.
    mod decisions {
        use crate::decide::Protocol;
        use crate::{Mesh, Outcome, Request};

        const SERVICES: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: default}\nspec: {ports: [{name: http, port: 9080}]}\n";

        fn mesh(resources: &str, mesh_config: &str) -> Mesh {
            let mut config = crate::load::load_str(resources, "r.yaml");
            if !mesh_config.is_empty() {
                config.add_mesh_config_file(mesh_config, "mesh.yaml");
            }
            assert!(!config.has_errors(), "{:?}", config.messages);
            Mesh::compile(&config)
        }

        #[test]
        fn outbound_traffic_policy_decides_unknown_hosts_and_explain_names_its_origin() {
            let allow = mesh(SERVICES, "");
            let d = allow.explain(&Request::new("example.com")).unwrap();
            assert_eq!(d.outcome(), Outcome::Passthrough);
            assert!(
                crate::explain::decision_text(&d, &crate::explain::Plain).contains(
                    "ALLOW_ANY (meshConfig.outboundTrafficPolicy, Istio's default mesh config)"
                )
            );
            let refuse = mesh(SERVICES, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n");
            let d = refuse.explain(&Request::new("example.com")).unwrap();
            assert_eq!(d.direct_response().map(|r| r.status), Some(502));
            assert!(d.trace().iter().any(|t| t.detail.contains(
                "REGISTRY_ONLY (meshConfig.outboundTrafficPolicy, mesh config file mesh.yaml)"
            )));
            let mut tcp = Request::new("example.com");
            tcp.protocol = Protocol::Tcp;
            tcp.port = Some(5432);
            assert_eq!(refuse.decide(&tcp).unwrap().outcome(), Outcome::NotFound);
            assert_eq!(
                refuse
                    .decide(&Request::new("reviews:9080"))
                    .unwrap()
                    .outcome(),
                Outcome::DefaultRoute
            );
            // A written policy without a mode is the proto's zero value, REGISTRY_ONLY.
            let zero = mesh(SERVICES, "outboundTrafficPolicy: {}\n");
            assert_eq!(
                zero.decide(&Request::new("example.com")).unwrap().outcome(),
                Outcome::DirectResponse
            );
        }

        #[test]
        fn default_export_to_applies_to_resources_that_set_none() {
            let resources = format!("{SERVICES}---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: r, namespace: default}}\nspec:\n  hosts: [reviews]\n  http: [{{directResponse: {{status: 418}}}}]\n");
            let from = |mesh: &Mesh, ns: &str| {
                let mut r = Request::new("reviews.default.svc.cluster.local:9080");
                r.source.namespace = ns.to_string();
                mesh.decide(&r).unwrap().outcome()
            };
            let open = mesh(&resources, "");
            assert_eq!(from(&open, "other"), Outcome::DirectResponse);
            let private_vs = mesh(&resources, "defaultVirtualServiceExportTo: [\".\"]\n");
            assert_eq!(from(&private_vs, "default"), Outcome::DirectResponse);
            assert_eq!(from(&private_vs, "other"), Outcome::DefaultRoute);
            let private_all = mesh(
                &resources,
                "defaultVirtualServiceExportTo: [\".\"]\ndefaultServiceExportTo: [\".\"]\n",
            );
            assert_eq!(from(&private_all, "other"), Outcome::Passthrough);
        }

        #[test]
        fn root_namespace_and_path_normalization_are_applied() {
            let config = crate::load::load_str(SERVICES, "r.yaml");
            let mut with = config.clone();
            with.add_mesh_config_file(
                "rootNamespace: mesh-root\npathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}\n",
                "mesh.yaml",
            );
            let options = crate::MeshOptions::from_config(&with);
            assert_eq!(options.root_namespace, "mesh-root");
            assert_eq!(
                options.path_normalization,
                crate::matching::path::PathNormalization::DecodeAndMergeSlashes
            );
            assert_eq!(
                options.origin.as_deref(),
                Some("mesh config file mesh.yaml")
            );
            assert_eq!(
                crate::MeshOptions::from_config(&config),
                crate::MeshOptions::default()
            );
        }

        #[test]
        fn the_mesh_retry_policy_reaches_routes_without_retries_and_default_routes() {
            let m = mesh(
                SERVICES,
                "defaultHttpRetryPolicy: {attempts: 4, retryOn: 5xx}\n",
            );
            let d = m.explain(&Request::new("reviews:9080")).unwrap();
            let r = d.retries().unwrap();
            assert_eq!(
                (r.attempts, r.retry_on.as_str(), r.default),
                (4, "5xx", true)
            );
            assert!(d.trace().iter().any(|t| t
                .detail
                .contains("meshConfig.defaultHttpRetryPolicy from mesh config file mesh.yaml: 4 retries on 5xx")));
        }
    }
}
