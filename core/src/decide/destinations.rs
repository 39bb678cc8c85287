//! A route destination resolved for the proxy deciding: host, port,
//! subset, cluster name, the DestinationRule and merged policy, and why
//! traffic to it will fail, when it will.

use super::decision::*;
use super::evaluate::Proxy;
use super::trace::Tracer;
use super::Mesh;
use crate::hosts::{self};
use crate::model::common::Destination as DestinationSpec;
use crate::registry::Service;
use std::borrow::Cow;
use std::sync::Arc;

/// A destination's DestinationRule, policy and runtime problem.
pub(crate) struct DestinationFacts<'m> {
    pub rule: Option<&'m Arc<crate::destination_rules::MergedRule>>,
    pub policy: Option<&'m Arc<crate::model::destination_rule::TrafficPolicy>>,
    pub problem: Option<String>,
}

impl Mesh {
    /// A `route[].destination` resolved: host expanded from the rule's
    /// namespace, port (explicit, the service's only port, or the listener
    /// port), subset checked, policy merged.
    pub(super) fn route_destination(
        &self,
        dest: &DestinationSpec,
        vs_namespace: &str,
        weight: u32,
        proxy: &Proxy<'_, '_>,
        t: &mut Tracer,
    ) -> Destination<'_> {
        let host = hosts::resolve_short_name(
            dest.host.as_deref().unwrap_or(""),
            vs_namespace,
            &self.options.domain_suffix,
        )
        .to_ascii_lowercase();
        let service = self.registry.lookup(&host, proxy.namespace);
        let port = dest
            .port
            .as_ref()
            .and_then(|p| p.number)
            .filter(|p| *p != 0)
            .or_else(|| service.and_then(|s| s.only_port()));
        let port = port.or(Some(proxy.listener_port));
        // Istio looks destinations up by exact name: the host stays as written.
        let subset = dest.subset.clone().map(Cow::Owned);
        self.destination(Cow::Owned(host), service, subset, port, weight, proxy, t)
    }

    pub(super) fn prepared_destination<'m>(
        &'m self,
        pd: &'m super::compile::PreparedDest,
        weight: u32,
        proxy: &Proxy<'_, 'm>,
        t: &mut Tracer,
    ) -> Destination<'m> {
        if !t.on {
            if let Some(r) = proxy.cache.and_then(|c| self.cached_destination(c, pd.key)) {
                return Destination {
                    host: Cow::Borrowed(&pd.host),
                    subset: pd.subset.as_deref().map(Cow::Borrowed),
                    port: r.port,
                    weight,
                    cluster: Cow::Borrowed(&r.cluster),
                    policy: r.policy.as_ref().map(Shared::Lent),
                    problem: r.problem.as_deref().map(Cow::Borrowed),
                };
            }
        }
        let service = self.registry.lookup(&pd.host, proxy.namespace);
        let port = pd
            .port
            .or_else(|| service.and_then(|s| s.only_port()))
            .or(Some(proxy.listener_port));
        // Istio looks destinations up by exact name: the host stays as written.
        let subset = pd.subset.as_deref().map(Cow::Borrowed);
        self.destination(
            Cow::Borrowed(&pd.host),
            service,
            subset,
            port,
            weight,
            proxy,
            t,
        )
    }

    /// `service` is the registry's answer for `host` from the proxy's namespace.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn destination<'m>(
        &'m self,
        host: Cow<'m, str>,
        service: Option<&'m Service>,
        subset_name: Option<Cow<'m, str>>,
        port: Option<u32>,
        weight: u32,
        proxy: &Proxy<'_, '_>,
        t: &mut Tracer,
    ) -> Destination<'m> {
        let subset = subset_name.as_deref();
        let facts =
            self.destination_facts(&host, service, subset, port, proxy.namespace, proxy.labels);
        let cluster = self.cluster_name(&host, port, subset);
        t.add(
            "destination",
            || cluster.to_string(),
            if facts.problem.is_some() {
                Verdict::Failed
            } else {
                Verdict::Matched
            },
            || {
                let mut s = format!("weight {weight}");
                if let Some(r) = facts.rule {
                    s.push_str(&format!("; DestinationRule {}", r.names.join(", ")));
                }
                if let Some(p) = &facts.problem {
                    s.push_str("; ");
                    s.push_str(p);
                }
                s
            },
        );
        Destination {
            host,
            subset: subset_name,
            port,
            weight,
            cluster,
            policy: facts.policy.map(Shared::Lent),
            problem: facts.problem.map(Cow::Owned),
        }
    }

    /// What a proxy in `namespace` (with `labels`; `None` at a gateway)
    /// gets for a destination: the DestinationRule, the merged policy, and
    /// why traffic will fail at runtime, when it will.
    pub(crate) fn destination_facts<'m>(
        &'m self,
        host: &str,
        service: Option<&'m Service>,
        subset: Option<&str>,
        port: Option<u32>,
        namespace: &str,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> DestinationFacts<'m> {
        let rule = self.rules.lookup(
            host,
            namespace,
            labels,
            service.map(|s| s.namespace.as_str()),
            &self.options.root_namespace,
        );
        let mut problem = None;
        if service.is_none() {
            problem = Some(format!(
                "{host} is not in the service registry: Envoy answers 503 (cluster not found, NC)"
            ));
        } else if let Some(s) = service {
            if let Some(p) = port {
                if s.port(p).is_none() && !s.ports.is_empty() {
                    problem = Some(format!(
                        "{host} has no port {p}: Envoy answers 503 (cluster not found, NC)"
                    ));
                }
            }
        }
        if let Some(sub) = subset {
            match rule.and_then(|r| r.subset(sub)) {
                None => {
                    problem = Some(format!(
                        "subset {sub:?} is not defined in a DestinationRule for {host}: no such cluster, Envoy answers 503 (no healthy upstream, NC)"
                    ))
                }
                Some(def) => {
                    if let Some(s) = service {
                        if !s.endpoints.is_empty() && s.endpoints_matching(&def.labels).next().is_none() {
                            problem = Some(format!("subset {sub:?} selects no endpoint of {host}: 503 (UH)"));
                        }
                    }
                }
            }
        }
        DestinationFacts {
            rule,
            policy: rule.and_then(|r| r.policy_ref(port, subset)),
            problem,
        }
    }
}
