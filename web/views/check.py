"""``/check``: score claims before they are sent, from an 837 file or a claim typed in a form.

The scoring path is the API's (``training.scoring``): an 837 through ``score_x12`` (inputs an
837 cannot carry marginalised), a typed claim through ``score_claims`` (validated by the
contract). Each claim shows its risk, band, factors and fixes, flagged claims first; what
could not be read or failed validation is listed by claim, field and reason. The same input
posted to ``/check.csv`` downloads the API's flat columns (``training.scoring.flat_scores``).
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from features.contract import TABLES
from features.x12.ingest import ingest_bytes
from training import examples
from training.scoring import Scored, flat_scores, score_claims, score_x12
from web.auth import NotPermitted, Scorer, ScorerPost
from web.render import page

router = APIRouter()
MAX_UPLOAD = 16 * 1024 * 1024
FORM_LINES = 3
#: Claims listed on the page, riskiest first; the CSV holds them all.
SHOWN = 200
HEADER_FIELDS = [f for f in TABLES["claims"].fields if f.name != "other_coverage"]
LINE_FIELDS = [f for f in TABLES["claim_lines"].fields if f.name not in ("claim_id", "line_number")]


def _example_values() -> dict[str, str]:
    """The form's starting values: the documented example claim."""
    values = {
        f.name: "" if examples.CLAIM[f.name] is None else str(examples.CLAIM[f.name])
        for f in HEADER_FIELDS
    }
    for n, line in enumerate(examples.CLAIM["lines"][:FORM_LINES], start=1):
        for f in LINE_FIELDS:
            values[f"line{n}_{f.name}"] = "" if line[f.name] is None else str(line[f.name])
    values["other_coverage"] = "on" if examples.CLAIM["other_coverage"] else ""
    return values


@router.get("/check")
async def check_page(request: Request, who: Scorer):
    return page(request, "check.html", values=_example_values(), result=None, **_fields())


def _fields() -> dict[str, Any]:
    return {"header_fields": HEADER_FIELDS, "line_fields": LINE_FIELDS, "form_lines": FORM_LINES}


async def _scored(
    request: Request, upload: UploadFile | None
) -> tuple[Scored, list[str], list[dict], dict]:
    """(scores, claim order, read errors, form values) of the posted file or form."""
    loaded = request.app.state.slot.current
    if loaded is None:
        raise NotPermitted("no model is loaded yet: try again in a moment")
    if upload is not None and upload.filename:
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise NotPermitted(f"the file is larger than {MAX_UPLOAD // 2**20} MB: split it")
        name = upload.filename

        def run():
            return score_x12(loaded.model, ingest_bytes(data, name), "flagged")

        got = await run_in_threadpool(run)
        return got.scored, got.claim_ids, got.read_errors, _example_values()
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    claims, lines = _claim_from(values)

    def score():
        return score_claims(loaded.model, claims, lines, "flagged")

    return await run_in_threadpool(score), list(claims["claim_id"]), [], values


def _claim_from(values: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The form's claim as contract rows (text; the contract's validation types and checks it)."""
    head: dict[str, Any] = {f.name: values.get(f.name, "").strip() or None for f in HEADER_FIELDS}
    head["other_coverage"] = "true" if values.get("other_coverage") else "false"
    rows = []
    for n in range(1, FORM_LINES + 1):
        line = {f.name: values.get(f"line{n}_{f.name}", "").strip() or None for f in LINE_FIELDS}
        if any(v is not None for v in line.values()):
            rows.append({"claim_id": head["claim_id"], "line_number": str(n), **line})
    return pd.DataFrame([head]), pd.DataFrame(
        rows, columns=[f.name for f in TABLES["claim_lines"].fields]
    )


@router.post("/check")
async def check_post(
    request: Request,
    who: ScorerPost,
    x12: Annotated[UploadFile | None, File()] = None,
):
    scored, order, read_errors, values = await _scored(request, x12)
    ranked = sorted(scored.scores, key=lambda s: -s["denial_probability"])
    rejects = scored.rejects.to_dict("records")
    result = {
        "scores": ranked[:SHOWN],
        "scored": len(ranked),
        "rejects": rejects,
        "read_errors": read_errors,
        "read": len(order),
        "flagged": sum(s["risk_band"] != "low" for s in ranked),
    }
    return page(request, "check.html", values=values, result=result, **_fields())


@router.post("/check.csv")
async def check_csv(
    request: Request,
    who: ScorerPost,
    x12: Annotated[UploadFile | None, File()] = None,
) -> Response:
    scored, order, _, _ = await _scored(request, x12)
    body = flat_scores(scored, order).to_csv(index=False)
    headers = {"Content-Disposition": 'attachment; filename="claimrisk-check.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
