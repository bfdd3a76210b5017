"""Request and response bodies. The claim and line models are *built from the data contract*.

``features/contract.py`` is the one definition of a claim; the API's ``Claim`` and ``ClaimLine``
are generated from its fields (types, required/optional, patterns, allowed values, bounds,
descriptions, examples), so the OpenAPI docs, request validation and the feature pipeline can
never disagree about what a claim is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, NamedTuple

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    create_model,
)

from features.codes import ADJUSTMENT_CODE
from features.contract import CLAIM_LINES, CLAIMS, ELIGIBILITY, EXTRA_NAME, MAX_DOLLARS
from features.contract import Field as ContractField
from features.extras import check_extra
from features.validate import check_claim
from features.x12.ingest import ingest_bytes

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "int": int,
    "float": float,
    "bool": bool,
    "date": dt.date,
}


def _field(f: ContractField) -> tuple[Any, Any]:
    kind: Any = PYTHON_TYPES[f.kind]
    if f.kind in ("int", "float", "bool"):  # no booleans as amounts, no "3" as a number
        kind = Annotated[kind, Strict()]
    if f.allowed:
        kind = Literal[f.allowed]  # type: ignore[valid-type]
    constraints: dict[str, Any] = {"description": f"{f.description} Expected: {f.expectation()}."}
    if f.pattern and not f.allowed:
        constraints["pattern"] = f"^(?:{f.pattern})$"  # the contract means the whole value
    if f.minimum is not None:
        constraints["ge"] = f.minimum
    if f.maximum is not None:
        constraints["le"] = f.maximum
    if f.example:
        constraints["examples"] = [f.example]
    if f.required:
        return kind, Field(..., **constraints)
    return kind | None, Field(None, **constraints)


_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

ClaimLine = create_model(
    "ClaimLine",
    __config__=_STRICT,
    __doc__=CLAIM_LINES.description,
    **{f.name: _field(f) for f in CLAIM_LINES.fields if f.name != "claim_id"},
)

#: The fields a claim's own eligibility response carries: the patient and payer are the claim's.
RESPONSE_FIELDS = ("member_id", "checked_date", "coverage_status", "reject_reason",
                   "plan_begin_date", "plan_end_date")  # fmt: skip
EligibilityResponse = create_model(
    "EligibilityResponse",
    __config__=_STRICT,
    __doc__="The latest eligibility response (271) on file for the claim's patient and payer.",
    **{name: _field(ELIGIBILITY.field(name)) for name in RESPONSE_FIELDS},
)

ExtraName = Annotated[str, StringConstraints(pattern=f"^(?:{EXTRA_NAME})$")]
ExtraValue = StrictBool | StrictInt | StrictFloat | StrictStr | None
Claim = create_model(
    "Claim",
    __config__=_STRICT,
    __doc__=CLAIMS.description,
    **{f.name: _field(f) for f in CLAIMS.fields},
    lines=(list[ClaimLine], Field(..., min_length=1, max_length=50, description="The lines.")),
    eligibility=(
        EligibilityResponse | None,  # type: ignore[valid-type]
        Field(
            None,
            description="The eligibility response (271) the office has for this claim's patient "
            "and payer, when it was checked on or before the submission date. Without one the "
            "claim is scored as one with no response on file, as training claims whose office "
            "never checked.",
        ),
    ),
    extra=(
        dict[ExtraName, ExtraValue],
        Field(
            default_factory=dict,
            max_length=50,
            description="The practice's custom features (x_... names) the model was trained "
            "with, each with a value of its trained type (GET /v1/model lists them); one left "
            "out is unknown.",
            examples=[{"x_in_network": True}],
        ),
    ),
)

Explain = Literal["all", "flagged", "none"]
HEADER = tuple(f.name for f in CLAIMS.fields)
LINE = tuple(f.name for f in CLAIM_LINES.fields if f.name != "claim_id")


class Batch(NamedTuple):
    """Validated claims as the scoring path's input: header and line columns, and the
    eligibility responses on file for them (contract shape; empty when none came)."""

    header: dict[str, list]
    lines: dict[str, list]
    eligibility: pd.DataFrame


def claim_columns(claims: Sequence[Any], responses: pd.DataFrame | None = None) -> Batch:
    """Validated claims (header + lines + their responses) → the scoring path's input.

    ``responses`` are those read from a 271 body sent with the claims; each claim's own
    ``eligibility`` object is one more, for its patient and payer."""
    header = {name: [getattr(c, name) for c in claims] for name in HEADER}
    for name in dict.fromkeys(k for c in claims for k in c.extra):
        header[name] = [c.extra.get(name) for c in claims]
    lines: dict[str, list] = {"claim_id": [], **{name: [] for name in LINE}}
    for c in claims:
        for line in c.lines:
            lines["claim_id"].append(c.claim_id)
            for name in LINE:
                lines[name].append(getattr(line, name))
    own = [
        {
            "response_id": f"{c.claim_id}:eligibility",
            "patient_id": c.patient_id,
            "payer_id": c.payer_id,
            **{name: getattr(c.eligibility, name) for name in RESPONSE_FIELDS},
            "source": "271",
        }
        for c in claims
        if c.eligibility is not None
    ]
    own_frame = pd.DataFrame(own, columns=ELIGIBILITY.columns)
    frames = [f for f in (responses, own_frame) if f is not None and len(f)]
    return Batch(header, lines, pd.concat(frames, ignore_index=True) if frames else own_frame)


def contract_problems(
    claims: Sequence[Any], where: str = "claims", extras: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The contract's rules across fields (``features.validate.check_claim``) and unique claim
    ids, on claims whose fields are already valid: what ``claimrisk validate`` would refuse;
    and each ``extra`` value against the custom features the model was trained with."""
    problems, seen = [], set()
    for i, c in enumerate(claims):
        for field, message in check_extra(c.extra, extras or {}):
            problems.append(
                {"claim": c.claim_id, "field": f"{where}[{i}].{field}", "rule": "extra",
                 "problem": message}
            )  # fmt: skip
        if c.claim_id in seen:
            problems.append(
                {
                    "claim": c.claim_id,
                    "field": f"{where}[{i}].claim_id",
                    "rule": "duplicate_key",
                    "problem": f"claim_id {c.claim_id} appears more than once in the request; "
                    "send each claim once (a corrected claim needs its own id)",
                }
            )
        seen.add(c.claim_id)
        header = {name: getattr(c, name) for name in HEADER}
        lines = [  # the fields check_claim reads; model_dump would cost 10x more per line
            {k: getattr(line, k) for k in ("line_number", "line_charge", "diagnosis_pointers")}
            for line in c.lines
        ]
        if c.eligibility is not None:
            problems += _response_problems(c, f"{where}[{i}].eligibility")
        for _table, column, rule, message in check_claim(header, lines):
            problems.append(
                {"claim": c.claim_id, "field": column, "rule": rule, "problem": message}
            )
    return problems


def _response_problems(claim: Any, where: str) -> list[dict[str, Any]]:
    """A claim's own response must be one the office could have had, and be matchable."""
    out, response = [], claim.eligibility
    if claim.patient_id is None:
        out.append(
            {"claim": claim.claim_id, "field": where, "rule": "no_patient",
             "problem": "an eligibility response is matched by patient and payer, and the claim "
             "has no patient_id: send the claim's patient_id"}
        )  # fmt: skip
    if response.checked_date > claim.submission_date:
        out.append(
            {"claim": claim.claim_id, "field": f"{where}.checked_date", "rule": "date_order",
             "problem": f"checked {response.checked_date}, after the claim's submission date "
             f"{claim.submission_date}: a response is read only by claims submitted on or "
             "after it; send the latest response checked by then"}
        )  # fmt: skip
    return out


def body_responses(text: str | None) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    """The responses of a 271 sent with the claims (``eligibility_271``), and each thing in it
    that could not be read, as request problems (nothing is scored while one stands)."""
    if not text:
        return None, []
    got = ingest_bytes(text.encode("ascii", "replace"), "eligibility_271")
    said = [f.error for f in got.files if f.error]
    said += [r.render() for f in got.files for r in f.rejected]
    said += [t for f in got.files for t in f.tolerated if "not read" in t]
    if not said and any(f.kind != "271" for f in got.files):
        said.append("eligibility_271 holds other transaction sets than 271; send only the 271s")
    problems = [
        {"claim": None, "field": "eligibility_271", "rule": "x12", "problem": message}
        for message in said
    ]
    return got.tables["eligibility"], problems


class ScoreRequest(BaseModel):
    model_config = _STRICT
    claims: list[Claim] = Field(..., min_length=1, description="1 to 10,000 claims.")  # type: ignore[valid-type]
    explain: Explain = Field(
        "flagged",
        description="Which claims get factors and actions: all, flagged (medium/high) or none.",
    )
    as_of: dt.date | None = Field(
        None,
        description="With a store: score with history strictly before this day (audits, "
        "back-tests). Default: the served, current history.",
    )
    eligibility_271: str | None = Field(
        None,
        max_length=5_000_000,
        description="X12 271 eligibility responses (005010X279A1) for the claims' patients: "
        "each claim reads the latest for its patient and payer checked by its submission date "
        "(REF*EJ names the patient, else the member id).",
    )


class Factor(BaseModel):
    feature: str
    contribution: float = Field(description="SHAP contribution to the denial log-odds.")
    reason: str
    action: str
    fixable: bool = Field(
        description="Whether a biller can act on it on this claim before it is sent."
    )
    team: str = Field(
        description="Who owns the cause: billing, front_desk, clinical, credentialing, "
        "payer_policy (a payer's rule the claim can only comply with) or practice (a custom "
        "x_ field)."
    )


class CategoryProbability(BaseModel):
    category: str
    probability: float


class FixScore(BaseModel):
    fix: str
    action: str = Field(description="What the biller changes on the claim.")
    needs: str | None = Field(
        None, description="What must be obtained first (an authorization, a 271); none: an edit."
    )
    risk: float = Field(description="The claim's denial probability as it stands.")
    risk_after: float = Field(description="Its denial probability with the fix, scored again.")
    removes: float = Field(description="risk - risk_after: what the fix is worth.")


class TrippedEdit(BaseModel):
    id: str
    says: str = Field(description="The mined rule in words, with its rate, support and since.")
    category: str
    condition: str


class ClaimScore(BaseModel):
    claim_id: str
    denial_probability: float
    risk_band: Literal["low", "medium", "high"]
    likely_categories: list[CategoryProbability]
    factors: list[Factor] | None = None
    actions: list[str] | None = None
    fixes: list[FixScore] | None = Field(
        None,
        description="Each fix that applies to an explained claim, the claim scored again with it "
        "made, most risk removed first.",
    )
    edits: list[TrippedEdit] | None = Field(
        None,
        description="The enabled payer edits (mined from history, reviewed by a person) the claim "
        "trips, highest denial rate first; present when the service has an edit book.",
    )
    unknown_codes: list[str] = Field(
        default_factory=list,
        description="Codes the model never saw in training: scored, with less confidence.",
    )
    unknown_inputs: list[str] | None = Field(
        None,
        description="Contract fields the claim could not tell (an 837 has no eligibility check "
        "date; 'eligibility' when no 271 came with it): scored as the average over training "
        "claims' values, not as absent.",
    )
    denial_probability_range: list[float] | None = Field(
        None,
        description="Lowest and highest denial probability over those values: how far the "
        "score may move once the unknown inputs are known.",
    )


class ReadError(BaseModel):
    file: str
    segment: int = Field(description="Position of the segment where it starts (0: whole file).")
    what: str = Field(description="file, interchange, transaction, claim or content.")
    id: str = Field(description="The claim's CLM01 or the transaction's ST02, when known.")
    reason: str


class ScoreResponse(BaseModel):
    model_version: str
    scores: list[ClaimScore]
    read_errors: list[ReadError] | None = Field(
        None, description="837 bodies only: what could not be read or scored, and why."
    )


class OpenDenial(BaseModel):
    model_config = _STRICT
    claim: Claim  # type: ignore[valid-type]
    carc_codes: list[Annotated[str, Field(pattern=f"^(?:{ADJUSTMENT_CODE})$")]] = Field(
        ...,
        min_length=1,
        max_length=20,
        description="The denial's adjustment codes in remit order, group first: ['CO-197', "
        "'N54'] (a bare CARC such as '197' is read as group CO; RARCs are remarks).",
    )
    denied_amount: Annotated[float, Strict()] = Field(
        ..., ge=0, le=MAX_DOLLARS, description="Billed amount denied (dollars)."
    )
    denial_date: dt.date = Field(..., description="Remit date of the denial (YYYY-MM-DD).")
    appeal_deadline: dt.date | None = Field(
        None, description="Override: the last day to appeal (default: denial date + payer window)."
    )


class RankRequest(BaseModel):
    model_config = _STRICT
    denials: list[OpenDenial] = Field(..., min_length=1)
    as_of: dt.date = Field(..., description="The day the queue is worked (YYYY-MM-DD).")
    capacity: int | None = Field(
        None,
        ge=1,
        description="How many items the team can work: the first that many items whose next "
        "step is work are within capacity (write-offs take none).",
    )


class RankedDenial(BaseModel):
    claim_id: str
    priority: int
    category: str
    recovery_probability: float
    recoverable_amount: float
    expected_recovery: float
    effort_hours: float
    days_to_deadline: int | None
    expired: bool
    next_step: Literal["corrected_claim", "appeal_with_documentation", "write_off"]
    within_capacity: bool = Field(
        description="Among the first `capacity` items worth working; write-off items never are."
    )
    reason: str = Field(description="Why this next step, with the numbers behind it.")
    unknown_codes: list[str] = Field(default_factory=list)


class RankResponse(BaseModel):
    model_version: str
    as_of: dt.date
    items: list[RankedDenial]


class ReloadRequest(BaseModel):
    model_config = _STRICT
    model: str | None = Field(
        None,
        max_length=200,
        description="models:/claimrisk@ALIAS, models:/claimrisk/VERSION, or the name of a bundle "
        "folder in the server's models directory (default: the model configured at start-up).",
    )


class ReloadResponse(BaseModel):
    previous: str
    serving: str


class ModelInfo(BaseModel):
    version: str
    reference: str
    loaded_at: str
    trained_at: str | None
    training_windows: dict[str, Any] | None
    history_cutoff: str | None = Field(description="The training snapshot's history cutoff.")
    history_as_of: str = Field(
        description="The day the served history features stop at: remits dated before it "
        "are counted (the store's latest, when the service has one)."
    )
    metrics: dict[str, float]
    thresholds: dict[str, float]
    calibration: dict[str, str]
    library_versions: dict[str, str]
    features: list[str]
    custom_features: dict[str, str] = Field(
        default_factory=dict,
        description="The practice's own features (x_... → bool, float or string) a claim's "
        "extra object may give.",
    )
    denial_model: str | None = Field(
        None, description="The denial model kept at training (lightgbm or logistic) and why."
    )
