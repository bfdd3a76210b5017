"""Payer behaviour change: a sequential detector on denial rates, per payer × procedure and
payer × denial reason, that says within days when a payer starts denying something new.

Each stream is the first-pass outcomes of one payer's claims (with a procedure, or for one
reason), in remit-date order: an outcome is known from its remit date, never before. The
reference rate p0 is the stream's rate before ``reference_end`` (shrunk towards the payer's,
so a stream with few claims is not a coin toss). From then on a Bernoulli CUSUM (Page's test)
accumulates the log-likelihood ratio of "the rate rose to p1" against "it stayed p0":

    S_t = max(0, S_{t-1} + x_t log(p1 / p0) + (1 - x_t) log((1 - p1) / (1 - p0)))

with p1 = max(2 p0, p0 + ``MIN_RISE``), and alarms when S_t ≥ ``THRESHOLD``. ``started_on`` is the
first outcome after S last stood at 0 (the CUSUM's estimate of the change point), ``detected_on``
the outcome that crossed the threshold. With no change the expected number of outcomes between
false alarms (ARL0) is about e^h / (a constant of order 1): h = 9 gives thousands of outcomes per
stream, which the no-change tests hold to at most one false alarm per payer-year.

Only rises are detected: a payer that starts paying what it denied is good news, and the
worklist sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.codes import initial_outcomes

THRESHOLD = 9.0
MIN_RISE = 0.08
MIN_REFERENCE = 30  # outcomes a stream needs before reference_end to be watched
PRIOR_WEIGHT = 20.0  # pseudo-outcomes pulling a stream's p0 towards its payer's rate


@dataclass(frozen=True)
class Stream:
    kind: str  # "procedure" or "category"
    payer_id: str
    key: str  # the procedure code or the denial reason


def outcome_events(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per decided claim and procedure on it: payer, procedure, remit date, denied,
    reason and main CARC (first-pass outcomes, ``features.codes.initial_outcomes``)."""
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    claims = tables["claims"][["claim_id", "payer_id"]].merge(outcome, on="claim_id")
    lines = tables["claim_lines"][["claim_id", "procedure_code"]].dropna().drop_duplicates()
    frame = claims.merge(lines, on="claim_id", how="left")
    frame["denied"] = frame["denied"].astype(bool)
    return frame.sort_values(["remit_date", "claim_id"], kind="stable").reset_index(drop=True)


def _cusum(x: np.ndarray, p0: float) -> tuple[int, int] | None:
    """(start, alarm) positions of the first alarm in ``x`` (0/1 outcomes), or None."""
    p1 = min(max(2 * p0, p0 + MIN_RISE), 0.99)
    up, down = np.log(p1 / p0), np.log((1 - p1) / (1 - p0))
    s, start = 0.0, 0
    for t, hit in enumerate(x.tolist()):
        s = max(0.0, s + (up if hit else down))
        if s == 0.0:
            start = t + 1
        elif s >= THRESHOLD:
            return min(start, t), t
    return None


def _streams(events: pd.DataFrame) -> dict[Stream, pd.DataFrame]:
    """Each stream's outcomes, one row per claim, in remit-date order."""
    out: dict[Stream, pd.DataFrame] = {}
    by_proc = events.dropna(subset=["procedure_code"])
    for (payer, code), rows in by_proc.groupby(["payer_id", "procedure_code"], sort=True):
        out[Stream("procedure", payer, code)] = rows
    per_claim = events.drop_duplicates("claim_id")
    for payer, rows in per_claim.groupby("payer_id", sort=True):
        for reason in rows.loc[rows["denied"], "denial_category"].dropna().unique():
            hit = rows["denied"] & (rows["denial_category"] == reason)
            out[Stream("category", payer, str(reason))] = rows.assign(denied=hit)
    return out


def detect(
    tables: dict[str, pd.DataFrame], reference_end: pd.Timestamp, as_of: pd.Timestamp
) -> list[dict]:
    """Alerts for every stream whose denial rate rose after ``reference_end`` (outcomes known by
    ``as_of``), earliest detection first."""
    events = outcome_events(tables)
    events = events[events["remit_date"] <= as_of]
    payer_rate = events.drop_duplicates("claim_id").groupby("payer_id")["denied"].mean()
    alerts = []
    for stream, rows in _streams(events).items():
        before = rows[rows["remit_date"] < reference_end]
        after = rows[rows["remit_date"] >= reference_end]
        if len(before) < MIN_REFERENCE or after.empty:
            continue
        prior = (
            payer_rate[stream.payer_id] if stream.kind == "procedure" else before["denied"].mean()
        )
        p0 = (before["denied"].sum() + PRIOR_WEIGHT * prior) / (len(before) + PRIOR_WEIGHT)
        p0 = float(np.clip(p0, 0.005, 0.9))
        found = _cusum(after["denied"].to_numpy(), p0)
        if found is not None:
            alerts.append(_alert(stream, before, after, p0, *found))
    return sorted(alerts, key=lambda a: (a["detected_on"], a["payer_id"]))


def _alert(stream: Stream, before, after, p0: float, start: int, alarm: int) -> dict:
    since = after.iloc[start : alarm + 1]
    carcs = since.loc[since["denied"], "denial_carc"].dropna().astype(str)
    reasons = since.loc[since["denied"], "denial_category"].dropna()
    category = (
        stream.key
        if stream.kind == "category"
        else (reasons.mode().iloc[0] if len(reasons) else None)
    )
    rate = float(since["denied"].mean())
    what = f"{stream.key} claims" if stream.kind == "procedure" else f"{stream.key} denials"
    return {
        "kind": f"denial_rate_rise_by_{stream.kind}",
        "payer_id": stream.payer_id,
        "procedure_codes": [stream.key] if stream.kind == "procedure" else [],
        "category": category,
        "started_on": since["remit_date"].iloc[0].date().isoformat(),
        "detected_on": since["remit_date"].iloc[-1].date().isoformat(),
        "rate_before": round(p0, 4),
        "claims_before": len(before),
        "rate_since": round(rate, 4),
        "claims_since": len(since),
        "carcs": list(carcs.value_counts().index[:3]),
        "says": f"{stream.payer_id}: {what} rose from {p0:.0%} to {rate:.0%} of {len(since)} "
        f"outcomes since {since['remit_date'].iloc[0].date()}",
    }
