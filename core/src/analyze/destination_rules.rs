//! DestinationRules (istio/istio `analyzers/destinationrule`: `subset.go`,
//! `ca-certificates.go`).
//!
//! * IST0174: the rule's `host` is not found by [`ServiceIndex::lookup`]
//!   (looked up with the rule's namespace and exportTo).
//! * IST0173: a subset whose labels, merged over the ServiceEntry's
//!   `workloadSelector` labels when the host is a ServiceEntry's, select no
//!   workload. As in Istio, workloads of every namespace are candidates
//!   (Pods, and controllers by their pod template labels; see [`super`]).
//! * IST0128 / IST0129: top-level `trafficPolicy.tls` (IST0128) or a
//!   `trafficPolicy.portLevelSettings[].tls` (IST0129) with mode `SIMPLE` or
//!   `MUTUAL` and no `caCertificates`, unless it names a `credentialName` and
//!   the rule has a `workloadSelector`. Subset policies are not checked, as in
//!   Istio.
//!
//! Several DestinationRules for one host: `istioctl analyze` has no message
//! for it (Istio's catalogue has none; the control plane merges rules of one
//! namespace for the same host, §4.2, and only counts duplicate subsets in a
//! metric), so nothing is reported here either.

use super::defaults::AnalysisView;
use super::{report, ServiceIndex};
use crate::fasthash::FastMap;
use crate::message::{codes, Message, Severity};
use crate::model::destination_rule::{ClientTlsMode, ClientTlsSettings};
use crate::model::{DestinationRule, Kind, Resource, ServiceEntry};
use crate::registry::{LabelIndex, ServiceOrigin};
use crate::source::path;
use std::collections::BTreeMap;

/// Runs the DestinationRule checks.
pub fn analyze(config: &AnalysisView<'_>, index: &ServiceIndex<'_>, out: &mut Vec<Message>) {
    let lookups = Lookups {
        index,
        workloads: &config.workload_labels,
        entries: config
            .service_entries
            .iter()
            .rev()
            .map(|se| (se.key(), *se))
            .collect(),
    };
    for dr in &config.destination_rules {
        hosts_and_subsets(dr, &lookups, out);
        certificates(dr, out);
    }
}

/// What the subset check looks up, indexed once for every rule.
struct Lookups<'a> {
    index: &'a ServiceIndex<'a>,
    /// Every workload of the view, by labels.
    workloads: &'a LabelIndex<'a>,
    /// ServiceEntries by `namespace/name`, the first written winning.
    entries: FastMap<String, &'a Resource<ServiceEntry>>,
}

fn hosts_and_subsets(
    dr: &Resource<DestinationRule>,
    lookups: &Lookups<'_>,
    out: &mut Vec<Message>,
) {
    let index = lookups.index;
    let host = dr.spec.host.as_deref().unwrap_or("");
    let Some(found) = index.lookup(dr.namespace(), &dr.spec.export_to, host) else {
        out.push(report(
            dr,
            Kind::DestinationRule,
            codes::UNKNOWN_DR_HOST,
            Severity::Warning,
            "spec.host",
            format!("The host {host} defined in the DestinationRule does not match any services in the mesh."),
            "correct the host, or add the Service or ServiceEntry it names",
        ));
        return;
    };
    let entry_selector: BTreeMap<String, String> = match &found.service.origin {
        ServiceOrigin::ServiceEntry(key) => lookups
            .entries
            .get(key)
            .and_then(|se| se.spec.workload_selector.as_ref())
            .map(|s| s.labels.clone())
            .unwrap_or_default(),
        ServiceOrigin::Kubernetes(_) => BTreeMap::new(),
    };
    for (i, subset) in dr.spec.subsets.iter().enumerate() {
        let mut selector = entry_selector.clone();
        selector.extend(subset.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        if lookups.workloads.any_matching(&selector) {
            continue;
        }
        let name = subset.name.as_deref().unwrap_or("");
        out.push(report(
            dr,
            Kind::DestinationRule,
            codes::DR_SUBSET_NOT_SELECT_PODS,
            Severity::Error,
            &path::field(&path::index("spec.subsets", i), "labels"),
            format!("The Subset {name} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream)."),
            "make the subset labels match the labels of the service's pods",
        ));
    }
}

/// Whether `tls` leaves the server certificate unverified.
fn unverified(tls: Option<&ClientTlsSettings>, has_selector: bool) -> Option<&'static str> {
    let tls = tls?;
    let mode = match tls.mode {
        Some(ClientTlsMode::Simple) => "SIMPLE",
        Some(ClientTlsMode::Mutual) => "MUTUAL",
        _ => return None,
    };
    let has_ca = tls
        .ca_certificates
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    let credential = tls
        .credential_name
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    let verified = has_ca || (credential && has_selector);
    (!verified).then_some(mode)
}

fn certificates(dr: &Resource<DestinationRule>, out: &mut Vec<Message>) {
    let Some(policy) = &dr.spec.traffic_policy else {
        return;
    };
    let host = dr.spec.host.as_deref().unwrap_or("");
    let has_selector = dr.spec.workload_selector.is_some();
    let fix = "set caCertificates (or credentialName with a workloadSelector) so the server certificate is verified";
    if let Some(mode) = unverified(policy.tls.as_ref(), has_selector) {
        out.push(report(
            dr,
            Kind::DestinationRule,
            codes::NO_SERVER_CERT_VERIFICATION_DESTINATION,
            Severity::Warning,
            "spec.trafficPolicy.tls.caCertificates",
            format!(
                "DestinationRule {} in namespace {} has TLS mode set to {mode} but no caCertificates are set to validate server identity for host: {host}",
                dr.key(),
                dr.namespace()
            ),
            fix,
        ));
    }
    for (i, pls) in policy.port_level_settings.iter().enumerate() {
        if let Some(mode) = unverified(pls.tls.as_ref(), has_selector) {
            let port = pls
                .port
                .as_ref()
                .and_then(|p| p.number)
                .map(|n| format!("number:{n}"))
                .unwrap_or_default();
            let p = path::field(
                &path::field(
                    &path::index("spec.trafficPolicy.portLevelSettings", i),
                    "tls",
                ),
                "caCertificates",
            );
            out.push(report(
                dr,
                Kind::DestinationRule,
                codes::NO_SERVER_CERT_VERIFICATION_PORT,
                Severity::Warning,
                &p,
                format!(
                    "DestinationRule {} in namespace {} has TLS mode set to {mode} but no caCertificates are set to validate server identity for host: {host} at port {port}",
                    dr.key(),
                    dr.namespace()
                ),
                fix,
            ));
        }
    }
}
