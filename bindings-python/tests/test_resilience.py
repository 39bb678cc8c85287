"""The resilience machines: caller-supplied time and randomness, Istio's translation."""

from __future__ import annotations

from datetime import timedelta

import pytest

import meshroute


def test_five_consecutive_5xx_eject_and_the_tick_returns_the_host() -> None:
    d = meshroute.OutlierDetector(
        3, consecutive_5xx_errors=5, interval=timedelta(seconds=1), base_ejection_time=timedelta(seconds=30),
        max_ejection_percent=100,
    )
    for _ in range(4):
        assert d.report(0, 503, 0.0) == []
    assert not d.is_ejected(0)
    events = d.report(0, 503, 0.0)
    # The gateway-error detector also counts the 503 but Istio does not enforce it.
    assert [(e.kind, e.cause) for e in events] == [
        ("notEnforced", "consecutive gateway errors"),
        ("ejected", "consecutive 5xx"),
    ]
    assert events[1].duration == timedelta(seconds=30)
    assert d.ejected == [0]
    assert d.advance_to(29) == [] and d.is_ejected(0)
    back = d.advance_to(timedelta(seconds=31))
    assert [(e.kind, e.host) for e in back] == [("unejected", 0)]
    assert d.ejected == [] and d.stats["ejections_enforced"] == 1


def test_a_success_resets_the_consecutive_count() -> None:
    d = meshroute.OutlierDetector(2, consecutive_5xx_errors=2, max_ejection_percent=100)
    d.report(1, 503, 0)
    d.report(1, 200, 0)
    assert d.report(1, "connect-failure", 0) == []
    assert not d.is_ejected(1)


def test_detector_from_a_decision_policy(mesh: meshroute.Mesh) -> None:
    policy = {"outlierDetection": {"consecutive5xxErrors": 1, "interval": "1s", "baseEjectionTime": "3m", "maxEjectionPercent": 100}}
    d = meshroute.OutlierDetector.from_policy(policy, 2)
    e = d.report(1, "reset", 0.5, random=[0])[-1]
    assert e.kind == "ejected" and e.duration is not None and e.duration >= timedelta(minutes=3)
    assert d.next_tick == 1.0


def test_pool_admits_then_queues_then_overflows() -> None:
    pool = meshroute.ConnectionPool(1, max_connections=1, http1_max_pending_requests=1, max_requests_per_connection=1)
    first = pool.start(0)
    second = pool.start(0)
    third = pool.start(0)
    assert first.status == "active" and first.request_id is not None
    assert second.status == "pending"
    assert (third.status, third.overflow, third.request_id) == ("overflow", "pending", None)
    assert pool.finish(first.request_id) == [("active", second.request_id)]
    assert pool.stats["overflowed"] == 1
    with pytest.raises(KeyError):
        pool.finish(first.request_id)
    with pytest.raises(KeyError):
        pool.start(5)


def test_pool_from_policy_and_retry_budget() -> None:
    pool = meshroute.ConnectionPool.from_policy({"connectionPool": {"http": {"maxRetries": 1}}}, 1)
    assert pool.try_acquire_retry() is True
    assert pool.try_acquire_retry() is False
    pool.release_retry()
    assert pool.try_acquire_retry() is True


def test_from_policy_configures_as_istio_does() -> None:
    # Without an outlierDetection block Istio configures no detection at all.
    with pytest.raises(ValueError, match="no outlierDetection"):
        meshroute.OutlierDetector.from_policy({"connectionPool": {}}, 2)
    with pytest.raises(ValueError, match="outlierDetection.interval"):
        meshroute.OutlierDetector.from_policy({"outlierDetection": {"interval": "5 s"}}, 2)
    upgrade = {"connectionPool": {"tcp": {"maxConnections": 1}, "http": {"h2UpgradePolicy": "UPGRADE", "maxConcurrentStreams": 2}}}
    # h2UpgradePolicy UPGRADE: two streams share the one connection.
    h2 = meshroute.ConnectionPool.from_policy(upgrade, 1)
    assert [h2.start(0).status, h2.start(0).status] == ["active", "active"]
    # HTTP/1.1: the second request waits for the connection.
    h1 = meshroute.ConnectionPool.from_policy({"connectionPool": {"tcp": {"maxConnections": 1}}}, 1)
    assert [h1.start(0).status, h1.start(0).status] == ["active", "pending"]


def test_bad_time_and_results_are_errors_not_crashes() -> None:
    d = meshroute.OutlierDetector(1)
    with pytest.raises(ValueError):
        d.report(0, 503, -1.0)
    with pytest.raises(TypeError):
        d.report(0, 503, "now")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        d.report(0, "explode", 0)
    with pytest.raises(KeyError):
        d.report(3, 503, 0)
