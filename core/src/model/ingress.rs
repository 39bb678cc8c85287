//! Kubernetes `Ingress` and `IngressClass` (networking.k8s.io/v1), the
//! parts Istio's ingress controller reads (istio
//! `pilot/pkg/config/kube/ingress`). Fields Kubernetes adds that routing
//! does not read (`status`, backend `resource` references) are accepted and
//! ignored, as for the other Kubernetes objects.

use serde::{Deserialize, Serialize};

/// The `spec` of an Ingress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// The IngressClass this Ingress belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// Backend for requests no rule matches (Istio ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<IngressBackend>,
    /// TLS certificates by host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<IngressTls>,
    /// Host rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<IngressRule>,
}

/// Hosts served with the certificate in a Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Hosts the certificate is for; empty means every host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Secret holding the certificate and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// The paths of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// The host; absent means every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The HTTP paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpIngressRuleValue>,
}

/// The paths of an HTTP rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressRuleValue {
    /// Paths in order.
    #[serde(default)]
    pub paths: Vec<HttpIngressPath>,
}

/// One path of a rule and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressPath {
    /// The path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Exact`, `Prefix` or `ImplementationSpecific`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_type: Option<String>,
    /// Where matching requests go.
    #[serde(default)]
    pub backend: IngressBackend,
}

/// The backend of a path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressBackend {
    /// A Service in the Ingress's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<IngressServiceBackend>,
}

/// A Service backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressServiceBackend {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Service port, by number or name.
    #[serde(default)]
    pub port: ServiceBackendPort,
}

/// A Service port by number or by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBackendPort {
    /// Port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The `spec` of an IngressClass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressClass {
    /// The controller implementing the class (`istio.io/ingress-controller` for Istio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ingress_spec_reads_as_kubernetes_writes_it() {
        let spec: Ingress = serde_json::from_value(serde_json::json!({
            "ingressClassName": "istio",
            "tls": [{"hosts": ["example.com"], "secretName": "cert"}],
            "rules": [{"host": "example.com", "http": {"paths": [
                {"path": "/a", "pathType": "Prefix",
                 "backend": {"service": {"name": "a", "port": {"number": 80}}}}
            ]}}]
        }))
        .unwrap();
        assert_eq!(spec.ingress_class_name.as_deref(), Some("istio"));
        assert_eq!(spec.tls[0].secret_name.as_deref(), Some("cert"));
        let path = &spec.rules[0].http.as_ref().unwrap().paths[0];
        assert_eq!(path.backend.service.as_ref().unwrap().port.number, Some(80));
    }
}
