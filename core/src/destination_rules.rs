//! DestinationRules: which one applies to a destination (Istio's
//! namespace-ordered lookup), how several for one host merge, and the
//! effective traffic policy of a cluster (top-level, then port-level, then
//! subset).

use crate::hosts;
use crate::model::destination_rule::{PortTrafficPolicy, Subset, TrafficPolicy};
use crate::model::{Config, Resource};
use crate::registry::{labels_match, Visibility};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One precomputed policy: port (None: any other), subset, policy.
type PolicyEntry = (Option<u32>, Option<String>, Option<Arc<TrafficPolicy>>);

/// Several DestinationRules for one host in one namespace, merged the way
/// Istio merges them.
#[derive(Debug, Clone)]
pub struct MergedRule {
    /// `namespace/name` of every merged DestinationRule, first one first.
    pub names: Vec<String>,
    /// Namespace.
    pub namespace: String,
    /// Host as expanded (`reviews.default.svc.cluster.local`, `*.example.com`).
    pub host: String,
    /// Visibility (exportTo of the first rule).
    pub visibility: Visibility,
    /// Workload selector (rules with one apply only to selected proxies of their namespace).
    pub selector: Option<BTreeMap<String, String>>,
    /// The top-level policy of the first rule that has one (shared with
    /// the effective policy of the rule's ports when it sets no port-level
    /// settings).
    pub traffic_policy: Option<Arc<TrafficPolicy>>,
    /// Subsets, first definition of each name wins.
    pub subsets: Vec<Subset>,
    /// Effective policies computed once: ports named by any port-level
    /// setting (`None`: every other port) x (no subset, each subset).
    policies: Vec<PolicyEntry>,
    policy_ports: Vec<u32>,
}

impl MergedRule {
    fn precompute(&mut self) {
        let mut ports: Vec<u32> = Vec::new();
        let mut collect = |p: &TrafficPolicy| {
            for pl in &p.port_level_settings {
                if let Some(n) = pl.port.as_ref().and_then(|p| p.number) {
                    ports.push(n);
                }
            }
        };
        if let Some(p) = &self.traffic_policy {
            collect(p);
        }
        for s in &self.subsets {
            if let Some(p) = &s.traffic_policy {
                collect(p);
            }
        }
        ports.sort_unstable();
        ports.dedup();
        let mut table = Vec::new();
        let subsets: Vec<Option<String>> = std::iter::once(None)
            .chain(self.subsets.iter().filter_map(|s| s.name.clone()).map(Some))
            .collect();
        for port in std::iter::once(None).chain(ports.iter().copied().map(Some)) {
            // A subset without a policy of its own has the rule's policy
            // for the port: one shared copy (most subsets set none).
            let mut without_subset: Option<Arc<TrafficPolicy>> = None;
            for sub in &subsets {
                let own = sub
                    .as_deref()
                    .and_then(|name| self.subset(name))
                    .is_some_and(|s| s.traffic_policy.is_some());
                let p = match sub {
                    Some(_) if !own => without_subset.clone(),
                    // Without port-level settings the rule's own policy is
                    // the effective one: shared, not copied.
                    None if self
                        .traffic_policy
                        .as_ref()
                        .is_none_or(|t| t.port_level_settings.is_empty()) =>
                    {
                        self.traffic_policy.clone()
                    }
                    _ => self.compute_policy(port, sub.as_deref()).map(Arc::new),
                };
                if sub.is_none() {
                    without_subset.clone_from(&p);
                }
                table.push((port, sub.clone(), p));
            }
        }
        self.policies = table;
        self.policy_ports = ports;
    }

    /// The effective policy for `port` and `subset`, shared (computed when the rule was built).
    pub fn policy(&self, port: Option<u32>, subset: Option<&str>) -> Option<Arc<TrafficPolicy>> {
        self.policy_ref(port, subset).cloned()
    }

    /// [`MergedRule::policy`], borrowed.
    pub fn policy_ref(
        &self,
        port: Option<u32>,
        subset: Option<&str>,
    ) -> Option<&Arc<TrafficPolicy>> {
        let port = port.filter(|p| self.policy_ports.binary_search(p).is_ok());
        self.policies
            .iter()
            .find(|(p, s, _)| *p == port && s.as_deref() == subset)
            .and_then(|(_, _, policy)| policy.as_ref())
    }

    /// The subset with this name.
    pub fn subset(&self, name: &str) -> Option<&Subset> {
        self.subsets
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
    }

    /// The effective policy for port `port` and optional subset (istio-api.md §4.3).
    pub fn policy_for(&self, port: Option<u32>, subset: Option<&str>) -> Option<TrafficPolicy> {
        self.compute_policy(port, subset)
    }

    fn compute_policy(&self, port: Option<u32>, subset: Option<&str>) -> Option<TrafficPolicy> {
        let mut result =
            self.traffic_policy
                .as_ref()
                .map(|top| match port.and_then(|p| port_level(top, p)) {
                    Some(pl) => from_port_level(pl),
                    None => without_port_levels(top),
                });
        if let Some(sub) = subset
            .and_then(|s| self.subset(s))
            .and_then(|s| s.traffic_policy.as_ref())
        {
            let base = result.get_or_insert_with(TrafficPolicy::default);
            match port.and_then(|p| port_level(sub, p)) {
                Some(pl) => {
                    base.load_balancer = pl.load_balancer.clone();
                    base.connection_pool = pl.connection_pool.clone();
                    base.outlier_detection = pl.outlier_detection.clone();
                    base.tls = pl.tls.clone();
                }
                None => {
                    if sub.load_balancer.is_some() {
                        base.load_balancer = sub.load_balancer.clone();
                    }
                    if sub.connection_pool.is_some() {
                        base.connection_pool = sub.connection_pool.clone();
                    }
                    if sub.outlier_detection.is_some() {
                        base.outlier_detection = sub.outlier_detection.clone();
                    }
                    if sub.tls.is_some() {
                        base.tls = sub.tls.clone();
                    }
                }
            }
            if sub.tunnel.is_some() {
                base.tunnel = sub.tunnel.clone();
            }
            if sub.proxy_protocol.is_some() {
                base.proxy_protocol = sub.proxy_protocol.clone();
            }
            if sub.retry_budget.is_some() {
                base.retry_budget = sub.retry_budget.clone();
            }
        }
        result.filter(|p| *p != TrafficPolicy::default())
    }
}

fn port_level(policy: &TrafficPolicy, port: u32) -> Option<&PortTrafficPolicy> {
    policy
        .port_level_settings
        .iter()
        .find(|pl| pl.port.as_ref().and_then(|p| p.number) == Some(port))
}

fn from_port_level(pl: &PortTrafficPolicy) -> TrafficPolicy {
    TrafficPolicy {
        load_balancer: pl.load_balancer.clone(),
        connection_pool: pl.connection_pool.clone(),
        outlier_detection: pl.outlier_detection.clone(),
        tls: pl.tls.clone(),
        ..TrafficPolicy::default()
    }
}

fn without_port_levels(p: &TrafficPolicy) -> TrafficPolicy {
    TrafficPolicy {
        port_level_settings: Vec::new(),
        ..p.clone()
    }
}

/// Every DestinationRule, merged and indexed for lookup.
#[derive(Debug, Default)]
pub struct RuleIndex {
    rules: Vec<Arc<MergedRule>>,
    /// Rules by namespace (indexes into `rules`).
    by_namespace: crate::fasthash::FastMap<String, NamespaceRules>,
}

/// The rules of one namespace: exact hosts by name, wildcard hosts in a
/// list, so a lookup costs one hash however many rules the namespace has.
#[derive(Debug, Default)]
struct NamespaceRules {
    exact: crate::fasthash::FastMap<String, Vec<usize>>,
    wildcard: Vec<usize>,
}

/// Istio's ordering of conflicting resources: creation time, then name, then namespace.
pub fn resource_order<T>(a: &Resource<T>, b: &Resource<T>) -> Ordering {
    let ta = a.metadata.creation_timestamp.as_deref().unwrap_or("");
    let tb = b.metadata.creation_timestamp.as_deref().unwrap_or("");
    ta.cmp(tb)
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        .then_with(|| a.metadata.namespace.cmp(&b.metadata.namespace))
        .then_with(|| a.order.cmp(&b.order))
}

impl RuleIndex {
    /// Merges the configuration's DestinationRules (istio-api.md §4.2),
    /// with the default exportTo of its mesh config.
    pub fn build(config: &Config, domain: &str) -> RuleIndex {
        let options = crate::MeshOptions::from_config(config);
        RuleIndex::build_with(config, domain, &options.default_destination_rule_export_to)
    }

    /// [`RuleIndex::build`]; rules that set no exportTo get
    /// `default_export_to` (meshConfig.defaultDestinationRuleExportTo).
    pub fn build_with(config: &Config, domain: &str, default_export_to: &[String]) -> RuleIndex {
        let mut drs: Vec<&Resource<crate::model::DestinationRule>> =
            config.destination_rules.iter().collect();
        drs.sort_by(|a, b| {
            let sa = a.spec.workload_selector.is_some();
            let sb = b.spec.workload_selector.is_some();
            sb.cmp(&sa).then_with(|| resource_order(a, b))
        });
        // Built in place behind `Arc` (each one unique until the index is
        // done, so `make_mut` never copies): no second copy of every rule.
        let mut rules: Vec<Arc<MergedRule>> = Vec::with_capacity(config.destination_rules.len());
        // Rules by (namespace, host): the candidates a DestinationRule may
        // merge into, found without scanning every rule.
        let mut by_target: crate::fasthash::FastMap<(String, String), Vec<usize>> =
            Default::default();
        for dr in drs {
            let ns = dr.namespace();
            let Some(host) = dr.spec.host.as_deref() else {
                continue;
            };
            let host = hosts::resolve_short_name(host, ns, domain).to_ascii_lowercase();
            let visibility =
                Visibility::from_export_to_or(&dr.spec.export_to, default_export_to, ns);
            let selector = dr
                .spec
                .workload_selector
                .as_ref()
                .map(|s| s.match_labels.clone());
            let candidates = by_target.entry((ns.to_string(), host.clone())).or_default();
            let existing = candidates
                .iter()
                .copied()
                .find(|&i| rules[i].visibility == visibility && rules[i].selector == selector);
            match existing {
                Some(i) => {
                    let r = Arc::make_mut(&mut rules[i]);
                    r.names.push(dr.key());
                    if r.traffic_policy.is_none() {
                        r.traffic_policy = dr.spec.traffic_policy.as_deref().cloned().map(Arc::new);
                    }
                    for s in &dr.spec.subsets {
                        if r.subset(s.name.as_deref().unwrap_or("")).is_none() {
                            r.subsets.push(s.clone());
                        }
                    }
                }
                None => {
                    candidates.push(rules.len());
                    rules.push(Arc::new(MergedRule {
                        names: vec![dr.key()],
                        namespace: ns.to_string(),
                        host,
                        visibility,
                        selector,
                        traffic_policy: dr.spec.traffic_policy.as_deref().cloned().map(Arc::new),
                        subsets: dr.spec.subsets.clone(),
                        policies: Vec::new(),
                        policy_ports: Vec::new(),
                    }));
                }
            }
        }
        let mut by_namespace: crate::fasthash::FastMap<String, NamespaceRules> = Default::default();
        for (i, r) in rules.iter_mut().enumerate() {
            let r = Arc::make_mut(r);
            r.precompute();
            let entry = by_namespace.entry(r.namespace.clone()).or_default();
            if r.host.starts_with('*') {
                entry.wildcard.push(i);
            } else {
                entry.exact.entry(r.host.clone()).or_default().push(i);
            }
        }
        RuleIndex {
            rules,
            by_namespace,
        }
    }

    /// The DestinationRule that applies for a proxy in `proxy_namespace`
    /// (with `proxy_labels`; `None` for a gateway) calling `host` whose
    /// service lives in `service_namespace` (istio-api.md §4.1).
    pub fn lookup(
        &self,
        host: &str,
        proxy_namespace: &str,
        proxy_labels: Option<&BTreeMap<String, String>>,
        service_namespace: Option<&str>,
        root_namespace: &str,
    ) -> Option<&Arc<MergedRule>> {
        let applies = |r: &MergedRule, own: bool| -> bool {
            (if own {
                if proxy_namespace == root_namespace {
                    r.visibility.is_private_to(root_namespace)
                } else {
                    r.visibility.visible_in(proxy_namespace)
                }
            } else {
                r.visibility.visible_in(proxy_namespace) && r.selector.is_none()
            }) && match (&r.selector, proxy_labels) {
                (None, _) => true,
                (Some(sel), Some(labels)) => own && labels_match(sel, labels),
                (Some(_), None) => false,
            }
        };
        let step = |ns: &str, own: bool| -> Option<&Arc<MergedRule>> {
            let in_ns = self.by_namespace.get(ns)?;
            // An exact host beats every wildcard; among exact rules a
            // selecting rule beats a selector-less one (rules are sorted
            // selecting-first, so the first that applies wins).
            if let Some(list) = in_ns.exact.get(host) {
                if let Some(&i) = list.iter().find(|&&i| applies(&self.rules[i], own)) {
                    return Some(&self.rules[i]);
                }
            }
            // The most specific wildcard wins; then a selecting rule.
            in_ns
                .wildcard
                .iter()
                .map(|&i| &self.rules[i])
                .filter(|r| {
                    hosts::matches(&r.host, host)
                        && hosts::subset_of(host, &r.host)
                        && applies(r, own)
                })
                .min_by(|a, b| {
                    hosts::more_specific(&a.host, &b.host)
                        .then_with(|| b.selector.is_some().cmp(&a.selector.is_some()))
                })
        };
        step(proxy_namespace, true)
            .or_else(|| {
                service_namespace
                    .filter(|s| *s != proxy_namespace)
                    .and_then(|s| step(s, false))
            })
            .or_else(|| {
                if root_namespace != proxy_namespace && service_namespace != Some(root_namespace) {
                    step(root_namespace, false)
                } else {
                    None
                }
            })
    }

    /// Whether a DestinationRule in `namespace` has a `workloadSelector`
    /// (then which rule applies depends on the caller's labels).
    pub fn has_workload_selectors_in(&self, namespace: &str) -> bool {
        self.by_namespace.get(namespace).is_some_and(|n| {
            n.exact
                .values()
                .flatten()
                .chain(&n.wildcard)
                .any(|&i| self.rules[i].selector.is_some())
        })
    }

    /// Every merged rule.
    pub fn rules(&self) -> &[Arc<MergedRule>] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {connectionPool: {tcp: {maxConnections: 9}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api-more, namespace: shop}
spec:
  host: api.shop.svc.cluster.local
  subsets:
  - {name: v3, labels: {version: v3}}
"#;

    #[test]
    fn rules_for_one_host_merge_and_subsets_without_a_policy_share_the_rules() {
        let config = crate::load::load_str(RULES, "dr.yaml");
        let index = RuleIndex::build(&config, "cluster.local");
        assert_eq!(index.rules().len(), 1);
        let rule = &index.rules()[0];
        assert_eq!(rule.names, ["shop/api", "shop/api-more"]);
        let max = |subset: Option<&str>| {
            rule.policy_ref(None, subset)
                .and_then(|p| p.connection_pool.as_ref())
                .and_then(|c| c.tcp.as_ref())
                .and_then(|t| t.max_connections)
        };
        assert_eq!(max(None), Some(7));
        assert_eq!(max(Some("v1")), Some(7));
        assert_eq!(max(Some("v2")), Some(9));
        assert_eq!(max(Some("v3")), Some(7));
        let top = rule.policy_ref(None, None).unwrap();
        assert!(Arc::ptr_eq(top, rule.policy_ref(None, Some("v1")).unwrap()));
        assert!(Arc::ptr_eq(top, rule.policy_ref(None, Some("v3")).unwrap()));
        assert!(!Arc::ptr_eq(
            top,
            rule.policy_ref(None, Some("v2")).unwrap()
        ));
        // Without port-level settings the written policy is the effective one.
        assert!(Arc::ptr_eq(top, rule.traffic_policy.as_ref().unwrap()));
    }

    #[test]
    fn a_policy_with_port_level_settings_is_not_the_effective_one() {
        let config = crate::load::load_str(
            r#"
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 7}}
    portLevelSettings:
    - port: {number: 8080}
      connectionPool: {tcp: {maxConnections: 3}}
"#,
            "dr.yaml",
        );
        let index = RuleIndex::build(&config, "cluster.local");
        let rule = &index.rules()[0];
        let written = rule.traffic_policy.as_ref().unwrap();
        let other_ports = rule.policy_ref(None, None).unwrap();
        assert!(!Arc::ptr_eq(written, other_ports));
        assert!(other_ports.port_level_settings.is_empty());
        let max = |port| {
            rule.policy_ref(Some(port), None)
                .and_then(|p| p.connection_pool.as_ref())
                .and_then(|c| c.tcp.as_ref())
                .and_then(|t| t.max_connections)
        };
        assert_eq!(max(8080), Some(3));
        assert_eq!(max(9090), Some(7));
    }
}
