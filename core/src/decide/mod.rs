//! Deciding: a compiled [`Mesh`] and a [`Request`] give a [`Decision`].

pub mod decision;
pub mod request;

pub use decision::{
    Decision, Destination, DirectResponse, Fault, FaultAbort, FaultDelay, HeaderOps, Mirror,
    Outcome, Redirect, Retries, Rewrite, RuleRef, TraceEntry, Verdict,
};
pub use request::{Caller, Headers, Protocol, Request};

use crate::model::Config;

/// Why a request could not be decided (the configuration is fine; the
/// request itself is malformed or over a limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request is malformed or exceeds a limit.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// How the mesh is set up (mesh-wide settings Istio takes from MeshConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshOptions {
    /// Istio's root namespace (DestinationRule lookup falls back to it).
    pub root_namespace: String,
    /// Cluster domain suffix for short-name expansion.
    pub domain_suffix: String,
    /// Outbound traffic policy for hosts unknown to the registry.
    pub outbound_policy: OutboundPolicy,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            root_namespace: "istio-system".into(),
            domain_suffix: "cluster.local".into(),
            outbound_policy: OutboundPolicy::AllowAny,
        }
    }
}

/// What happens to traffic for hosts the registry does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutboundPolicy {
    /// Passed through to the original destination (Istio's default).
    #[default]
    AllowAny,
    /// Refused: HTTP 502 from the BlackHoleCluster, TCP closed.
    RegistryOnly,
}

/// The compiled, immutable routing table. Cheap to share (`Arc<Mesh>`),
/// `Send + Sync`, rebuilt when the configuration changes.
#[derive(Debug)]
pub struct Mesh {
    options: MeshOptions,
}

impl Mesh {
    /// Compiles a configuration with default mesh settings. Resources that
    /// failed to load are absent from `config` and so from the table.
    pub fn compile(config: &Config) -> Mesh {
        Mesh::compile_with(config, MeshOptions::default())
    }

    /// Compiles a configuration with the given mesh settings.
    pub fn compile_with(_config: &Config, options: MeshOptions) -> Mesh {
        Mesh { options }
    }

    /// The mesh settings.
    pub fn options(&self) -> &MeshOptions {
        &self.options
    }

    /// Decides where `request` goes (no trace).
    pub fn decide(&self, request: &Request) -> Result<Decision, RequestError> {
        self.run(request, false)
    }

    /// Decides where `request` goes, with the trace that says why.
    pub fn explain(&self, request: &Request) -> Result<Decision, RequestError> {
        self.run(request, true)
    }

    fn run(&self, request: &Request, _trace: bool) -> Result<Decision, RequestError> {
        request.check_limits().map_err(RequestError::Invalid)?;
        Err(RequestError::Invalid(
            "the routing engine is not built yet".into(),
        ))
    }
}
