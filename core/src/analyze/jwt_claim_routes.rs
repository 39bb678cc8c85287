//! Routing on JWT claims (istio/istio `analyzers/virtualservice/jwtclaimroute.go`),
//! IST0149 JwtClaimBasedRoutingWithoutRequestAuthN (Error): a VirtualService
//! matching on a JWT claim (`@request.auth.claims.<name>` in `headers` or
//! `withoutHeaders`, [`crate::names::parse_jwt_claim_key`]) is bound to a
//! Gateway whose workload has no RequestAuthentication: the gateway never
//! validates a token, so the claim is never available and the match never
//! holds.
//!
//! The first claim key of the VirtualService is named (first route, first
//! match, headers before withoutHeaders). For each of its gateways other
//! than `mesh` that exists, each workload the Gateway's selector matches is
//! reported unless a RequestAuthentication of `istio-system` or of the
//! workload's namespace selects it (one without `selector.matchLabels`
//! selects every workload). RequestAuthentications are read for this
//! analysis only: meshroute does not model authentication, so a decision
//! never depends on a token.

use super::defaults::AnalysisView;
use super::report;
use crate::fasthash::FastMap;
use crate::message::{codes, Message, Severity};
use crate::model::{Gateway, Kind, Resource};
use crate::names::parse_jwt_claim_key;
use crate::registry::labels_match;
use crate::source::path;

/// The namespace whose RequestAuthentications apply to every workload
/// (istio `constants.IstioSystemNamespace`, as the analyzer uses it).
const ISTIO_SYSTEM: &str = "istio-system";

/// Runs the check.
pub fn analyze(config: &AnalysisView<'_>, out: &mut Vec<Message>) {
    // `(namespace, name)` -> the first Gateway of that name.
    let mut gateways: FastMap<(&str, &str), &Resource<Gateway>> = FastMap::default();
    for g in &config.gateways {
        gateways.entry((g.namespace(), g.name())).or_insert(g);
    }
    for vs in &config.virtual_services {
        let Some((key, at)) = first_claim_key(vs) else {
            continue;
        };
        for written in &vs.spec.gateways {
            if written == crate::hosts::MESH_GATEWAY {
                continue;
            }
            let (ns, name) = written
                .split_once('/')
                .unwrap_or((vs.namespace(), written.as_str()));
            let Some(gw) = gateways.get(&(ns, name)) else {
                continue;
            };
            for pod in config
                .workload_labels
                .matching(&gw.spec.selector)
                .map(|i| config.workloads[i])
            {
                let authenticated = config.request_authentications.iter().any(|ra| {
                    (ra.namespace() == ISTIO_SYSTEM || ra.namespace() == pod.namespace())
                        && ra
                            .spec
                            .selector
                            .as_ref()
                            .is_none_or(|s| labels_match(&s.match_labels, &pod.spec.labels))
                });
                if authenticated {
                    continue;
                }
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::JWT_CLAIM_ROUTING_WITHOUT_REQUEST_AUTHN,
                    Severity::Error,
                    &at,
                    format!(
                        "The virtual service uses the JWT claim based routing (key: {key}) but found no request authentication for the gateway ({ns}/{name}) pod ({}). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing.",
                        pod.name()
                    ),
                    &format!("apply a RequestAuthentication selecting the gateway workload (in its namespace {} or in istio-system)", pod.namespace()),
                ));
            }
        }
    }
}

/// Istio's `routeBasedOnJWTClaimKey`: the first claim key and its field path.
fn first_claim_key(
    vs: &crate::model::Resource<crate::model::VirtualService>,
) -> Option<(String, String)> {
    for (i, rule) in vs.spec.http.iter().enumerate() {
        for (j, m) in rule.r#match.iter().enumerate() {
            let at = path::index(&path::field(&path::index("spec.http", i), "match"), j);
            for (field, keys) in [
                ("headers", &m.headers),
                ("withoutHeaders", &m.without_headers),
            ] {
                if let Some(key) = keys.keys().find(|k| parse_jwt_claim_key(k).is_some()) {
                    return Some((key.clone(), path::key(&path::field(&at, field), key)));
                }
            }
        }
    }
    None
}
