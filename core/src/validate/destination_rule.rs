//! DestinationRule validation, as Istio's `ValidateDestinationRule` does it.

use super::common::{selector_label_errors, Report};
use crate::message::Message;
use crate::model::destination_rule::{
    ClientTlsMode, ClientTlsSettings, ConnectionPoolSettings, DestinationRule, H2UpgradePolicy,
    LoadBalancerSettings, LocalityLbSetting, OutlierDetection, TrafficPolicy, TunnelSettings,
};
use crate::model::Resource;
use crate::names;
use crate::source::path::{field, index, key};
use std::collections::BTreeSet;

/// Maglev table sizes must stay below this prime (Envoy's limit).
const MAGLEV_MAX_TABLE_SIZE: u64 = 5_000_011;

/// Validates one DestinationRule, appending messages to `out`.
pub(crate) fn validate(res: &Resource<DestinationRule>, out: &mut Vec<Message>) {
    let mut r = Report::new("DestinationRule", res, out);
    let dr = &res.spec;
    r.error_if(
        "spec.host",
        names::validate_wildcard_domain(dr.host.as_deref().unwrap_or("")),
        "use a service name, an FQDN or a *.domain wildcard",
    );
    if let Some(tp) = &dr.traffic_policy {
        traffic_policy(&mut r, "spec.trafficPolicy", tp);
    }
    let mut names_seen = BTreeSet::new();
    for (i, subset) in dr.subsets.iter().enumerate() {
        let sp = index("spec.subsets", i);
        let name = subset.name.as_deref().unwrap_or("");
        if !names_seen.insert(name) {
            r.error(
                &field(&sp, "name"),
                format!("duplicate subset names: {name}"),
                "give every subset a different name",
            );
        }
        if name.is_empty() {
            r.error(
                &field(&sp, "name"),
                "subset name cannot be empty",
                "name the subset, e.g. v1",
            );
        } else if !names::is_dns1123_label(name) {
            r.error(
                &field(&sp, "name"),
                format!("subset name is invalid: {name}"),
                "use lower-case letters, digits and '-' (at most 63)",
            );
        }
        r.labels(&field(&sp, "labels"), &subset.labels);
        if let Some(tp) = &subset.traffic_policy {
            traffic_policy(&mut r, &field(&sp, "trafficPolicy"), tp);
        }
    }
    r.export_to(
        "spec.exportTo",
        &dr.export_to,
        false,
        dr.workload_selector.is_some(),
    );
    if let Some(sel) = &dr.workload_selector {
        for (k, e) in selector_label_errors(&sel.match_labels) {
            r.error(
                &key("spec.workloadSelector.matchLabels", &k),
                e,
                "use exact, non-empty label keys and values without *",
            );
        }
        if sel.match_labels.is_empty() {
            r.warning(
                "spec.workloadSelector",
                "workload selector specified without labels",
                "add matchLabels, or remove workloadSelector",
            );
        }
    }
}

fn traffic_policy(r: &mut Report<'_, DestinationRule>, p: &str, tp: &TrafficPolicy) {
    if tp.outlier_detection.is_none()
        && tp.connection_pool.is_none()
        && tp.load_balancer.is_none()
        && tp.tls.is_none()
        && tp.port_level_settings.is_empty()
        && tp.tunnel.is_none()
        && tp.proxy_protocol.is_none()
    {
        r.error(
            p,
            "traffic policy must have at least one field",
            "remove the empty trafficPolicy",
        );
        return;
    }
    if tp.tunnel.is_some() && tp.proxy_protocol.is_some() {
        r.error(
            p,
            "tunnel and proxyProtocol must not be set together",
            "keep tunnel or proxyProtocol",
        );
        return;
    }
    if let Some(o) = &tp.outlier_detection {
        outlier(r, &field(p, "outlierDetection"), o);
    }
    if let Some(c) = &tp.connection_pool {
        connection_pool(r, &field(p, "connectionPool"), c);
    }
    if let Some(lb) = &tp.load_balancer {
        load_balancer(
            r,
            &field(p, "loadBalancer"),
            lb,
            tp.outlier_detection.as_ref(),
        );
    }
    if let Some(t) = &tp.tls {
        client_tls(r, &field(p, "tls"), t);
    }
    for (i, pl) in tp.port_level_settings.iter().enumerate() {
        let pp = index(&field(p, "portLevelSettings"), i);
        if pl.port.is_none() {
            r.error(
                &pp,
                "portTrafficPolicy must have valid port",
                "add port: {number: N}",
            );
        }
        if pl.outlier_detection.is_none()
            && pl.connection_pool.is_none()
            && pl.load_balancer.is_none()
            && pl.tls.is_none()
        {
            r.error(
                &pp,
                "port traffic policy must have at least one field",
                "add a policy for the port, or remove the entry",
            );
            continue;
        }
        if let Some(o) = &pl.outlier_detection {
            outlier(r, &field(&pp, "outlierDetection"), o);
        }
        if let Some(c) = &pl.connection_pool {
            connection_pool(r, &field(&pp, "connectionPool"), c);
        }
        if let Some(lb) = &pl.load_balancer {
            load_balancer(
                r,
                &field(&pp, "loadBalancer"),
                lb,
                pl.outlier_detection.as_ref(),
            );
        }
        if let Some(t) = &pl.tls {
            client_tls(r, &field(&pp, "tls"), t);
        }
    }
    if let Some(t) = &tp.tunnel {
        tunnel(r, &field(p, "tunnel"), t);
    }
}

fn tunnel(r: &mut Report<'_, DestinationRule>, p: &str, t: &TunnelSettings) {
    if let Some(proto) = &t.protocol {
        if !proto.is_empty() && proto != "CONNECT" && proto != "POST" {
            r.error(
                &field(p, "protocol"),
                "tunnel protocol must be \"CONNECT\" or \"POST\"",
                "use CONNECT or POST",
            );
        }
    }
    let host = t.target_host.as_deref().unwrap_or("");
    if let (Err(fqdn), Err(ip)) = (names::validate_fqdn(host), names::validate_ip(host)) {
        r.error(
            &field(p, "targetHost"),
            format!("tunnel target host must be valid FQDN or IP address: {fqdn}; {ip}"),
            "use a DNS name or an IP address",
        );
    }
    if let Err(e) = names::validate_port(i64::from(t.target_port.unwrap_or(0))) {
        r.error(
            &field(p, "targetPort"),
            format!("tunnel target port is invalid: {e}"),
            "use a port number from 1 to 65535",
        );
    }
}

fn outlier(r: &mut Report<'_, DestinationRule>, p: &str, o: &OutlierDetection) {
    r.opt_duration(p, "baseEjectionTime", &o.base_ejection_time);
    if o.consecutive_errors.unwrap_or(0) != 0 {
        r.warning(
            &field(p, "consecutiveErrors"),
            "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead",
            "replace consecutiveErrors with consecutive5xxErrors",
        );
    }
    if !o.split_external_local_origin_errors.unwrap_or(false)
        && o.consecutive_local_origin_failures.unwrap_or(0) > 0
    {
        r.error(
            &field(p, "consecutiveLocalOriginFailures"),
            "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false",
            "set splitExternalLocalOriginErrors: true, or remove consecutiveLocalOriginFailures",
        );
    }
    r.opt_duration(p, "interval", &o.interval);
    for (name, v) in [
        ("maxEjectionPercent", o.max_ejection_percent),
        ("minHealthPercent", o.min_health_percent),
    ] {
        r.error_if(
            &field(p, name),
            names::validate_int_percent(i64::from(v.unwrap_or(0))),
            "use a value from 0 to 100",
        );
    }
}

fn connection_pool(r: &mut Report<'_, DestinationRule>, p: &str, c: &ConnectionPoolSettings) {
    if c.http.is_none() && c.tcp.is_none() {
        r.error(
            p,
            "connection pool must have at least one field",
            "add tcp or http settings, or remove connectionPool",
        );
        return;
    }
    const FIX: &str = "use 0 or a positive number";
    if let Some(h) = &c.http {
        let hp = field(p, "http");
        for (name, v, text) in [
            (
                "http1MaxPendingRequests",
                h.http1_max_pending_requests,
                "http1 max pending requests must be non-negative",
            ),
            (
                "http2MaxRequests",
                h.http2_max_requests,
                "http2 max requests must be non-negative",
            ),
            (
                "maxRequestsPerConnection",
                h.max_requests_per_connection,
                "max requests per connection must be non-negative",
            ),
            (
                "maxRetries",
                h.max_retries,
                "max retries must be non-negative",
            ),
            (
                "maxConcurrentStreams",
                h.max_concurrent_streams,
                "max concurrent streams must be non-negative",
            ),
        ] {
            if v.unwrap_or(0) < 0 {
                r.error(&field(&hp, name), text, FIX);
            }
        }
        r.opt_duration(&hp, "idleTimeout", &h.idle_timeout);
        if h.h2_upgrade_policy == Some(H2UpgradePolicy::Upgrade)
            && h.use_client_protocol == Some(true)
        {
            r.error(
                &field(&hp, "useClientProtocol"),
                "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
                "remove useClientProtocol or h2UpgradePolicy: UPGRADE",
            );
        }
        if let Some(ka) = &h.http2_keep_alive {
            let kp = field(&hp, "http2KeepAlive");
            r.opt_duration(&kp, "interval", &ka.interval);
            r.opt_duration(&kp, "timeout", &ka.timeout);
        }
    }
    if let Some(t) = &c.tcp {
        let tp = field(p, "tcp");
        if t.max_connections.unwrap_or(0) < 0 {
            r.error(
                &field(&tp, "maxConnections"),
                "max connections must be non-negative",
                FIX,
            );
        }
        r.opt_duration(&tp, "connectTimeout", &t.connect_timeout);
        r.opt_duration(&tp, "maxConnectionDuration", &t.max_connection_duration);
        if let Some(idle) = &t.idle_timeout {
            // 0s disables the timeout and is allowed.
            let zero = crate::duration::parse_duration(idle)
                .map(|d| d.as_millis() == 0)
                .unwrap_or(false);
            if !zero {
                r.field_duration(&tp, "idleTimeout", idle);
            }
        }
        if let Some(ka) = &t.tcp_keepalive {
            let kp = field(&tp, "tcpKeepalive");
            r.opt_duration(&kp, "time", &ka.time);
            r.opt_duration(&kp, "interval", &ka.interval);
        }
    }
}

/// Envoy's primality test for maglev table sizes.
fn is_prime(x: u64) -> bool {
    if x != 0 && x < 4 {
        return true;
    }
    if x.is_multiple_of(2) {
        return false;
    }
    let mut f = 3u64;
    while f.saturating_mul(f) <= x {
        if x.is_multiple_of(f) {
            return false;
        }
        f += 2;
    }
    true
}

fn load_balancer(
    r: &mut Report<'_, DestinationRule>,
    p: &str,
    lb: &LoadBalancerSettings,
    outlier: Option<&OutlierDetection>,
) {
    if let Some(ch) = &lb.consistent_hash {
        let cp = field(p, "consistentHash");
        if let Some(c) = &ch.http_cookie {
            let kp = field(&cp, "httpCookie");
            if c.name.as_deref().unwrap_or("").is_empty() {
                r.error(
                    &kp,
                    "name required for HttpCookie",
                    "add name: <cookie name>",
                );
            }
            let mut seen = BTreeSet::new();
            for (i, a) in c.attributes.iter().enumerate() {
                let ap = index(&field(&kp, "attributes"), i);
                let name = a.name.as_deref().unwrap_or("");
                if name.is_empty() {
                    r.error(
                        &ap,
                        "cookie attribute name cannot be empty",
                        "name the attribute",
                    );
                } else if !seen.insert(name) {
                    r.error(
                        &ap,
                        format!("duplicate cookie attribute name: {name}"),
                        "list each attribute once",
                    );
                }
            }
        }
        let min_ring = ch.minimum_ring_size.unwrap_or(0);
        if min_ring != 0 {
            r.warning(
                &field(&cp, "minimumRingSize"),
                "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead",
                "use ringHash: {minimumRingSize: N}",
            );
            if ch.ring_hash.is_some() || ch.maglev.is_some() {
                r.error(
                    &cp,
                    "only one of MinimumRingSize or Maglev/Ringhash can be specified",
                    "keep ringHash or maglev",
                );
            }
        }
        if let Some(m) = &ch.maglev {
            let mp = field(&field(&cp, "maglev"), "tableSize");
            let size = m.table_size.unwrap_or(0);
            if size == 0 {
                r.error(
                    &mp,
                    "tableSize must be set for maglev",
                    "use a prime such as 65537",
                );
            }
            if size >= MAGLEV_MAX_TABLE_SIZE {
                r.error(
                    &mp,
                    "tableSize must be less than 5000011 for maglev",
                    "use a prime such as 65537",
                );
            }
            if !is_prime(size) {
                r.error(
                    &mp,
                    "tableSize must be a prime number for maglev",
                    "use a prime such as 65537",
                );
            }
        }
    }
    if lb.locality_lb_setting.is_some() && lb.zone_aware_lb_setting.is_some() {
        r.error(
            p,
            "only one of localityLbSetting and zoneAwareLbSetting can be set",
            "keep one of them",
        );
    }
    if let Some(l) = &lb.locality_lb_setting {
        locality(r, &field(p, "localityLbSetting"), l, outlier);
    }
    if let Some(w) = &lb.warmup {
        let wp = field(p, "warmup");
        match &w.duration {
            None => r.error(&wp, "duration is required", "add duration, e.g. 60s"),
            Some(d) => {
                r.field_duration(&wp, "duration", d);
            }
        }
        if w.minimum_percent.unwrap_or(0.0) > 100.0 {
            r.error(
                &field(&wp, "minimumPercent"),
                "minimumPercent value should be less than or equal to 100",
                "use a value from 0 to 100",
            );
        }
        if let Some(a) = w.aggression {
            if a < 1.0 {
                r.error(
                    &field(&wp, "aggression"),
                    "aggression should be greater than or equal to 1",
                    "use 1 (linear) or more",
                );
            }
        }
    }
}

fn locality(
    r: &mut Report<'_, DestinationRule>,
    p: &str,
    l: &LocalityLbSetting,
    outlier: Option<&OutlierDetection>,
) {
    if !l.distribute.is_empty() && !l.failover.is_empty() {
        r.error(
            p,
            "can not simultaneously specify 'distribute' and 'failover'",
            "keep distribute or failover",
        );
        return;
    }
    for (i, d) in l.distribute.iter().enumerate() {
        let dp = index(&field(p, "distribute"), i);
        let mut total = 0u64;
        for (loc, w) in &d.to {
            if *w == 0 || *w > 100 {
                r.error(
                    &key(&field(&dp, "to"), loc),
                    "locality weight must be in range [1, 100]",
                    "use weights from 1 to 100 that sum to 100",
                );
                return;
            }
            total += u64::from(*w);
        }
        if total != 100 {
            r.error(
                &field(&dp, "to"),
                format!("total locality weight {total} != 100"),
                "make the weights sum to 100",
            );
        }
    }
    for (i, f) in l.failover.iter().enumerate() {
        let fp = index(&field(p, "failover"), i);
        let from = f.from.as_deref().unwrap_or("");
        let to = f.to.as_deref().unwrap_or("");
        if from == to {
            r.error(
                &fp,
                "locality lb failover settings must specify different regions",
                "fail over to another region",
            );
        }
        if from.contains('/') || to.contains('/') {
            r.error(
                &fp,
                "locality lb failover only specify region",
                "write regions only, without zones",
            );
        }
        if from.contains('*') || to.contains('*') {
            r.error(
                &fp,
                "locality lb failover region should not contain '*' wildcard",
                "name the regions",
            );
        }
    }
    if outlier.is_none() && (!l.failover.is_empty() || !l.failover_priority.is_empty()) {
        r.warning(
            p,
            "outlier detection policy must be provided for failover",
            "add outlierDetection so unhealthy endpoints fail over",
        );
    }
}

fn client_tls(r: &mut Report<'_, DestinationRule>, p: &str, t: &ClientTlsSettings) {
    let set = |s: &Option<String>| !s.as_deref().unwrap_or("").is_empty();
    let mode = t.mode.unwrap_or_default();
    if t.insecure_skip_verify == Some(true) {
        if mode == ClientTlsMode::Simple
            && (set(&t.ca_certificates)
                || set(&t.credential_name)
                || !t.subject_alt_names.is_empty())
        {
            r.error(
                p,
                "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
                "remove insecureSkipVerify, or the verification settings",
            );
        }
        if mode == ClientTlsMode::Mutual
            && (set(&t.ca_certificates) || !t.subject_alt_names.is_empty())
        {
            r.error(
                p,
                "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
                "remove insecureSkipVerify, or the verification settings",
            );
        }
    }
    if matches!(mode, ClientTlsMode::Simple | ClientTlsMode::Mutual) && set(&t.credential_name) {
        if set(&t.client_certificate)
            || set(&t.ca_certificates)
            || set(&t.private_key)
            || set(&t.ca_crl)
        {
            r.error(
                p,
                "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
                "take certificates from the credential only",
            );
        }
        return;
    }
    if mode == ClientTlsMode::Mutual {
        if !set(&t.client_certificate) {
            r.error(
                p,
                "client certificate required for mutual tls",
                "add clientCertificate or credentialName",
            );
        }
        if !set(&t.private_key) {
            r.error(
                p,
                "private key required for mutual tls",
                "add privateKey or credentialName",
            );
        }
    }
}
