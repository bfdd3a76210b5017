"""Payer behaviour change: a sequential detector on denial rates, per payer × procedure,
payer × procedure × policy reason and payer × reason, that says within days when a payer starts
denying something new.

Each stream is the first-pass outcomes of one payer's claims (with a procedure, for one reason,
or both), in remit-date order: an outcome is known from its remit date, never before. The
reference rate p0 is the stream's rate before ``reference_end`` (shrunk towards the payer's for
the same reason, so a stream with few claims is not a coin toss). From then on a Bernoulli CUSUM
(Page's test) accumulates the log-likelihood ratio of "the rate rose to p1" against "it stayed
p0":

    S_t = max(0, S_{t-1} + x_t log(p1 / p0) + (1 - x_t) log((1 - p1) / (1 - p0)))

with p1 = max(2 p0, p0 + ``MIN_RISE``), and alarms when S_t ≥ ``THRESHOLD``, then restarts at 0.
``started_on`` is the first outcome after S last stood at 0 (the CUSUM's estimate of the change
point), ``detected_on`` the outcome that crossed the threshold. The streams that alarmed are
grouped into one alert per payer and reason, naming the codes.

False alarms: a single stream's expected run between them (ARL0) grows like e^h; with thousands
of streams what matters is the count per payer-year, measured by ``bench/monitor.py`` on worlds
without the change (h = 11: 0.15-0.46 per payer-year on held-out seeds, docs/monitoring.md).

Only rises are detected: a payer that starts paying what it denied is good news, and the
worklist sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.codes import initial_outcomes

THRESHOLD = 11.0
MIN_RISE = 0.08
MIN_REFERENCE = 30  # outcomes a stream needs before reference_end to be watched
PRIOR_WEIGHT = 20.0  # pseudo-outcomes pulling a stream's p0 towards its payer's rate


#: Reasons a payer's policy attaches to a procedure (a new prior-authorization list, a coding
#: or bundling edit, a coverage change): watched per payer x procedure x reason as well, where a
#: policy change is concentrated. Eligibility, coordination of benefits, timely filing and
#: duplicates follow the patient or the office, not the code, and are watched per payer.
POLICY_REASONS = ("authorization", "non_covered", "medical_necessity", "coding", "bundling")

#: What to do about a rise, by the reason the new denials give.
ACTIONS = {
    "authorization": "check the payer's prior-authorization list for these codes, obtain "
    "authorization before submitting the claims still on hand, and appeal the denied ones with "
    "the authorization number",
    "non_covered": "read the payer's coverage policy for these codes; get an ABN or waiver signed "
    "before the service, or bill the patient's secondary",
    "medical_necessity": "check the payer's medical policy (covered diagnoses) for these codes "
    "and send the documentation that supports necessity with the claim or the appeal",
    "coding": "check the payer's coding edits for these codes (modifiers, code pairs, "
    "diagnosis pointers) and correct the claims before resubmission",
    "bundling": "check the payer's NCCI/bundling edits for these code pairs; add a distinct-"
    "service modifier only where the documentation supports it",
    "eligibility": "verify coverage (270/271) before every visit for this payer's patients and "
    "update the coverage on file",
    "documentation": "ask the payer which records it now requires and attach them",
    "timely_filing": "check this payer's filing limit and the submission backlog",
    "coordination_of_benefits": "confirm the primary payer with the patient and the payers",
    "duplicate": "check for claims resubmitted without a frequency code 7",
    "other": "read the CARCs and RARCs on the new denials and call the payer's provider line",
}


@dataclass(frozen=True)
class Stream:
    payer_id: str
    procedure: str | None  # None: all the payer's claims
    reason: str | None  # None: any denial

    @property
    def kind(self) -> str:
        return "denial_rate_rise_by_" + (
            "procedure_and_category"
            if self.procedure and self.reason
            else "procedure"
            if self.procedure
            else "category"
        )


def outcome_events(
    tables: dict[str, pd.DataFrame], outcome: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per decided claim and procedure on it: payer, procedure, remit date, denied,
    reason and main CARC (first-pass outcomes, ``features.codes.initial_outcomes``, unless
    the caller has them)."""
    if outcome is None:
        outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    claims = tables["claims"][["claim_id", "payer_id"]].merge(outcome, on="claim_id")
    lines = tables["claim_lines"][["claim_id", "procedure_code"]].dropna().drop_duplicates()
    frame = claims.merge(lines, on="claim_id", how="left")
    frame["denied"] = frame["denied"].astype(bool)
    return frame.sort_values(["remit_date", "claim_id"], kind="stable").reset_index(drop=True)


def _cusum(x: np.ndarray, p0: float) -> list[tuple[int, int]]:
    """(start, alarm) positions of every alarm in ``x`` (0/1 outcomes); the statistic restarts
    at 0 after each, so a lasting change alarms again and a false alarm is counted as one.

    Page's S_t = max(0, S_{t-1} + step_t) is a walk's height above its running minimum (or
    above 0 while the walk has not gone below it), so cumulative sums over blocks of outcomes
    compute it without a Python loop over them. Blocks grow fourfold while nothing alarms and
    start small again after an alarm, so a stream that alarms often redoes little. The start is
    the first outcome after S last stood at 0."""
    p1 = min(max(2 * p0, p0 + MIN_RISE), 0.99)
    step = np.where(x.astype(bool), np.log(p1 / p0), np.log((1 - p1) / (1 - p0)))
    s, start, alarms, t0, block = 0.0, 0, [], 0, 64
    while t0 < len(x):
        walk = s + np.cumsum(step[t0 : t0 + block])
        height = walk - np.minimum(np.minimum.accumulate(walk), 0.0)
        over = height >= THRESHOLD
        end = int(over.argmax()) if over.any() else len(height) - 1
        at_zero = np.flatnonzero(height[: end + 1] == 0.0)
        start = t0 + int(at_zero[-1]) + 1 if len(at_zero) else start
        if over.any():
            alarms.append((start, t0 + end))
            s, start, block = 0.0, t0 + end + 1, 64
        else:
            s, block = float(height[end]), min(4 * block, 1 << 16)
        t0 += end + 1
    return alarms


def _streams(events: pd.DataFrame) -> Iterator[tuple[Stream, np.ndarray, np.ndarray]]:
    """Each stream as (stream, positions of its outcomes in ``events``, in remit-date order,
    and the 0/1 outcome it counts at each). Arrays, not frames: a million claims make
    thousands of streams, and only an alarm needs its rows."""
    denied = events["denied"].to_numpy(dtype=bool)
    reason = events["denial_category"].to_numpy(dtype=object)
    by_proc = events.groupby(["payer_id", "procedure_code"], sort=True).indices
    for (payer, code), at in by_proc.items():
        yield Stream(payer, code, None), at, denied[at]
        for why in POLICY_REASONS:
            yield Stream(payer, code, why), at, denied[at] & (reason[at] == why)
    first = np.flatnonzero(~events["claim_id"].duplicated().to_numpy())
    for payer, at in events.iloc[first].groupby("payer_id", sort=True).indices.items():
        at = first[at]
        for why in sorted({r for r in reason[at][denied[at]] if isinstance(r, str)}):
            yield Stream(payer, None, why), at, denied[at] & (reason[at] == why)


def _payer_rates(events: pd.DataFrame, reference_end: pd.Timestamp) -> pd.DataFrame:
    """Per payer, before ``reference_end``: the denial rate ('any') and each reason's rate."""
    claims = events[events["remit_date"] < reference_end].drop_duplicates("claim_id")
    rates = pd.crosstab(
        claims["payer_id"], claims["denial_category"].where(claims["denied"]).fillna("paid"),
        normalize="index",
    )  # fmt: skip
    rates["any"] = 1 - rates.get("paid", 0.0)
    return rates.reindex(columns=[*POLICY_REASONS, "any"], fill_value=0.0)


def detect(
    tables: dict[str, pd.DataFrame],
    reference_end: pd.Timestamp,
    as_of: pd.Timestamp,
    outcome: pd.DataFrame | None = None,
) -> list[dict]:
    """Alerts for every payer and reason whose denial rate rose after ``reference_end``
    (outcomes known by ``as_of``): the streams that alarmed, grouped, earliest first."""
    events = outcome_events(tables, outcome)
    events = events[events["remit_date"] <= as_of].reset_index(drop=True)
    payer_rates = _payer_rates(events, reference_end)
    day = events["remit_date"].to_numpy()
    alarms = []
    for stream, at, hit in _streams(events):
        n = int(np.searchsorted(day[at], np.datetime64(reference_end)))  # outcomes before
        if n < MIN_REFERENCE or n == len(at) or stream.payer_id not in payer_rates.index:
            continue
        prior = (
            float(hit[:n].mean())
            if stream.procedure is None
            else float(payer_rates.at[stream.payer_id, stream.reason or "any"])
        )
        p0 = float(np.clip((hit[:n].sum() + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT), 0.005, 0.9))
        for start, alarm in _cusum(hit[n:], p0):
            rows = at[n + start : n + alarm + 1]
            since = events.iloc[rows].assign(denied=hit[n + start : n + alarm + 1])
            alarms.append(_evidence(stream, n, since, p0))
    return group_alarms(alarms)


def _evidence(stream: Stream, before: int, since: pd.DataFrame, p0: float) -> dict:
    """One stream's alarm: the rates before and since the change point, counts and codes."""
    denied = since[since["denied"]]
    reasons = denied["denial_category"].dropna()
    return {
        "kind": stream.kind,
        "payer_id": stream.payer_id,
        "procedure_code": stream.procedure,
        "category": stream.reason or (reasons.mode().iloc[0] if len(reasons) else None),
        "started_on": since["remit_date"].iloc[0].date().isoformat(),
        "detected_on": since["remit_date"].iloc[-1].date().isoformat(),
        "rate_before": round(p0, 4),
        "claims_before": before,
        "rate_since": round(float(since["denied"].mean()), 4),
        "claims_since": len(since),
        "carcs": list(denied["denial_carc"].dropna().astype(str).value_counts().index[:3]),
    }


def group_alarms(alarms: list[dict]) -> list[dict]:
    """One alert per payer and reason: the codes whose streams alarmed, the earliest change
    point and detection, each stream's evidence, a sentence and what to do."""
    groups: dict[tuple[str, str | None], list[dict]] = {}
    for alarm in sorted(alarms, key=lambda a: (a["detected_on"], a["payer_id"])):
        groups.setdefault((alarm["payer_id"], alarm["category"]), []).append(alarm)
    return sorted(
        (_alert(payer, reason, members) for (payer, reason), members in groups.items()),
        key=lambda a: (a["detected_on"], a["payer_id"]),
    )


def _alert(payer: str, reason: str | None, members: list[dict]) -> dict:
    codes = list(dict.fromkeys(m["procedure_code"] for m in members if m["procedure_code"]))
    first = members[0]
    what = f"{reason or 'any'} denials" + (f" on {', '.join(codes)}" if codes else "")
    return {
        "kind": first["kind"],
        "payer_id": payer,
        "procedure_codes": codes,
        "category": reason,
        "started_on": min(m["started_on"] for m in members),
        "detected_on": first["detected_on"],
        "rate_before": first["rate_before"],
        "rate_since": first["rate_since"],
        "claims_since": first["claims_since"],
        "carcs": list(dict.fromkeys(c for m in members for c in m["carcs"]))[:5],
        "says": f"{payer}: {what} rose from {first['rate_before']:.0%} to "
        f"{first['rate_since']:.0%} of {first['claims_since']} outcomes since "
        f"{first['started_on']}",
        "do": ACTIONS.get(reason or "other", ACTIONS["other"]),
        "streams": members,
    }
