"""One monitoring pass as of a day: drift, performance before outcomes and payer-behaviour alerts.

Everything is read as known by ``as_of`` (``features.as_of.known_by``): features are the
point-in-time matrix of every claim known then (history as it stood at each claim's
submission), outcomes are the remits dated by then. The reference is the model's training
window (``metadata["windows"]``: start to valid_start); "recent" is the claims submitted in the
last ``RECENT_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.as_of import known_by
from features.codes import initial_outcomes
from features.contract import DENIAL_CATEGORIES
from features.eligibility import FEATURES as ELIGIBILITY_FEATURES
from features.registry import HISTORY_FEATURES
from training.metrics import roc_auc
from training.model import ClaimriskModel
from training.monitor import drift as d
from training.monitor.changes import detect
from training.monitor.performance import expected_denial_rate, expected_roc_auc

#: Claims submitted in the last this many days are "recent" for drift and the estimates.
RECENT_DAYS = 30
#: Months of submissions the performance table shows, estimated beside realised.
PERFORMANCE_MONTHS = 4
#: Reference claims read for drift: a seeded sample when the training window holds more.
REFERENCE_SAMPLE = 50_000
OUTCOMES = ("paid", *DENIAL_CATEGORIES)
#: Inputs that move with the calendar and the practice's accumulating history whatever happens
#: (the month; counts and rates of earlier claims, which a young history leaves empty): their
#: PSI is reported under ``history_features`` but not judged. A payer's changed behaviour shows
#: in the change detector and the outcome mix instead.
GROWS_BY_DESIGN = frozenset({"submission_month", *(f.name for f in HISTORY_FEATURES)})


@dataclass(frozen=True)
class Scored:
    """Every claim known as of the day, scored by the model, with what its remits say so far."""

    claims: pd.DataFrame  # claim_id, payer_id, payer_type, submission_date, remit_date
    x: np.ndarray
    p: np.ndarray  # calibrated P(denied)
    reasons: np.ndarray  # P(category | denied), DENIAL_CATEGORIES columns
    denied: np.ndarray  # 1/0, NaN while no remit is known
    outcome: np.ndarray  # "paid", a denial category, or None while undecided

    def where(self, mask: np.ndarray) -> Scored:
        return Scored(
            self.claims[mask].reset_index(drop=True),
            self.x[mask],
            self.p[mask],
            self.reasons[mask],
            self.denied[mask],
            self.outcome[mask],
        )


def score_known(
    model: ClaimriskModel, known: dict[str, pd.DataFrame], rows: np.ndarray, outcome: pd.DataFrame
) -> Scored:
    """Point-in-time features, probabilities and first-pass outcomes of the claims of ``known``
    at positions ``rows`` (history from all of them); ``outcome`` is ``initial_outcomes``
    aligned to ``known["claims"]``, one row per claim in its order."""
    x = model.pipeline.point_in_time_matrix(known, rows, outcome.reset_index())
    claims = known["claims"][["claim_id", "payer_id", "submission_date"]].iloc[rows]
    outcome = outcome.iloc[rows]
    denied = outcome["denied"].astype("float64").to_numpy()
    reason = outcome["denial_category"].to_numpy(dtype=object)
    said = np.where(denied == 1, reason, "paid")
    types = known["payers"].set_index("payer_id")["payer_type"]
    claims = claims.reset_index(drop=True)
    claims["payer_type"] = claims["payer_id"].map(types).astype(object)
    claims["remit_date"] = outcome["remit_date"].to_numpy()  # the first-pass remit's
    return Scored(
        claims,
        x,
        model.denial_probability(x),
        model.category_probabilities(x),
        denied,
        np.where(np.isnan(denied), None, said),
    )


def _watched_rows(
    claims: pd.DataFrame, remitted: pd.Series, reference: pd.Series, as_of: pd.Timestamp
) -> np.ndarray:
    """Positions of the claims a pass reads: a sample of the reference window (PSI needs no
    more than ``REFERENCE_SAMPLE``), the months of the performance table, and every claim
    remitted in the last ``RECENT_DAYS``."""
    ref = np.flatnonzero(reference.to_numpy())
    if len(ref) > REFERENCE_SAMPLE:
        ref = np.random.default_rng(0).choice(ref, REFERENCE_SAMPLE, replace=False)
    first = (as_of.to_period("M") - (PERFORMANCE_MONTHS - 1)).to_timestamp()
    late = (claims["submission_date"] >= first) | (
        remitted > as_of - pd.Timedelta(days=RECENT_DAYS)
    )
    return np.union1d(ref, np.flatnonzero(late.to_numpy()))


def monitor(
    model: ClaimriskModel, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, watch_days: int
) -> dict[str, Any]:
    """The pass as of ``as_of``: drift of recent claims against the training window, estimated
    beside realised performance, and alerts on outcomes known by then (the last ``watch_days``
    watched against the earlier ones)."""
    reference_end = as_of - pd.Timedelta(days=watch_days)
    known = known_by(tables, as_of)
    claims = known["claims"]
    outcome = initial_outcomes(known["remits"], known["remit_adjustments"])
    per_claim = outcome.set_index("claim_id").reindex(claims["claim_id"])
    windows = model.metadata.get("windows") or {}
    submitted = claims["submission_date"]
    reference = (submitted >= windows.get("start", submitted.min())) & (
        submitted < windows.get("valid_start", reference_end)
    )
    first_remit = pd.Series(per_claim["remit_date"].to_numpy(), index=claims.index)
    rows = _watched_rows(claims, first_remit, reference, as_of)
    scored = score_known(model, known, rows, per_claim)
    since = as_of - pd.Timedelta(days=RECENT_DAYS)
    recent = (scored.claims["submission_date"] > since).to_numpy()
    remitted = (scored.claims["remit_date"] > since).to_numpy()
    in_reference = reference.to_numpy()[rows]
    unread = _unread(known)
    return {
        "as_of": as_of.date().isoformat(),
        "reference_end": reference_end.date().isoformat(),
        "model": {k: model.metadata.get(k) for k in ("model_uri", "trained_at", "windows")},
        "alerts": detect(known, reference_end, as_of, outcome),
        "notes": [unread] if unread else [],
        "drift": drift(
            model,
            Compared(scored.where(in_reference), scored.where(recent), scored.where(remitted)),
            ELIGIBILITY_FEATURES if unread else (),
        ),
        "performance": performance(scored, as_of),
    }


def _unread(known: dict[str, pd.DataFrame]) -> str:
    """Why the eligibility inputs are not judged ('' when the data holds 271s)."""
    eligibility = known.get("eligibility")
    if eligibility is not None and len(eligibility):
        return ""
    return (
        "no eligibility responses (271s) in the data (a store keeps none yet): the eligibility "
        "inputs read as unknown for every claim and are not judged for drift"
    )


def _span(s: Scored) -> dict[str, Any]:
    dates = s.claims["submission_date"]
    if not len(dates):
        return {"claims": 0}
    return {
        "claims": len(dates),
        "from": f"{dates.min():%Y-%m-%d}",
        "to": f"{dates.max():%Y-%m-%d}",
    }


def _expected_mix(s: Scored) -> np.ndarray:
    """Expected shares of paid and of each denial reason, from the probabilities."""
    reasons = (s.p[:, None] * s.reasons).sum(axis=0)
    return np.concatenate([[(1 - s.p).sum()], reasons]) / max(len(s.p), 1)


@dataclass(frozen=True)
class Compared:
    """What drift compares: the reference claims, the recent claims (their inputs and
    predictions) and the recently remitted ones (their outcomes)."""

    reference: Scored
    recent: Scored
    remitted: Scored

    def of_payer(self, payer: str) -> Compared:
        return Compared(
            *(
                s.where((s.claims["payer_id"] == payer).to_numpy())
                for s in (self.reference, self.recent, self.remitted)
            )
        )


def drift(model: ClaimriskModel, c: Compared, not_judged: tuple[str, ...] = ()) -> dict[str, Any]:
    """Feature and prediction drift of the recent claims and the reason mix of the outcomes
    remitted recently, against the reference; overall and per payer, with one finding for each
    moderate or major shift. ``not_judged``: inputs the data cannot have (reported nowhere)."""
    out: dict[str, Any] = {"reference": _span(c.reference), "current": _span(c.recent)}
    if not len(c.reference.p) or not len(c.recent.p):
        out["skipped"] = "no claims in the reference or the recent window"
        return out
    out.update(_compare(model, c, not_judged))
    payers = []
    for payer in sorted(set(c.recent.claims["payer_id"])):
        mine = c.of_payer(payer)
        if len(mine.recent.p) >= d.MIN_CLAIMS and len(mine.reference.p) >= d.MIN_CLAIMS:
            row = _compare(model, mine, not_judged)
            row.update(features=row["features"][:5], history_features=row["history_features"][:5])
            payers.append({"payer_id": payer, "claims": len(mine.recent.p), **row})
    out["payers"] = payers
    out["findings"] = _findings(out, payers)
    return out


def _compare(model: ClaimriskModel, c: Compared, not_judged: tuple[str, ...]) -> dict[str, Any]:
    reference, recent, remitted = c.reference, c.recent, c.remitted
    pipeline = model.pipeline
    every = d.feature_drift(
        reference.x, recent.x, pipeline.feature_names, set(pipeline.categorical_features)
    )
    features = [f for f in every if f["feature"] not in {*GROWS_BY_DESIGN, *not_judged}]
    history = [f for f in every if f["feature"] in GROWS_BY_DESIGN]
    ref_out, cur_out = (s.outcome[s.outcome != None] for s in (reference, remitted))  # noqa: E711
    outcome_psi = (
        d.psi_of_shares(d.mix(ref_out, OUTCOMES), d.mix(cur_out, OUTCOMES))
        if len(ref_out) >= d.MIN_CLAIMS and len(cur_out) >= d.MIN_CLAIMS
        else None
    )
    return {
        "features": features,
        "history_features": history,
        "prediction": {
            "denial_probability_psi": round(d.psi(reference.p, recent.p), 4),
            "reason_mix_psi": round(
                d.psi_of_shares(_expected_mix(reference), _expected_mix(recent)), 4
            ),
        },
        "outcomes": {
            "decided": len(cur_out),
            "reason_mix_psi": None if outcome_psi is None else round(outcome_psi, 4),
            "reference_mix": dict(
                zip(OUTCOMES, d.mix(ref_out, OUTCOMES).round(4).tolist(), strict=True)
            ),
            "current_mix": dict(
                zip(OUTCOMES, d.mix(cur_out, OUTCOMES).round(4).tolist(), strict=True)
            ),
        },
    }


def _findings(overall: dict[str, Any], payers: list[dict]) -> list[dict]:
    """One finding per drifted quantity at moderate or major level, worst first."""
    found = []
    for scope, row in [("all payers", overall), *((p["payer_id"], p) for p in payers)]:
        for f in row["features"]:
            if f["level"] != "stable":
                found.append((scope, f"feature {f['feature']}", f["psi"]))
        for name, value in row["prediction"].items():
            if value >= d.PSI_MODERATE:
                found.append(
                    (scope, f"predicted {name.removesuffix('_psi').replace('_', ' ')}", value)
                )
        value = row["outcomes"]["reason_mix_psi"]
        if value is not None and value >= d.PSI_MODERATE:
            found.append((scope, "denial reason mix of the remits", value))
    return [
        {"scope": scope, "what": what, "psi": psi, "level": d.level(psi)}
        for scope, what, psi in sorted(found, key=lambda f: -f[2])
    ]


def _estimates(s: Scored) -> dict[str, Any]:
    """Estimated ROC AUC and denial rate of ``s``, beside the realised ones on its decided
    claims; and calibration: the expected against the realised rate on the decided."""
    decided = ~np.isnan(s.denied)
    out: dict[str, Any] = {
        "claims": len(s.p),
        "decided": int(decided.sum()),
        "estimated_roc_auc": round(expected_roc_auc(s.p), 4) if len(s.p) > 1 else None,
        "estimated_denial_rate": round(expected_denial_rate(s.p), 4) if len(s.p) else None,
    }
    y, p = s.denied[decided], s.p[decided]
    if len(y) >= 2 and 0 < y.mean() < 1:
        out["realised_roc_auc"] = round(roc_auc(y, p), 4)
        out["realised_denial_rate"] = round(float(y.mean()), 4)
        out["expected_rate_of_decided"] = round(float(p.mean()), 4)
    return out


def _category_estimates(s: Scored) -> list[dict]:
    """Per denial reason: the ROC AUC of P(denied for it) expected and realised."""
    rows = []
    decided = ~np.isnan(s.denied)
    for j, reason in enumerate(DENIAL_CATEGORIES):
        q = s.p * s.reasons[:, j]
        row: dict[str, Any] = {
            "category": reason,
            "estimated_roc_auc": round(expected_roc_auc(q), 4),
        }
        hit = (s.outcome[decided] == reason).astype(float)
        if 0 < hit.mean() < 1:
            row["realised_roc_auc"] = round(roc_auc(hit, q[decided]), 4)
        rows.append(row)
    return rows


def performance(s: Scored, as_of: pd.Timestamp) -> dict[str, Any]:
    """Estimated beside realised performance by submission month (the latest months are mostly
    estimate: their outcomes are still arriving), and for the last ``RECENT_DAYS`` by payer type
    and by denial reason."""
    month = s.claims["submission_date"].dt.to_period("M")
    first = as_of.to_period("M") - (PERFORMANCE_MONTHS - 1)
    months = [
        {"month": str(m), **_estimates(s.where((month == m).to_numpy()))}
        for m in pd.period_range(first, as_of.to_period("M"), freq="M")
        if (month == m).any()
    ]
    recent = s.where(
        (s.claims["submission_date"] > as_of - pd.Timedelta(days=RECENT_DAYS)).to_numpy()
    )
    types = [
        {"payer_type": t, **_estimates(recent.where((recent.claims["payer_type"] == t).to_numpy()))}
        for t in sorted(set(recent.claims["payer_type"].dropna()))
    ]
    return {
        "recent": _estimates(recent) if len(recent.p) else {"claims": 0},
        "months": months,
        "payer_types": types,
        "categories": _category_estimates(recent) if len(recent.p) > 1 else [],
    }
