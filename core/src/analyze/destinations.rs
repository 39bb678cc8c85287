//! VirtualService destinations (istio/istio `analyzers/virtualservice`:
//! `destinationhosts.go`, `destinationrules.go`).
//!
//! * IST0101 `host` / `mirror host`: a route (tcp, tls, http) or mirror
//!   destination host that [`ServiceIndex::lookup`] does not find, looked up
//!   with the VirtualService's namespace and exportTo.
//! * IST0101 `host:port`: a destination `port` the found service lacks.
//! * IST0112: no destination `port` while the found service has several.
//! * IST0101 `host+subset in destinationrule` / `mirror+subset in
//!   destinationrule`: a `subset` that no DestinationRule defines for that
//!   host. Hosts on both sides are read as `namespace/name` with
//!   Istio's `GetResourceNameFromHost` (`name.ns.svc.cluster.local`, else the
//!   host in the referencing resource's namespace); exportTo is
//!   not consulted (as in Istio).
//! * IST0140: a VirtualService with `gateways` routes (http) to a host
//!   without a subset while some VirtualService routes to the same host
//!   string with a subset and lists that host string among its own hosts.
//!   Strings are compared as written, across namespaces, as Istio does; one
//!   message per such subset destination.

use super::defaults::AnalysisView;
use super::{quote, report, resource_name_from_host, ServiceIndex};
use crate::fasthash::{FastMap, FastSet};
use crate::message::{codes, Message, Severity};
use crate::model::common::Destination;
use crate::model::{Kind, Resource, VirtualService};
use crate::source::path;

/// Where a destination is written, kept as indexes and rendered as a
/// field path only when a message needs it.
#[derive(Clone, Copy)]
enum Written {
    /// `spec.<list>[rule].route[dest].destination`.
    Route {
        list: &'static str,
        rule: usize,
        dest: usize,
    },
    /// `spec.http[rule].mirror`.
    Mirror { rule: usize },
    /// `spec.http[rule].mirrors[item].destination`.
    Mirrors { rule: usize, item: usize },
}

impl Written {
    /// The path of field `name` of the `destination` object
    /// (`spec.http[0].route[1].destination.host`).
    fn path(self, name: &str) -> String {
        use std::fmt::Write;
        let mut p = String::with_capacity(48);
        // Writing to a String cannot fail.
        let _ = match self {
            Written::Route { list, rule, dest } => {
                write!(p, "{list}[{rule}].route[{dest}].destination")
            }
            Written::Mirror { rule } => write!(p, "spec.http[{rule}].mirror"),
            Written::Mirrors { rule, item } => {
                write!(p, "spec.http[{rule}].mirrors[{item}].destination")
            }
        };
        p.push('.');
        p.push_str(name);
        p
    }
}

/// One destination of a VirtualService with where it is written.
struct Annotated<'a> {
    destination: Option<&'a Destination>,
    written: Written,
    mirror: bool,
}

impl Annotated<'_> {
    fn host(&self) -> &str {
        self.destination
            .and_then(|d| d.host.as_deref())
            .unwrap_or("")
    }
    fn subset(&self) -> &str {
        self.destination
            .and_then(|d| d.subset.as_deref())
            .unwrap_or("")
    }
    fn port(&self) -> Option<u32> {
        self.destination
            .and_then(|d| d.port.as_ref())
            .map(|p| p.number.unwrap_or(0))
    }
    /// Path of a field of the `destination` object.
    fn field_path(&self, name: &str) -> String {
        self.written.path(name)
    }
}

/// Route destinations in Istio's order (tcp, tls, then http), then http
/// mirrors (`mirror`, then each `mirrors[]`) per rule.
fn destinations(vs: &VirtualService) -> Vec<Annotated<'_>> {
    let mut out = Vec::new();
    for (i, r) in vs.tcp.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            out.push(route_destination("spec.tcp", i, j, d.destination.as_ref()));
        }
    }
    for (i, r) in vs.tls.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            out.push(route_destination("spec.tls", i, j, d.destination.as_ref()));
        }
    }
    for (i, r) in vs.http.iter().enumerate() {
        for (j, d) in r.route.iter().enumerate() {
            out.push(route_destination("spec.http", i, j, d.destination.as_ref()));
        }
    }
    for (i, r) in vs.http.iter().enumerate() {
        if let Some(m) = &r.mirror {
            out.push(Annotated {
                destination: Some(m),
                written: Written::Mirror { rule: i },
                mirror: true,
            });
        }
        for (j, m) in r.mirrors.iter().enumerate() {
            out.push(Annotated {
                destination: m.destination.as_ref(),
                written: Written::Mirrors { rule: i, item: j },
                mirror: true,
            });
        }
    }
    out
}

fn route_destination<'a>(
    list: &'static str,
    rule: usize,
    dest: usize,
    destination: Option<&'a Destination>,
) -> Annotated<'a> {
    Annotated {
        destination,
        written: Written::Route { list, rule, dest },
        mirror: false,
    }
}

/// Runs the destination checks over every VirtualService.
pub fn analyze(config: &AnalysisView<'_>, index: &ServiceIndex<'_>, out: &mut Vec<Message>) {
    // (namespace, name, subset) of every DestinationRule subset.
    let mut subsets: FastSet<(&str, &str, &str)> = FastSet::default();
    for dr in &config.destination_rules {
        let host = dr.spec.host.as_deref().unwrap_or("");
        let (namespace, name) = resource_name_from_host(dr.namespace(), host);
        for s in &dr.spec.subsets {
            subsets.insert((namespace, name, s.name.as_deref().unwrap_or("")));
        }
    }
    for vs in &config.virtual_services {
        let destinations = destinations(&vs.spec);
        hosts_and_ports(vs, &destinations, index, out);
        subsets_defined(vs, &destinations, &subsets, out);
    }
    // host string -> one entry (VirtualService index) per subset destination
    // of a VirtualService listing that host (Istio's
    // `initVirtualServiceDestinations`).
    let mut subset_routes: FastMap<&str, Vec<usize>> = FastMap::default();
    for (i, vs) in config.virtual_services.iter().enumerate() {
        for d in vs
            .spec
            .http
            .iter()
            .flat_map(|r| r.route.iter())
            .filter_map(|rd| rd.destination.as_ref())
        {
            if d.subset.as_deref().is_none_or(str::is_empty) {
                continue;
            }
            let Some(host) = d.host.as_deref() else {
                continue;
            };
            for _ in vs.spec.hosts.iter().filter(|h| h.as_str() == host) {
                subset_routes.entry(host).or_default().push(i);
            }
        }
    }
    for vs in &config.virtual_services {
        ingress_subsets(vs, config, &subset_routes, out);
    }
}

fn hosts_and_ports(
    vs: &Resource<VirtualService>,
    destinations: &[Annotated<'_>],
    index: &ServiceIndex<'_>,
    out: &mut Vec<Message>,
) {
    for d in destinations {
        let host = d.host();
        let Some(found) = index.lookup(vs.namespace(), &vs.spec.export_to, host) else {
            let reftype = if d.mirror { "mirror host" } else { "host" };
            out.push(report(
                vs,
                Kind::VirtualService,
                codes::REFERENCED_RESOURCE_NOT_FOUND,
                Severity::Error,
                &d.field_path("host"),
                format!("Referenced {reftype} not found: {}", quote(host)),
                "add a Service or ServiceEntry for this host visible to the VirtualService's namespace, or correct the host",
            ));
            continue;
        };
        let ports = &found.service.ports;
        match d.port() {
            None if ports.len() > 1 => {
                let numbers: Vec<String> = ports.iter().map(|p| p.number.to_string()).collect();
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::VS_DESTINATION_PORT_SELECTOR_REQUIRED,
                    Severity::Error,
                    &d.field_path("host"),
                    format!(
                        "This VirtualService routes to a service {} that exposes multiple ports [{}]. Specifying a port in the destination is required to disambiguate.",
                        quote(host),
                        numbers.join(" ")
                    ),
                    "add `port: {number: ...}` to the destination",
                ));
            }
            Some(number) if !ports.iter().any(|p| p.number == number) => {
                out.push(report(
                    vs,
                    Kind::VirtualService,
                    codes::REFERENCED_RESOURCE_NOT_FOUND,
                    Severity::Error,
                    &path::field(&d.field_path("port"), "number"),
                    format!(
                        "Referenced host:port not found: {}",
                        quote(&format!("{host}:{number}"))
                    ),
                    "use one of the service's port numbers",
                ));
            }
            _ => {}
        }
    }
}

fn subsets_defined(
    vs: &Resource<VirtualService>,
    destinations: &[Annotated<'_>],
    subsets: &FastSet<(&str, &str, &str)>,
    out: &mut Vec<Message>,
) {
    for d in destinations {
        let subset = d.subset();
        if subset.is_empty() {
            continue;
        }
        let (namespace, name) = resource_name_from_host(vs.namespace(), d.host());
        if subsets.contains(&(namespace, name, subset)) {
            continue;
        }
        let reftype = if d.mirror {
            "mirror+subset in destinationrule"
        } else {
            "host+subset in destinationrule"
        };
        out.push(report(
            vs,
            Kind::VirtualService,
            codes::REFERENCED_RESOURCE_NOT_FOUND,
            Severity::Error,
            &d.field_path("subset"),
            format!(
                "Referenced {reftype} not found: {}",
                quote(&format!("{}+{subset}", d.host()))
            ),
            "define this subset in a DestinationRule for the host, or correct the subset name",
        ));
    }
}

fn ingress_subsets(
    vs: &Resource<VirtualService>,
    config: &AnalysisView<'_>,
    subset_routes: &FastMap<&str, Vec<usize>>,
    out: &mut Vec<Message>,
) {
    if vs.spec.gateways.is_empty() {
        return;
    }
    for (i, rule) in vs.spec.http.iter().enumerate() {
        for (j, rd) in rule.route.iter().enumerate() {
            let Some(dest) = rd.destination.as_ref() else {
                continue;
            };
            if dest.subset.as_deref().is_some_and(|s| !s.is_empty()) {
                continue;
            }
            let host = dest.host.as_deref().unwrap_or("");
            let others = subset_routes.get(host).map(Vec::as_slice).unwrap_or(&[]);
            for other in others
                .iter()
                .filter_map(|&k| config.virtual_services.get(k))
            {
                let p = route_destination("spec.http", i, j, None).field_path("host");
                out.push(report(
                        vs,
                        Kind::VirtualService,
                        codes::INGRESS_ROUTE_RULES_NOT_AFFECTED,
                        Severity::Warning,
                        &p,
                        format!(
                            "Subset in virtual service {} has no effect on ingress gateway {} requests",
                            other.key(),
                            vs.key()
                        ),
                        "route to the subset in this VirtualService too, or bind the subset rules to the gateway",
                    ));
            }
        }
    }
}
