//! Outlier detection under arbitrary sequences of results, clock advances and
//! host changes: the detector's counts agree with its hosts, an ejection
//! respects `max_ejection_percent`, a host returns no sooner than its
//! ejection's duration, and the same inputs give the same events.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshroute::resilience::outlier::{HostReport, OutlierEventKind};
use meshroute::resilience::{Instant, OutlierConfig, OutlierDetector, SplitMix64};
use std::time::Duration;

#[derive(Arbitrary, Debug)]
enum Op {
    Status { host: u8, code: u16, dt_ms: u16, seed: u64 },
    Local { host: u8, kind: u8, dt_ms: u16, seed: u64 },
    Advance { dt_ms: u32 },
    AddHost,
    RemoveHost { host: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    hosts: u8,
    c5xx: u8,
    cgw: u8,
    clocal: u8,
    enforcing: [u8; 3],
    split: bool,
    interval_ms: u16,
    base_ms: u16,
    max_ms: u16,
    jitter_ms: u16,
    max_pct: u8,
    always_one: bool,
    ops: Vec<Op>,
}

fn report_of(kind: u8) -> HostReport {
    match kind % 6 {
        0 => HostReport::LocalOriginConnectFailed,
        1 => HostReport::LocalOriginTimeout,
        2 => HostReport::LocalOriginConnectSuccess,
        3 => HostReport::LocalOriginConnectSuccessFinal,
        4 => HostReport::ExtOriginRequestFailed,
        _ => HostReport::ExtOriginRequestSuccess,
    }
}

fuzz_target!(|input: Input| {
    let config = OutlierConfig {
        consecutive_5xx: u32::from(input.c5xx % 8),
        enforcing_consecutive_5xx: u32::from(input.enforcing[0] % 101),
        consecutive_gateway_failure: u32::from(input.cgw % 8),
        enforcing_consecutive_gateway_failure: u32::from(input.enforcing[1] % 101),
        split_external_local_origin_errors: input.split,
        consecutive_local_origin_failure: u32::from(input.clocal % 8),
        enforcing_consecutive_local_origin_failure: u32::from(input.enforcing[2] % 101),
        interval: Duration::from_millis(u64::from(input.interval_ms)),
        base_ejection_time: Duration::from_millis(u64::from(input.base_ms)),
        max_ejection_time: Duration::from_millis(u64::from(input.max_ms)),
        max_ejection_time_jitter: Duration::from_millis(u64::from(input.jitter_ms)),
        max_ejection_percent: u32::from(input.max_pct % 110),
        always_eject_one_host: input.always_one,
        healthy_panic_threshold: 0,
    };
    let mut hosts = usize::from(input.hosts % 16);
    let mut d = OutlierDetector::new(config.clone(), hosts, Instant(0));
    let mut now = Instant(0);
    let mut removed_any = false;
    // Per host: the nominal duration of its current ejection.
    let mut ejected_for: Vec<Option<Duration>> = vec![None; hosts];
    let longest = config.base_ejection_time.max(config.max_ejection_time) + config.max_ejection_time_jitter;
    let mut net_ejections: i64 = 0;
    for op in input.ops.iter().take(256) {
        let mut events = Vec::new();
        let mut replay = Vec::new();
        let mut twin = d.clone();
        match *op {
            Op::Status { host, code, dt_ms, seed } => {
                now = now + Duration::from_millis(u64::from(dt_ms));
                let h = usize::from(host) % (hosts + 1);
                let r = HostReport::HttpStatus(code % 700);
                d.report(h, r, now, &mut SplitMix64::new(seed), &mut events);
                twin.report(h, r, now, &mut SplitMix64::new(seed), &mut replay);
            }
            Op::Local { host, kind, dt_ms, seed } => {
                now = now + Duration::from_millis(u64::from(dt_ms));
                let h = usize::from(host) % (hosts + 1);
                d.report(h, report_of(kind), now, &mut SplitMix64::new(seed), &mut events);
                twin.report(h, report_of(kind), now, &mut SplitMix64::new(seed), &mut replay);
            }
            Op::Advance { dt_ms } => {
                now = now + Duration::from_millis(u64::from(dt_ms));
                d.advance_to(now, &mut events);
                twin.advance_to(now, &mut replay);
            }
            Op::AddHost => {
                let id = d.add_host();
                assert_eq!(id, hosts, "ids are dense");
                hosts += 1;
                ejected_for.push(None);
            }
            Op::RemoveHost { host } => {
                let h = usize::from(host) % (hosts + 1);
                if d.is_ejected(h) {
                    net_ejections -= 1;
                }
                d.remove_host(h);
                if let Some(e) = ejected_for.get_mut(h) {
                    *e = None;
                }
                removed_any = true;
            }
        }
        assert_eq!(events, replay, "the same inputs give the same events");
        let mut last = Instant(0);
        for e in &events {
            assert!(e.at >= last && e.at <= now, "events in time order, never in the future");
            last = e.at;
            match e.kind {
                OutlierEventKind::Ejected { duration, multiplier, .. } => {
                    // Envoy requires base_ejection_time > 0; with 0 the multiplier never grows.
                    assert!(multiplier >= 1 || config.base_ejection_time.is_zero());
                    assert!(duration <= longest, "{duration:?} > {longest:?}");
                    assert!(d.is_ejected(e.host), "an ejected host stays out until a tick");
                    assert!(ejected_for[e.host].is_none(), "no double ejection");
                    ejected_for[e.host] = Some(duration);
                    net_ejections += 1;
                }
                OutlierEventKind::Unejected { ejected_for: out } => {
                    let nominal = ejected_for[e.host].take();
                    let nominal = nominal.expect("only an ejected host returns");
                    assert!(out >= nominal, "returned after {out:?}, ejected for {nominal:?}");
                    net_ejections -= 1;
                }
                OutlierEventKind::EjectionOverflow { .. } | OutlierEventKind::NotEnforced { .. } => {
                    // A detection on a host already out is ignored, not reported.
                    assert!(ejected_for[e.host].is_none(), "detection reported for an ejected host");
                }
            }
        }
        let ejected: Vec<usize> = d.ejected_hosts().collect();
        assert_eq!(ejected.len(), d.ejections_active());
        assert_eq!(i64::try_from(d.ejections_active()).unwrap_or(-1), net_ejections);
        for (h, e) in ejected_for.iter().enumerate() {
            assert_eq!(e.is_some(), d.is_ejected(h), "host {h}");
        }
        assert!(d.ejections_active() <= d.total_hosts());
        let s = d.stats();
        assert!(s.ejections_enforced >= s.unejections);
        if !removed_any && d.ejections_active() > 1 {
            let pct = 100 * d.ejections_active();
            assert!(
                pct <= config.max_ejection_percent.min(100) as usize * d.total_hosts(),
                "{} of {} ejected with max {}%",
                d.ejections_active(),
                d.total_hosts(),
                config.max_ejection_percent
            );
        }
    }
});
