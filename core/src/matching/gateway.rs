//! `gateways` in a match: which proxies (the mesh's sidecars, named
//! Gateways) the match exists on.

use crate::hosts::{self, GatewayRef};

/// The gateways a match block names, resolved from the VirtualService's
/// namespace; empty means the VirtualService's own gateways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayMatcher {
    /// Resolved gateway names (`mesh` or `namespace/name`).
    pub gateways: Vec<GatewayRef>,
}

impl GatewayMatcher {
    /// Resolves `names` as written in a VirtualService in `namespace`.
    pub fn new(names: &[String], namespace: &str) -> Self {
        GatewayMatcher {
            gateways: names
                .iter()
                .map(|g| hosts::resolve_gateway_ref(g, namespace).gateway)
                .collect(),
        }
    }

    /// True when the match names no gateway of its own.
    pub fn is_empty(&self) -> bool {
        self.gateways.is_empty()
    }

    /// Whether the match exists on `proxy` (always, when it names none).
    pub fn holds(&self, proxy: &GatewayRef) -> bool {
        self.gateways.is_empty() || self.gateways.contains(proxy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_resolve_from_the_virtual_service_namespace() {
        let m = GatewayMatcher::new(&["web".to_string(), "mesh".to_string()], "shop");
        let web = GatewayRef::Gateway {
            namespace: "shop".into(),
            name: "web".into(),
        };
        let other = GatewayRef::Gateway {
            namespace: "other".into(),
            name: "web".into(),
        };
        assert!(m.holds(&web) && m.holds(&GatewayRef::Mesh) && !m.holds(&other));
        assert!(GatewayMatcher::default().holds(&other));
    }
}
