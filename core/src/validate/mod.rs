//! Validation as Istio's admission webhook (`pkg/config/validation`) does it.
//!
//! Every rule Istio applies to VirtualService, DestinationRule, Gateway,
//! ServiceEntry, Sidecar and WorkloadEntry, reported as `istioctl analyze`
//! reports them: errors as IST0106 (SchemaValidationError), warnings as
//! IST0133 (SchemaWarning), VirtualService reachability as IST0130/IST0131
//! (deprecated fields, IST0002, are the analyzers' concern:
//! [`crate::analyze::deprecations`]). Each message names the resource, the exact
//! field path and its `file:line:col`, keeps Istio's wording and says how to
//! fix it. Regular expressions are compiled by [`crate::matching::regex`], the
//! engine routing uses, so what validation accepts is what matching can run.

mod common;
mod destination_rule;
mod gateway;
mod service_entry;
mod sidecar;
mod virtual_service;
mod workload_entry;

use crate::message::Message;
use crate::model::Config;

/// Istio's per-resource validation of every resource in `config`, in load
/// order by kind. Resources the loader rejected are not in `config` and so
/// are not validated again.
pub fn validate(config: &Config) -> Vec<Message> {
    let mut out = Vec::new();
    validate_into(config, &mut out);
    out
}

/// [`validate`], appending to `out`.
pub(crate) fn validate_into(config: &Config, out: &mut Vec<Message>) {
    for r in &config.virtual_services {
        virtual_service::validate(r, out);
    }
    for r in &config.destination_rules {
        destination_rule::validate(r, out);
    }
    for r in &config.gateways {
        gateway::validate(r, out);
    }
    for r in &config.service_entries {
        service_entry::validate(r, out);
    }
    for r in &config.sidecars {
        sidecar::validate(r, out);
    }
    for r in &config.workload_entries {
        workload_entry::validate(r, out);
    }
}
