//! Deprecated fields (istio/istio `analyzers/deprecation/deprecation.go`),
//! IST0002: a VirtualService `http[].fault.delay.percent` above 0, and a
//! Sidecar `outboundTrafficPolicy.egressProxy`. (Istio also flags removed
//! `rbac.istio.io` CRDs, which meshroute does not read.)

use super::defaults::AnalysisView;
use super::report;
use crate::message::{codes, Message, Severity};
use crate::model::Kind;
use crate::source::path;

/// Runs the deprecation checks.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    for vs in &config.virtual_services {
        for (i, rule) in vs.spec.http.iter().enumerate() {
            let percent = rule
                .fault
                .as_ref()
                .and_then(|f| f.delay.as_ref())
                .and_then(|d| d.percent)
                .unwrap_or(0);
            if percent > 0 {
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::DEPRECATED,
                    Severity::Warning,
                    &path::field(&path::index("spec.http", i), "fault.delay.percent"),
                    "Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage".to_string(),
                    "replace `percent: N` with `percentage: {value: N}`",
                ));
            }
        }
    }
    for sc in &config.sidecars {
        let egress_proxy = sc
            .spec
            .outbound_traffic_policy
            .as_ref()
            .is_some_and(|p| p.egress_proxy.is_some());
        if egress_proxy {
            out.push(report(
                sc,
                Kind::Sidecar,
                codes::DEPRECATED,
                Severity::Warning,
                "spec.outboundTrafficPolicy.egressProxy",
                "Deprecated: OutboundTrafficPolicy.EgressProxy ignored".to_string(),
                "remove egressProxy; route egress traffic with a VirtualService to an egress gateway",
            ));
        }
    }
}
