"""The one scoring path: claims in the contract's shape in, scores and rejects out.

Every way into scoring calls these functions: the HTTP service (``serving/routes``), the offline
``claimrisk score`` / ``claimrisk rank``, the MLflow pyfunc (``training.tracking``) and the
benchmarks. They live beside the bundle rather than in ``serving`` because the pyfunc, a training
artifact, must run them too, and dependencies point one way (serving → training → features).

``score_claims`` validates frames with ``features.validate.validate_claims`` (the checks of
``claimrisk validate``) and scores only what passed; every claim that did not is in ``rejects``
with its field and rule, never dropped. ``score_valid`` is the part after validation, which the
API reaches through request models built from the same contract (``serving/schemas.py``,
``features.validate.check_claim``): the pandas validator costs ~60 ms for one claim, the request
models ~0.05 ms, and a test proves they reject the same claims.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.codes import denial_categories
from features.contract import DENIAL_CATEGORIES
from features.labels import appeal_deadline
from features.validate import REJECT_COLUMNS, validate_claims
from features.x12.claims837 import NOT_IN_837
from features.x12.ingest import Ingested
from training import explain, fixes
from training.edits.book import EditBook
from training.model import ClaimriskModel
from training.unknowns import marginal_contributions, marginalise

Explain = Literal["all", "flagged", "none"]
CATEGORIES = np.asarray(DENIAL_CATEGORIES, dtype=object)
#: The flat shape of a score (pyfunc output, offline files): the API's fields, one column each.
FLAT_COLUMNS = (
    "claim_id",
    "status",
    "denial_probability",
    "risk_band",
    *(f"category_{k}{s}" for k in (1, 2, 3) for s in ("", "_probability")),
    "factors",
    "actions",
    "fixes",
    "edits",
    "unknown_codes",
    "unknown_inputs",
    "denial_probability_low",
    "denial_probability_high",
    "problems",
)


@dataclass(frozen=True)
class Scored:
    """Scores of the claims that passed validation (API shape) and the problems of the rest."""

    scores: list[dict[str, Any]]
    rejects: pd.DataFrame  # features.validate.REJECT_COLUMNS

    @property
    def rejected_ids(self) -> list[str]:
        return list(dict.fromkeys(self.rejects["claim_id"].dropna()))


def score_claims(
    model: ClaimriskModel,
    claims: pd.DataFrame,
    lines: pd.DataFrame,
    explain_mode: Explain,
    unknown: Sequence[str] = (),
    eligibility: pd.DataFrame | None = None,
    edits: EditBook | None = None,
) -> Scored:
    """Validate, then score every claim that passed (input order), each reading the latest of
    ``eligibility``'s valid responses for its patient and payer."""
    typed, rejects = validate_claims(claims, lines, eligibility=eligibility)
    if "claims" not in typed or "claim_lines" not in typed:
        return Scored([], rejects)
    bad = set(rejects["claim_id"].dropna())
    ok_claims = typed["claims"][~typed["claims"]["claim_id"].isin(bad)]
    ok_lines = typed["claim_lines"][typed["claim_lines"]["claim_id"].isin(ok_claims["claim_id"])]
    if len(ok_claims) == 0:
        return Scored([], rejects)
    responses = typed.get("eligibility")
    if responses is not None:  # the responses rejects names are left out, not guessed at
        bad_rows = rejects.loc[rejects["table"] == "eligibility", "row"].dropna().astype(int) - 1
        responses = responses.drop(index=bad_rows.unique())
    scores = score_valid(model, ok_claims, ok_lines, explain_mode, unknown, responses, edits)
    return Scored(scores, rejects)


@dataclass(frozen=True)
class ScoredX12:
    """Scores of the claims an 837 gave, and everything in it that could not be read."""

    scored: Scored
    claim_ids: list[str]  # every claim read, in file order
    read_errors: list[dict[str, Any]]  # file, segment, what, id, reason


def score_x12(
    model: ClaimriskModel,
    ingested: Ingested,
    explain_mode: Explain,
    edits: EditBook | None = None,
) -> ScoredX12:
    """Score the claims of 837 content read by ``features.x12.ingest``.

    The columns an 837 never carries (``NOT_IN_837``) are unknown, not absent, and so are the
    eligibility responses unless 271s came with the claims. A claim or
    transaction set the reader refused is a read error naming its segment; an 835 in the
    content is one too (remits are loaded into the store, not scored).
    """
    errors = [
        {"file": r.file, "segment": r.position, "what": r.what, "id": r.id, "reason": r.reason}
        for f in ingested.files
        for r in f.rejected
    ]
    errors += [
        {"file": f.path.name, "segment": 0, "what": "file", "id": "", "reason": f.error}
        for f in ingested.files
        if f.error
    ]
    errors += [
        {
            "file": f.path.name,
            "segment": 0,
            "what": "file",
            "id": "",
            "reason": "an 835 holds remits, not claims to score: load it with `claimrisk db load`",
        }
        for f in ingested.files
        if f.remits
    ]
    claims, lines = ingested.tables["claims"], ingested.tables["claim_lines"]
    responses = ingested.tables["eligibility"]  # 271s sent beside the 837s
    # without them, whether the office holds a response is unknown too, not "none on file"
    unknown = NOT_IN_837 if len(responses) else (*NOT_IN_837, "eligibility")
    scored = (
        score_claims(model, claims, lines, explain_mode, unknown, responses, edits)
        if len(claims)
        else Scored([], pd.DataFrame(columns=list(REJECT_COLUMNS)))
    )
    return ScoredX12(scored, claims["claim_id"].tolist(), errors)


def score_valid(
    model: ClaimriskModel,
    claims: pd.DataFrame | dict,
    lines: pd.DataFrame | dict,
    explain_mode: Explain,
    unknown: Sequence[str] = (),
    eligibility: pd.DataFrame | None = None,
    edits: EditBook | None = None,
) -> list[dict[str, Any]]:
    """Per validated claim: calibrated denial probability, band, likely categories, unknown
    codes and, for explained claims, factors, actions and each fix re-scored
    (``training.fixes``). ``eligibility`` holds the responses on file for the claims' patients
    (``features.eligibility``); with an edit book, each claim lists the enabled payer edits it
    trips (``training.edits``).

    ``unknown`` names contract columns the claims cannot tell (an 837 has no eligibility check
    date): they are marginalised (``training.unknowns``), and each score says which inputs were
    unknown and the range the score may move in once they are known.
    """
    encoded = model.pipeline.encode(claims, lines, eligibility)
    x = encoded.matrix
    risk = _risk(model, x, unknown)
    band = model.risk_band(risk.probability)
    explained = {"all": np.ones(len(x), bool), "none": np.zeros(len(x), bool)}.get(
        explain_mode, band != "low"
    )
    rows = np.flatnonzero(explained)
    contributions = None
    if len(rows):
        contributions = (
            model.denial_contributions(x[rows])
            if not unknown or model.donors is None
            else marginal_contributions(model, x[rows], unknown)
        )
    position = {r: i for i, r in enumerate(rows.tolist())}
    fixed = _fixes(model, claims, lines, rows, risk.probability, unknown, eligibility)
    tripped = edits.trips(claims, lines, eligibility) if edits is not None else None
    out = []
    for i, claim_id in enumerate(_claim_ids(claims)):
        item = _item(claim_id, i, risk, band[i], encoded.unseen[i], unknown)
        if tripped is not None:
            item["edits"] = tripped[i]
        if i in position:
            context = explain.Context(
                values=x[i],
                procedure=encoded.procedure[i],
                diagnosis=encoded.diagnosis[i],
                payer=encoded.payer[i],
                names=model.pipeline.feature_names,
                levels=model.pipeline.categories_,
            )
            item["factors"] = explain.factors(contributions[position[i]], context)
            item["actions"] = explain.actions(item["factors"])
            item["fixes"] = fixed[i]
        out.append(item)
    return out


@dataclass(frozen=True)
class _Risk:
    """Denial probability and P(category | denied), marginalised over the unknown inputs (with
    the range of the probability over them) or plain."""

    probability: np.ndarray
    categories: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def _risk(model: ClaimriskModel, x: np.ndarray, unknown: Sequence[str]) -> _Risk:
    """The scoring path's probabilities of encoded claims: every score and every re-scored fix."""
    if unknown and model.donors is not None:
        m = marginalise(model, x, unknown)
        return _Risk(m.probability, m.categories, m.low, m.high)
    return _Risk(model.denial_probability(x), model.category_probabilities(x))


def _item(
    claim_id: str, i: int, risk: _Risk, band: str, unseen: list[str], unknown: Sequence[str]
) -> dict[str, Any]:
    top = np.argsort(-risk.categories[i])[:3]
    item: dict[str, Any] = {
        "claim_id": claim_id,
        "denial_probability": round(float(risk.probability[i]), 6),
        "risk_band": band,
        "likely_categories": [
            {"category": CATEGORIES[k], "probability": round(float(risk.categories[i, k]), 4)}
            for k in top
        ],
        "unknown_codes": unseen,
    }
    if unknown:
        item["unknown_inputs"] = list(unknown)
        item["denial_probability_range"] = (
            None
            if risk.low is None
            else [round(float(risk.low[i]), 6), round(float(risk.high[i]), 6)]
        )
    return item


def _fixes(
    model: ClaimriskModel,
    claims: pd.DataFrame | dict,
    lines: pd.DataFrame | dict,
    rows: np.ndarray,
    base: np.ndarray,
    unknown: Sequence[str],
    eligibility: pd.DataFrame | None,
) -> dict[int, list[dict[str, Any]]]:
    """Per explained claim (by row), each fix that applies, re-scored through ``_risk``."""
    if not len(rows):
        return {}
    headers, by_claim = _records(claims), _lines_by_claim(lines)
    found: list[tuple[int, dict[str, Any], dict, list]] = []
    for r in rows.tolist():
        head = headers[r]
        for n, (fix, h, ln) in enumerate(fixes.variants(head, by_claim.get(head["claim_id"], []))):
            variant_id = f"{head['claim_id']}~{n}"
            found.append((r, fix, {**h, "claim_id": variant_id},
                          [{**x, "claim_id": variant_id} for x in ln]))  # fmt: skip
    if not found:
        return {r: [] for r in rows.tolist()}
    v_claims = pd.DataFrame([f[2] for f in found])
    v_lines = pd.DataFrame([x for f in found for x in f[3]])
    checked = fixes.confirmed_coverage(v_claims, [f[1]["fix"] for f in found])
    given = [e for e in (eligibility, checked) if e is not None and len(e)]
    responses = pd.concat(given, ignore_index=True) if given else None
    after = _risk(model, model.pipeline.encode(v_claims, v_lines, responses).matrix, unknown)
    out: dict[int, list[tuple[dict, float]]] = {r: [] for r in rows.tolist()}
    for (r, fix, _, _), p in zip(found, after.probability.tolist(), strict=True):
        out[r].append((fix, p))
    return {r: fixes.ranked(float(base[r]), got) for r, got in out.items()}


def _records(claims: pd.DataFrame | dict) -> list[dict[str, Any]]:
    if isinstance(claims, pd.DataFrame):
        return claims.to_dict("records")
    names = list(claims)
    return [dict(zip(names, values, strict=True)) for values in zip(*claims.values(), strict=True)]


def _lines_by_claim(lines: pd.DataFrame | dict) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in _records(lines):
        out.setdefault(line["claim_id"], []).append(line)
    return out


def flat_scores(scored: Scored, claim_order: Sequence[str]) -> pd.DataFrame:
    """One row per claim (``FLAT_COLUMNS``), scored or rejected, in ``claim_order``.

    Lists become JSON text (factors, actions, problems) or ``|``-joined codes, so the frame
    writes to CSV and Parquet alike and carries exactly the API's fields.
    """
    by_id: dict[str, dict[str, Any]] = {}
    for s in scored.scores:
        row = {"claim_id": s["claim_id"], "status": "scored"}
        row.update({k: s[k] for k in ("denial_probability", "risk_band")})
        for k, c in enumerate(s["likely_categories"], start=1):
            row[f"category_{k}"], row[f"category_{k}_probability"] = c["category"], c["probability"]
        row["factors"] = json.dumps(s["factors"]) if s.get("factors") is not None else None
        row["actions"] = json.dumps(s["actions"]) if s.get("actions") is not None else None
        row["edits"] = json.dumps(s["edits"]) if s.get("edits") is not None else None
        row["fixes"] = json.dumps(s["fixes"]) if s.get("fixes") is not None else None
        row["unknown_codes"] = "|".join(s["unknown_codes"])
        row["unknown_inputs"] = "|".join(s.get("unknown_inputs", []))
        spread = s.get("denial_probability_range") or (None, None)
        row["denial_probability_low"], row["denial_probability_high"] = spread
        by_id[s["claim_id"]] = row
    for claim_id, problems in scored.rejects.groupby("claim_id", sort=False):
        fields = problems[["table", "row", "field", "rule", "got", "message"]]
        by_id[claim_id] = {
            "claim_id": claim_id,
            "status": "rejected",
            "problems": json.dumps(
                fields.astype(object).where(fields.notna(), None).to_dict("records")
            ),
        }
    rows = [by_id.get(c, {"claim_id": c, "status": "rejected"}) for c in dict.fromkeys(claim_order)]
    return pd.DataFrame(rows, columns=list(FLAT_COLUMNS))


# -- the worklist ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denials:
    """Open denials beside their claims (same order): what the remit said and when."""

    carc_codes: Sequence[Sequence[str]]
    denied_amount: np.ndarray
    denial_date: Sequence[dt.date]
    appeal_deadline: Sequence[dt.date | None]


def rank_valid(
    model: ClaimriskModel,
    claims: pd.DataFrame | dict,
    lines: pd.DataFrame | dict,
    denials: Denials,
    as_of: dt.date,
    capacity: int | None,
    eligibility: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The worklist, best first (``training.worklist`` ordering via the bundle).

    The category comes from the one denial rule (``features.codes.denial_categories``) and the
    deadline from ``features.labels.appeal_deadline``, as in training.
    """
    encoded = model.pipeline.encode(claims, lines, eligibility)
    categories = denial_categories(denials.carc_codes)
    payers = np.asarray(encoded.payer, dtype=object)
    window = model.pipeline.appeal_window_days(payers)
    deadline = appeal_deadline(pd.Series(pd.to_datetime(list(denials.denial_date))), window)
    given = pd.Series(pd.to_datetime(list(denials.appeal_deadline)))
    deadline = given.where(given.notna(), deadline)
    days_left = (deadline - pd.Timestamp(as_of)).dt.days.to_numpy(dtype=float)
    ranked = model.rank_denials(
        encoded.matrix, categories, denials.denied_amount, days_left, capacity
    )
    ids = _claim_ids(claims)
    out = []
    for i in np.argsort(ranked["priority"].to_numpy(), kind="stable"):
        r = ranked.iloc[i]
        priority = int(r["priority"])
        out.append(
            {
                "claim_id": ids[i],
                "priority": priority,
                "category": categories[i],
                "recovery_probability": round(float(r["recovery_probability"]), 4),
                "recoverable_amount": round(float(r["recoverable_amount"]), 2),
                "expected_recovery": round(float(r["expected_recovery"]), 2),
                "effort_hours": float(r["effort_hours"]),
                "days_to_deadline": None if np.isnan(days_left[i]) else int(days_left[i]),
                "expired": bool(r["expired"]),
                "next_step": r["next_step"],
                "within_capacity": bool(r["within_capacity"]),
                "reason": r["reason"],
                "unknown_codes": encoded.unseen[i],
            }
        )
    return out


def _claim_ids(claims: pd.DataFrame | dict) -> list[str]:
    """The claim ids of a frame or of column lists, as a list."""
    return list(claims["claim_id"])


__all__ = [
    "FLAT_COLUMNS",
    "REJECT_COLUMNS",
    "Denials",
    "Scored",
    "flat_scores",
    "rank_valid",
    "score_claims",
    "score_valid",
    "score_x12",
]
