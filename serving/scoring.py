"""What the endpoints compute, as functions of a model and validated requests (no HTTP here).

The service and the offline twins (``claimrisk score`` / ``claimrisk rank``) call the same
functions, so a batch file and an HTTP call give the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from features.codes import CARC_CATEGORY, NOT_A_DENIAL
from features.contract import CLAIM_LINES, CLAIMS, DENIAL_CATEGORIES
from serving import explain
from training.model import ClaimriskModel

HEADER = tuple(f.name for f in CLAIMS.fields)
LINE = tuple(f.name for f in CLAIM_LINES.fields if f.name != "claim_id")
CATEGORIES = np.asarray(DENIAL_CATEGORIES, dtype=object)


def columns(claims: Sequence[Any]) -> tuple[dict[str, list], dict[str, list]]:
    """Validated claim objects (header + lines) → column lists for the feature pipeline."""
    header = {name: [getattr(c, name) for c in claims] for name in HEADER}
    lines: dict[str, list] = {"claim_id": []}
    lines.update({name: [] for name in LINE})
    for c in claims:
        for line in c.lines:
            lines["claim_id"].append(c.claim_id)
            for name in LINE:
                lines[name].append(getattr(line, name))
    return header, lines


def unknown_codes(levels: dict[str, dict[str, int]], claim: Any) -> list[str]:
    """The claim's codes the model never saw in training: scored, but worth a second look."""
    out = []
    if claim.payer_id not in levels["payer_id"]:
        out.append(f"payer_id={claim.payer_id}")
    provider = claim.rendering_npi or claim.billing_npi
    if provider not in levels["provider_npi"]:
        out.append(f"provider_npi={provider}")
    diagnosis = claim.diagnosis_codes.split("|", 1)[0]
    if diagnosis not in levels["primary_diagnosis"]:
        out.append(f"primary_diagnosis={diagnosis}")
    for line in claim.lines:
        if line.procedure_code and line.procedure_code not in levels["primary_procedure"]:
            out.append(f"procedure_code={line.procedure_code}")
    return out


def score(model: ClaimriskModel, claims: Sequence[Any], explain_mode: str) -> list[dict]:
    """Per claim: calibrated denial probability, band, likely categories, factors, actions."""
    header, lines = columns(claims)
    x = model.features(header, lines)
    p = model.denial_probability(x)
    band = model.risk_band(p)
    cats = model.category_probabilities(x)
    top = np.argsort(-cats, axis=1)[:, :3]
    if explain_mode == "all":
        explained = np.ones(len(x), dtype=bool)
    elif explain_mode == "flagged":
        explained = band != "low"
    else:
        explained = np.zeros(len(x), dtype=bool)
    contributions = model.denial_contributions(x[explained]) if explained.any() else None
    rows = np.flatnonzero(explained)
    position = {r: i for i, r in enumerate(rows)}
    out = []
    for i, claim in enumerate(claims):
        item: dict[str, Any] = {
            "claim_id": claim.claim_id,
            "denial_probability": round(float(p[i]), 6),
            "risk_band": band[i],
            "likely_categories": [
                {"category": CATEGORIES[k], "probability": round(float(cats[i, k]), 4)}
                for k in top[i]
            ],
            "unknown_codes": unknown_codes(model.pipeline.levels_, claim),
        }
        if explained[i]:
            context = explain.Context(
                values=x[i],
                procedure=claim.lines[0].procedure_code if claim.lines else None,
                diagnosis=claim.diagnosis_codes.split("|", 1)[0],
                payer=claim.payer_id,
            )
            found = explain.factors(contributions[position[i]], context)
            item["factors"] = found
            item["actions"] = explain.actions(found)
        out.append(item)
    return out


def denial_category(carc_codes: Sequence[str]) -> str:
    """The category of the first denial-class CARC among ``carc_codes`` ('CO-197', '197', …).

    RARCs (letters first, e.g. N54) and non-denial CARCs are skipped; none left → 'other'.
    """
    for code in carc_codes:
        number = code.strip().upper().split("-")[-1]
        if number in NOT_A_DENIAL:
            continue
        if number in CARC_CATEGORY:
            return CARC_CATEGORY[number]
    return "other"


def rank(
    model: ClaimriskModel,
    denials: Sequence[Any],
    as_of: dt.date,
    capacity: int | None,
) -> list[dict]:
    """The worklist, best first (``training.worklist`` ordering via the bundle)."""
    header, lines = columns([d.claim for d in denials])
    x = model.features(header, lines)
    categories = np.array([denial_category(d.carc_codes) for d in denials], dtype=object)
    window = model.pipeline.appeal_window_days(np.array(header["payer_id"], dtype=object))
    days_left = np.empty(len(denials))
    for i, d in enumerate(denials):
        if d.appeal_deadline is not None:
            days_left[i] = (d.appeal_deadline - as_of).days
        elif np.isnan(window[i]):
            days_left[i] = np.nan  # unknown payer: no deadline known
        else:
            days_left[i] = (d.denial_date - as_of).days + window[i]
    amount = np.array([d.denied_amount for d in denials], dtype=float)
    ranked = model.rank_denials(x, categories, amount, days_left)
    order = np.argsort(ranked["priority"].to_numpy(), kind="stable")
    out = []
    for i in order:
        r = ranked.iloc[i]
        out.append(
            {
                "claim_id": header["claim_id"][i],
                "priority": int(r["priority"]),
                "category": categories[i],
                "recovery_probability": round(float(r["recovery_probability"]), 4),
                "recoverable_amount": round(float(r["recoverable_amount"]), 2),
                "expected_recovery": round(float(r["expected_recovery"]), 2),
                "effort_hours": float(r["effort_hours"]),
                "days_to_deadline": None if np.isnan(days_left[i]) else int(days_left[i]),
                "expired": bool(r["expired"]),
                "next_step": r["next_step"],
                "within_capacity": capacity is None or int(r["priority"]) <= capacity,
                "unknown_codes": unknown_codes(model.pipeline.levels_, denials[i].claim),
            }
        )
    return out
