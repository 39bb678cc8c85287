//! What Istio's admission webhook lets into a cluster: a [`Config`] minus
//! the Istio resources its validation refuses (`pkg/config/validation`, run
//! by the `istiod` validating webhook on every create and update). A
//! refused resource never reaches istiod, so no proxy is configured from
//! it; faces that produce proxy configuration (`meshroute envoy-config`)
//! start from the admitted configuration and report what was refused.
//!
//! The webhook judges each resource on its own, so each is validated alone
//! with [`crate::validate::validate`]; an Error-level message refuses it,
//! warnings do not. What the webhook does not validate (Kubernetes
//! Services, workloads and Ingresses, the mesh configuration ...) is always
//! admitted.

use crate::message::Message;
use crate::model::{Config, Resource};

/// A resource the webhook refuses, with the messages that refuse it.
#[derive(Debug, Clone)]
pub struct Refused {
    /// `Kind namespace/name`.
    pub resource: String,
    /// The Error-level validation messages (field, position, fix).
    pub errors: Vec<Message>,
}

/// The admitted configuration and what was refused.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The configuration without the refused resources; the loader's
    /// messages are kept.
    pub config: Config,
    /// Refused resources, in load order by kind.
    pub refused: Vec<Refused>,
}

/// The configuration Istio's admission webhook would let in (see the
/// module documentation).
pub fn admit(config: &Config) -> Admission {
    // Kinds the webhook does not validate (Kubernetes resources, Ingresses,
    // the mesh configuration ...) pass as they are; the validated kinds are
    // refilled below with the resources admitted.
    let mut admitted = Config {
        virtual_services: Vec::new(),
        destination_rules: Vec::new(),
        gateways: Vec::new(),
        service_entries: Vec::new(),
        workload_entries: Vec::new(),
        sidecars: Vec::new(),
        ..config.clone()
    };
    let mut refused = Vec::new();
    admit_kind(
        &config.virtual_services,
        &mut admitted.virtual_services,
        &mut refused,
        |c| &mut c.virtual_services,
    );
    admit_kind(
        &config.destination_rules,
        &mut admitted.destination_rules,
        &mut refused,
        |c| &mut c.destination_rules,
    );
    admit_kind(
        &config.gateways,
        &mut admitted.gateways,
        &mut refused,
        |c| &mut c.gateways,
    );
    admit_kind(
        &config.service_entries,
        &mut admitted.service_entries,
        &mut refused,
        |c| &mut c.service_entries,
    );
    admit_kind(
        &config.workload_entries,
        &mut admitted.workload_entries,
        &mut refused,
        |c| &mut c.workload_entries,
    );
    admit_kind(
        &config.sidecars,
        &mut admitted.sidecars,
        &mut refused,
        |c| &mut c.sidecars,
    );
    Admission {
        config: admitted,
        refused,
    }
}

fn admit_kind<T: Clone>(
    all: &[Resource<T>],
    admitted: &mut Vec<Resource<T>>,
    refused: &mut Vec<Refused>,
    slot: fn(&mut Config) -> &mut Vec<Resource<T>>,
) {
    for r in all {
        let mut alone = Config::default();
        slot(&mut alone).push(r.clone());
        let errors: Vec<Message> = crate::validate::validate(&alone)
            .into_iter()
            .filter(Message::is_error)
            .collect();
        if errors.is_empty() {
            admitted.push(r.clone());
        } else {
            refused.push(Refused {
                resource: format!("{} {}", r.kind_name, r.key()),
                errors,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_str;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {ports: [{port: 9080, name: http}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: good, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad-abort, namespace: default}
spec:
  hosts: [ratings]
  http:
  - fault: {abort: {httpStatus: 700, percentage: {value: 100}}}
    route: [{destination: {host: ratings}}]
"#;

    // istio pkg/config/validation: an abort status outside 200-599 is an error.
    #[test]
    fn a_resource_with_a_validation_error_is_refused_and_named() {
        let config = load_str(CONFIG, "t.yaml");
        let a = admit(&config);
        let names: Vec<&str> = a.config.virtual_services.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["good"]);
        assert_eq!(a.refused.len(), 1);
        assert_eq!(a.refused[0].resource, "VirtualService default/bad-abort");
        assert!(a.refused[0].errors.iter().all(Message::is_error));
        assert!(!a.refused[0].errors.is_empty());
        assert_eq!(a.config.services.len(), 1, "Services are always admitted");
    }

    #[test]
    fn a_valid_configuration_is_admitted_whole() {
        let config = load_str(&CONFIG[..CONFIG.find("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad").unwrap()], "t.yaml");
        let a = admit(&config);
        assert!(a.refused.is_empty());
        assert_eq!(a.config.virtual_services.len(), 1);
    }

    // An Ingress becomes a Gateway and VirtualServices at compile (istio
    // `pilot/pkg/config/kube/ingress`); the webhook does not judge it, so a
    // proxy's configuration must still see it.
    #[test]
    fn kinds_the_webhook_does_not_validate_pass_unchanged() {
        let text = format!(
            "{CONFIG}---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: web, namespace: default}}\nspec:\n  rules:\n  - host: web.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend: {{service: {{name: reviews, port: {{number: 9080}}}}}}\n"
        );
        let config = load_str(&text, "t.yaml");
        assert_eq!(config.ingresses.len(), 1, "{:?}", config.messages);
        let a = admit(&config);
        assert_eq!(a.config.ingresses.len(), 1);
        assert_eq!(a.config.services.len(), config.services.len());
    }
}
