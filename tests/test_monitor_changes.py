"""The payer-behaviour change detector on small worlds with and without the policy change."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from features.generate import WorldConfig, generate
from features.generate.world import POLICY_CHANGE_CODES, POLICY_CHANGE_PAYER
from training.monitor.changes import _cusum, detect


@functools.cache
def _alerts(scenario: str) -> tuple[list[dict], pd.Timestamp]:
    cfg = WorldConfig(n_claims=40_000, seed=11, scenario=scenario)
    tables, _ = generate(cfg)
    change = pd.Timestamp(cfg.start) + pd.DateOffset(months=cfg.months // 2)
    as_of = tables["remits"]["remit_date"].max()
    return detect(tables, change - pd.DateOffset(months=3), as_of), change


def _policy(alerts: list[dict]) -> list[dict]:
    return [
        a for a in alerts
        if a["payer_id"] == POLICY_CHANGE_PAYER and a["category"] == "authorization"
        and (not a["procedure_codes"] or a["procedure_codes"][0] in POLICY_CHANGE_CODES)
    ]  # fmt: skip


def test_the_policy_change_is_alerted_after_it_began_naming_payer_codes_and_reason():
    alerts, change = _alerts("payer-policy-change")
    found = _policy(alerts)
    assert {c for a in found for c in a["procedure_codes"]} >= {"97110", "97530"}
    first = min(pd.Timestamp(a["detected_on"]) for a in found)
    assert change <= first <= change + pd.Timedelta(days=45)
    for a in found:
        assert pd.Timestamp(a["started_on"]) >= change - pd.Timedelta(days=45)
        assert a["rate_since"] > 2 * a["rate_before"] and a["carcs"]
        assert {"payer_id", "procedure_codes", "category", "started_on", "detected_on",
                "kind"} <= set(a)  # fmt: skip


def test_without_the_change_no_policy_alert_and_few_alarms():
    alerts, _ = _alerts("none")
    assert not _policy(alerts)
    per_payer = pd.Series([a["payer_id"] for a in alerts]).value_counts()
    assert per_payer.max() <= 2  # 15 months watched: at most ~1 per payer-year


def test_the_cusum_stays_quiet_on_a_steady_rate_and_fires_on_a_rise():
    rng = np.random.default_rng(0)
    steady = rng.random(5_000) < 0.1
    assert _cusum(steady, 0.1) == []
    rise = np.concatenate([steady[:1000], rng.random(300) < 0.3])
    (start, alarm), *_ = _cusum(rise, 0.1)
    assert 900 <= start <= 1100 and 1000 < alarm < 1300


def test_the_readable_page_says_what_changed_and_what_to_do(trained, small_world):
    from training.monitor.html import render
    from training.monitor.report import monitor

    alerts, _ = _alerts("payer-policy-change")
    result = monitor(trained[0].model, small_world[0], pd.Timestamp("2025-12-31"), 90)
    page = render({**result, "alerts": _policy(alerts)})
    assert "COM01: authorization denials on" in page and "97110" in page
    assert "What to do: check the payer&#39;s prior-authorization list" in page
    assert "<script" not in page  # one static page, mailed and archived


def _page(x: np.ndarray, p0: float, rise: float, h: float) -> list[tuple[int, int]]:
    """Page's recursion as textbooks write it, one outcome at a time: the reference."""
    p1 = min(max(2 * p0, p0 + rise), 0.99)
    up, down = np.log(p1 / p0), np.log((1 - p1) / (1 - p0))
    s, start, alarms = 0.0, 0, []
    for t, hit in enumerate(x):
        s = max(0.0, s + (up if hit else down))
        if s == 0.0:
            start = t + 1
        elif s >= h:
            alarms.append((start, t))
            s, start = 0.0, t + 1
    return alarms


def test_the_block_cusum_alarms_where_pages_recursion_does():
    """Long steady stretches, rises and many alarms: the cumulative-sum blocks (which grow and
    restart) give the same alarms and change points as the loop over outcomes."""
    from training.monitor.changes import MIN_RISE, THRESHOLD

    rise, h = MIN_RISE, THRESHOLD
    rng = np.random.default_rng(3)
    for _ in range(200):
        p0 = float(rng.uniform(0.005, 0.5))
        parts = [rng.random(int(rng.integers(0, 6_000))) < p0 * f for f in rng.choice(
            [1.0, 1.0, 2.0, 4.0], size=3)]  # fmt: skip
        x = np.concatenate(parts).astype(bool) if parts else np.zeros(0, bool)
        assert _cusum(x, p0) == _page(x, p0, rise, h)
