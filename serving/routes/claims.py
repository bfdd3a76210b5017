"""``POST /v1/claims/score``: denial risk of claims before submission."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from serving import examples
from serving.deps import AppMetrics, AppSettings, CurrentModel, ScoringKey
from serving.errors import ClaimriskError, InvalidClaims, TooLarge
from serving.pool import compute
from serving.schemas import ScoreRequest, ScoreResponse, claim_columns, contract_problems
from training.scoring import score_valid

router = APIRouter()
SCORE_BODY = Body(openapi_examples={"therapy claim": {"value": examples.SCORE_REQUEST}})


def refusal(claims: Sequence[Any], limit: int, where: str) -> ClaimriskError | None:
    """Why a batch cannot be scored (too many claims, or claims breaking the contract's rules
    across fields), or None. Nothing in a batch is scored while any claim is refused."""
    if len(claims) > limit:
        return TooLarge(f"{len(claims)} {where}: send at most {limit} per request")
    problems = contract_problems(claims, where)
    if problems:
        return InvalidClaims(
            f"{len(problems)} problem(s) in the request; nothing was scored", errors=problems[:50]
        )
    return None


def valid_columns(
    claims: Sequence[Any], limit: int, where: str
) -> tuple[dict[str, list], dict[str, list]]:
    """A request's claims as the scoring path's columns, once ``refusal`` has nothing to say."""
    refused = refusal(claims, limit, where)
    if refused is not None:
        raise refused
    return claim_columns(claims)


@router.post(
    "/v1/claims/score",
    response_model=ScoreResponse,
    response_model_exclude_none=True,
    dependencies=[ScoringKey],
    summary="Denial risk of claims before submission",
)
async def score_claims(
    body: Annotated[ScoreRequest, SCORE_BODY],
    request: Request,
    loaded: CurrentModel,
    settings: AppSettings,
    metrics: AppMetrics,
) -> ScoreResponse:
    header, lines = valid_columns(body.claims, settings.max_batch, "claims")
    scores = await compute(
        request.app, len(body.claims), score_valid, loaded.model, header, lines, body.explain
    )
    metrics.claims.inc(len(scores))
    for s in scores:
        metrics.scores.observe(s["denial_probability"])
    return ScoreResponse(model_version=loaded.version, scores=scores)
