//! Diagnostics: what `meshroute check` prints, in the shape `istioctl analyze`
//! users know (code, severity, resource, field, location, fix).

use crate::source::Source;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a message is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum Severity {
    /// Informational; nothing to fix.
    Info,
    /// Accepted by Istio, but probably not what was meant.
    Warning,
    /// Istio would reject the resource, or traffic cannot work as written.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "Info",
            Severity::Warning => "Warning",
            Severity::Error => "Error",
        })
    }
}

/// One diagnostic about one resource (or about the input text itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Istio's analyzer code (`IST0101`) where one exists, else a meshroute
    /// code (`MR0001`...; see [`codes`]).
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// `Kind namespace/name`, or empty for messages about the text itself.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource: String,
    /// Field path inside the resource (`spec.http[0].route[1].weight`), or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
    /// Where the field (or the resource) is written.
    pub source: Source,
    /// What is wrong, in Istio's wording where Istio has one.
    pub text: String,
    /// One line saying how to fix it; empty when there is nothing to fix.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Message {
    /// A message with every field given.
    pub fn new(
        code: &str,
        severity: Severity,
        resource: impl Into<String>,
        field_path: impl Into<String>,
        source: Source,
        text: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Message {
            code: code.to_string(),
            severity,
            resource: resource.into(),
            field_path: field_path.into(),
            source,
            text: text.into(),
            fix: fix.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Message {
    /// `Error [IST0101] (VirtualService default/reviews spec.http[0]) file:3:5 text` then the fix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.severity, self.code)?;
        if !self.resource.is_empty() || !self.field_path.is_empty() {
            write!(f, " (")?;
            write!(f, "{}", self.resource)?;
            if !self.field_path.is_empty() {
                if !self.resource.is_empty() {
                    write!(f, " ")?;
                }
                write!(f, "{}", self.field_path)?;
            }
            write!(f, ")")?;
        }
        write!(f, " {} {}", self.source, self.text)?;
        if !self.fix.is_empty() {
            write!(f, "\n    fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// A message code left out for resources matching a pattern, as
/// `istioctl analyze --suppress CODE=RESOURCE` leaves it out (istio
/// `pkg/config/analysis/local/istiod_analyze.go`, `filterMessages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The code (`IST0173`).
    pub code: String,
    /// `Kind namespace/name`; `*` matches any run of characters
    /// (`DestinationRule */ratings`).
    pub resource: String,
}

impl Suppression {
    /// Reads `CODE=RESOURCE` (`IST0173=DestinationRule default/ratings`).
    pub fn parse(text: &str) -> Result<Suppression, String> {
        match text.split('=').collect::<Vec<_>>().as_slice() {
            [code, resource] if !code.is_empty() && !resource.is_empty() => Ok(Suppression {
                code: (*code).to_string(),
                resource: (*resource).to_string(),
            }),
            _ => Err(format!(
                "{text:?} is not a suppression: write CODE=RESOURCE, e.g. \"IST0173=DestinationRule default/ratings\""
            )),
        }
    }

    /// Whether `message` is left out: same code, and its resource matches.
    /// Messages about no resource are never suppressed.
    pub fn matches(&self, message: &Message) -> bool {
        !message.resource.is_empty()
            && message.code == self.code
            && glob(&self.resource, &message.resource)
    }
}

/// `pattern` with `*` matching any run of characters (ryanuber/go-glob, as
/// istioctl uses it) against the whole of `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Message codes. Istio's analyzer codes are used where Istio has one; codes
/// starting with `MR` are meshroute's own (input-level problems Istio reports
/// through the API server, not through `istioctl analyze`).
pub mod codes {
    /// Istio IST0001 InternalError.
    pub const INTERNAL_ERROR: &str = "IST0001";
    /// Istio IST0002 Deprecated.
    pub const DEPRECATED: &str = "IST0002";
    /// Istio IST0101 ReferencedResourceNotFound.
    pub const REFERENCED_RESOURCE_NOT_FOUND: &str = "IST0101";
    /// Istio IST0106 SchemaValidationError.
    pub const SCHEMA_VALIDATION_ERROR: &str = "IST0106";
    /// Istio IST0109 ConflictingMeshGatewayVirtualServiceHosts.
    pub const CONFLICTING_MESH_GATEWAY_VS_HOSTS: &str = "IST0109";
    /// Istio IST0110 ConflictingSidecarWorkloadSelectors.
    pub const CONFLICTING_SIDECAR_WORKLOAD_SELECTORS: &str = "IST0110";
    /// Istio IST0111 MultipleSidecarsWithoutWorkloadSelectors.
    pub const MULTIPLE_SIDECARS_WITHOUT_SELECTORS: &str = "IST0111";
    /// Istio IST0112 VirtualServiceDestinationPortSelectorRequired.
    pub const VS_DESTINATION_PORT_SELECTOR_REQUIRED: &str = "IST0112";
    /// Istio IST0118 PortNameIsNotUnderNamingConvention.
    pub const PORT_NAME_NOT_UNDER_NAMING_CONVENTION: &str = "IST0118";
    /// Istio IST0128 NoServerCertificateVerificationDestinationLevel.
    pub const NO_SERVER_CERT_VERIFICATION_DESTINATION: &str = "IST0128";
    /// Istio IST0129 NoServerCertificateVerificationPortLevel.
    pub const NO_SERVER_CERT_VERIFICATION_PORT: &str = "IST0129";
    /// Istio IST0130 VirtualServiceUnreachableRule.
    pub const VS_UNREACHABLE_RULE: &str = "IST0130";
    /// Istio IST0131 VirtualServiceIneffectiveMatch.
    pub const VS_INEFFECTIVE_MATCH: &str = "IST0131";
    /// Istio IST0132 VirtualServiceHostNotFoundInGateway.
    pub const VS_HOST_NOT_FOUND_IN_GATEWAY: &str = "IST0132";
    /// Istio IST0133 SchemaWarning.
    pub const SCHEMA_WARNING: &str = "IST0133";
    /// Istio IST0134 ServiceEntryAddressesRequired.
    pub const SERVICE_ENTRY_ADDRESSES_REQUIRED: &str = "IST0134";
    /// Istio IST0138 GatewayDuplicateCertificate.
    pub const GATEWAY_DUPLICATE_CERTIFICATE: &str = "IST0138";
    /// Istio IST0140 IngressRouteRulesNotAffected.
    pub const INGRESS_ROUTE_RULES_NOT_AFFECTED: &str = "IST0140";
    /// Istio IST0145 ConflictingGateways.
    pub const CONFLICTING_GATEWAYS: &str = "IST0145";
    /// Istio IST0149 JwtClaimBasedRoutingWithoutRequestAuthN.
    pub const JWT_CLAIM_ROUTING_WITHOUT_REQUEST_AUTHN: &str = "IST0149";
    /// Istio IST0150 ExternalNameServiceTypeInvalidPortName.
    pub const EXTERNAL_NAME_SERVICE_INVALID_PORT_NAME: &str = "IST0150";
    /// Istio IST0161 InvalidGatewayCredential.
    pub const INVALID_GATEWAY_CREDENTIAL: &str = "IST0161";
    /// Istio IST0162 GatewayPortNotDefinedOnService.
    pub const GATEWAY_PORT_NOT_DEFINED_ON_SERVICE: &str = "IST0162";
    /// Istio IST0165 ReferencedInternalGateway.
    pub const REFERENCED_INTERNAL_GATEWAY: &str = "IST0165";
    /// Istio IST0167 IneffectivePolicy.
    pub const INEFFECTIVE_POLICY: &str = "IST0167";
    /// Istio IST0173 DestinationRuleSubsetNotSelectPods.
    pub const DR_SUBSET_NOT_SELECT_PODS: &str = "IST0173";
    /// Istio IST0174 UnknownDestinationRuleHost.
    pub const UNKNOWN_DR_HOST: &str = "IST0174";
    /// Istio IST0177 ConflictingServiceEntryProtocol.
    pub const CONFLICTING_SERVICE_ENTRY_PROTOCOL: &str = "IST0177";

    /// meshroute: the text is not valid YAML or JSON.
    pub const PARSE_ERROR: &str = "MR0001";
    /// meshroute: a field has the wrong type, or a field is unknown.
    pub const BAD_FIELD: &str = "MR0002";
    /// meshroute: a document lacks apiVersion or kind, or has no name.
    pub const BAD_ENVELOPE: &str = "MR0003";
    /// meshroute: a document of a kind Istio itself ignores for traffic
    /// (ServiceAccount, Secret, ...; see `model::ignored_by_istio`) was skipped.
    pub const SKIPPED_KIND: &str = "MR0004";
    /// meshroute: an input limit was exceeded.
    pub const LIMIT_EXCEEDED: &str = "MR0005";
    /// meshroute: the same resource (kind, namespace, name) is defined twice.
    pub const DUPLICATE_RESOURCE: &str = "MR0006";
    /// meshroute: a document of a kind meshroute does not model (Gateway API
    /// routes, security policies, EnvoyFilters, ...) was ignored: decisions
    /// leave out whatever it would change in a mesh.
    pub const NOT_MODELLED: &str = "MR0007";
    /// meshroute: a ServiceEntry's address on a TLS port contains a more
    /// specific address of another one, which takes that range's TLS
    /// connections whatever their SNI (Istio issue 52235).
    pub const TLS_ADDRESS_SHADOWED: &str = "MR0008";
    /// meshroute: istiod's gateway merge leaves a server out, or keeps two
    /// TLS servers answering one SNI name (Istio routes so; its own tests
    /// call these traps). Not Istio's IST0145, which `istioctl analyze`
    /// gives under its own, narrower conditions.
    pub const GATEWAY_MERGE_TRAP: &str = "MR0009";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(code: &str, resource: &str) -> Message {
        Message::new(
            code,
            Severity::Error,
            resource,
            "",
            Source::default(),
            "t",
            "",
        )
    }

    #[test]
    fn suppressions_match_code_and_resource_glob() {
        let s = Suppression::parse("IST0173=DestinationRule */ratings").unwrap();
        assert!(s.matches(&message("IST0173", "DestinationRule default/ratings")));
        assert!(!s.matches(&message("IST0173", "DestinationRule default/reviews")));
        assert!(!s.matches(&message("IST0101", "DestinationRule default/ratings")));
        assert!(!s.matches(&message("IST0173", "")));
        let exact = Suppression::parse("IST0173=DestinationRule default/ratings").unwrap();
        assert!(exact.matches(&message("IST0173", "DestinationRule default/ratings")));
        assert!(!exact.matches(&message("IST0173", "DestinationRule default/ratings2")));
        assert!(Suppression::parse("IST0173").is_err());
        assert!(Suppression::parse("a=b=c").is_err());
    }

    #[test]
    fn glob_is_anchored_at_both_ends() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abc"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*c", "abcd"));
        assert!(!glob("a*a", "a"));
        assert!(glob("ab", "ab"));
        assert!(!glob("ab", "abc"));
    }
}
