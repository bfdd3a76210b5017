"""``POST /v1/worklist/rank``: open denials in the order worth working them."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body, Request

from serving.deps import AppSettings, CurrentModel, ScoringKey
from serving.pool import compute
from serving.routes.claims import valid_columns
from serving.schemas import RankRequest, RankResponse
from training import examples
from training.scoring import Denials, rank_valid

router = APIRouter()
RANK_BODY = Body(openapi_examples={"two denials": {"value": examples.RANK_REQUEST}})


@router.post(
    "/v1/worklist/rank",
    response_model=RankResponse,
    dependencies=[ScoringKey],
    summary="Order open denials by expected recovered dollars per hour of work",
)
async def rank_denials(
    body: Annotated[RankRequest, RANK_BODY],
    request: Request,
    loaded: CurrentModel,
    settings: AppSettings,
) -> RankResponse:
    claims = [d.claim for d in body.denials]
    batch = valid_columns(claims, settings.max_batch, "denials", loaded.model)
    denials = Denials(
        carc_codes=[d.carc_codes for d in body.denials],
        denied_amount=np.array([d.denied_amount for d in body.denials], dtype=float),
        denial_date=[d.denial_date for d in body.denials],
        appeal_deadline=[d.appeal_deadline for d in body.denials],
    )
    items = await compute(
        request.app,
        len(claims),
        partial(rank_valid, eligibility=batch.eligibility),
        loaded.model,
        batch.header,
        batch.lines,
        denials,
        body.as_of,
        body.capacity,
    )
    return RankResponse(model_version=loaded.version, as_of=body.as_of, items=items)
