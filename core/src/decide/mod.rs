//! Deciding: a compiled [`Mesh`] and a [`Request`] give a [`Decision`].

mod compile;
pub mod decision;
mod engine;
pub mod request;

pub use decision::{
    Decision, Destination, DirectResponse, Fault, FaultAbort, FaultDelay, HeaderOps, Mirror,
    Outcome, Redirect, Retries, Rewrite, RuleRef, TraceEntry, Verdict,
};
pub use request::{Caller, Headers, Protocol, Request};

use crate::model::gateway::Server;
use crate::model::Config;
use crate::policy::RuleIndex;
use crate::registry::Registry;
use std::collections::HashMap;

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

/// A Gateway resource as a route table needs it.
#[derive(Debug)]
pub(crate) struct CompiledGateway {
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub servers: Vec<Server>,
}

/// The compiled, immutable routing table. Cheap to share (`Arc<Mesh>`),
/// `Send + Sync`, rebuilt when the configuration changes.
#[derive(Debug)]
pub struct Mesh {
    options: MeshOptions,
    registry: Registry,
    rules: RuleIndex,
    vs: Vec<compile::CompiledVs>,
    /// Exact hosts claimed by VirtualServices bound to the mesh: index into `vs`, in order.
    mesh_exact: HashMap<String, Vec<usize>>,
    /// Wildcard hosts claimed by VirtualServices bound to the mesh.
    mesh_wildcard: Vec<(String, usize)>,
    gateways: Vec<CompiledGateway>,
}

impl Mesh {
    /// Compiles a configuration with default mesh settings. Resources that
    /// failed to load are absent from `config` and so from the table.
    pub fn compile(config: &Config) -> Mesh {
        Mesh::compile_with(config, MeshOptions::default())
    }

    /// Compiles a configuration with the given mesh settings.
    pub fn compile_with(config: &Config, options: MeshOptions) -> Mesh {
        let domain = options.domain_suffix.clone();
        let vs = compile::compile_virtual_services(config, &domain);
        let mut mesh_exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut mesh_wildcard = Vec::new();
        for (i, v) in vs.iter().enumerate() {
            if !v.bound_to(&crate::hosts::GatewayRef::Mesh) {
                continue;
            }
            for h in &v.hosts {
                if h.starts_with('*') {
                    mesh_wildcard.push((h.clone(), i));
                } else {
                    let list = mesh_exact.entry(h.clone()).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        let gateways = config
            .gateways
            .iter()
            .map(|g| CompiledGateway {
                key: g.key(),
                namespace: g.namespace().to_string(),
                name: g.name().to_string(),
                servers: g.spec.servers.clone(),
            })
            .collect();
        Mesh {
            registry: Registry::build(config, &domain),
            rules: RuleIndex::build(config, &domain),
            vs,
            mesh_exact,
            mesh_wildcard,
            gateways,
            options,
        }
    }

    /// The mesh settings.
    pub fn options(&self) -> &MeshOptions {
        &self.options
    }

    /// The service registry the table was built with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The merged DestinationRules the table was built with.
    pub fn destination_rules(&self) -> &RuleIndex {
        &self.rules
    }

    /// Decides where `request` goes (no trace).
    pub fn decide(&self, request: &Request) -> Result<Decision, RequestError> {
        request.check_limits().map_err(RequestError::Invalid)?;
        Ok(self.run_inner(request, false))
    }

    /// Decides where `request` goes, with the trace that says why.
    pub fn explain(&self, request: &Request) -> Result<Decision, RequestError> {
        request.check_limits().map_err(RequestError::Invalid)?;
        Ok(self.run_inner(request, true))
    }
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn mesh_is_send_and_sync() {
        assert_send_sync::<super::Mesh>();
    }
}
