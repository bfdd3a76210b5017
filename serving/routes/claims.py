"""``POST /v1/claims/score``: denial risk of claims before submission."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from features.x12.ingest import ingest_bytes
from serving.deps import AppMetrics, AppSettings, Caller, CurrentModel, Scorer
from serving.errors import ClaimriskError, InvalidClaims, TooLarge
from serving.pool import compute
from serving.schemas import (
    Batch,
    Explain,
    ScoreRequest,
    ScoreResponse,
    body_responses,
    claim_columns,
    contract_problems,
)
from training import examples
from training.model import ClaimriskModel
from training.scoring import score_valid, score_x12

router = APIRouter()
SCORE_BODY = Body(openapi_examples={"therapy claim": {"value": examples.SCORE_REQUEST}})


def refusal(
    claims: Sequence[Any], limit: int, where: str, model: ClaimriskModel
) -> ClaimriskError | None:
    """Why a batch cannot be scored (too many claims, claims breaking the contract's rules
    across fields, custom features the model does not know), or None. Nothing in a batch is
    scored while any claim is refused."""
    if len(claims) > limit:
        return TooLarge(f"{len(claims)} {where}: send at most {limit} per request")
    problems = contract_problems(claims, where, model.pipeline.custom_features)
    if problems:
        return InvalidClaims(
            f"{len(problems)} problem(s) in the request; nothing was scored", errors=problems[:50]
        )
    return None


def valid_columns(
    claims: Sequence[Any],
    limit: int,
    where: str,
    model: ClaimriskModel,
    eligibility_271: str | None = None,
) -> Batch:
    """A request's claims (and the 271 sent with them) as the scoring path's input, once
    ``refusal`` has nothing to say."""
    refused = refusal(claims, limit, where, model)
    responses, problems = body_responses(eligibility_271)
    if refused is None and problems:
        refused = InvalidClaims(f"{len(problems)} problem(s) in eligibility_271; nothing was "
                                "scored", errors=problems[:50])  # fmt: skip
    if refused is not None:
        raise refused
    return claim_columns(claims, responses)


#: An 837 body: the claims a billing system is about to submit, as it writes them.
X12_TYPE = "application/edi-x12"
X12_PATH = "/v1/claims/score/x12"
X12_BODY = {
    "requestBody": {
        "required": True,
        "content": {X12_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/v1/claims/score",
    response_model=ScoreResponse,
    response_model_exclude_none=True,
    summary="Denial risk of claims before submission (an 837 body: see /v1/claims/score/x12)",
)
async def score_claims(
    body: Annotated[ScoreRequest, SCORE_BODY],
    request: Request,
    caller: Scorer,
    loaded: CurrentModel,
    settings: AppSettings,
    metrics: AppMetrics,
) -> ScoreResponse:
    batch = valid_columns(
        body.claims, settings.max_batch, "claims", loaded.model, body.eligibility_271
    )
    if body.as_of is not None:
        history = getattr(request.app.state, "history", None)
        if history is None:
            raise InvalidClaims("as_of needs a store: start the service with --db URL")
        loaded = await run_in_threadpool(history.as_of, loaded, body.as_of)
    scores = await compute(
        request.app,
        len(body.claims),
        partial(score_valid, eligibility=batch.eligibility, edits=request.app.state.edits),
        loaded.model,
        batch.header,
        batch.lines,
        body.explain,
    )
    await _remember(request, scores, loaded.version, caller, body.as_of)
    return _counted(ScoreResponse(model_version=loaded.version, scores=scores), metrics)


@router.post(
    X12_PATH,
    response_model=ScoreResponse,
    response_model_exclude_none=True,
    summary="The same for an 837 body (also taken at /v1/claims/score as application/edi-x12)",
    openapi_extra=X12_BODY,
)
async def score_837(
    request: Request,
    caller: Scorer,
    loaded: CurrentModel,
    settings: AppSettings,
    metrics: AppMetrics,
    explain: Explain = "flagged",
) -> ScoreResponse:
    """Every CLM read is scored, or named in ``read_errors`` with its segment and reason; the
    fields an 837 never carries are unknown inputs (see ``unknown_inputs``), not absent ones."""
    data = await request.body()
    size = data.count(b"CLM")  # an upper bound on the claims, before reading them
    ingested = await compute(request.app, size, ingest_bytes, data, "request.x12")
    claims = len(ingested.tables["claims"])
    if claims > settings.max_batch:
        raise TooLarge(f"{claims} claims in the 837: send at most {settings.max_batch} per request")
    result = await compute(
        request.app, claims, score_x12, loaded.model, ingested, explain, request.app.state.edits
    )
    errors = result.read_errors + [
        {
            "file": "request.x12",
            "segment": 0,
            "what": "claim",
            "id": str(p["claim_id"]),
            "reason": f"{p['field']}: {p['message']}",
        }
        for p in result.scored.rejects.to_dict("records")
    ]
    if not result.scored.scores and errors:
        raise InvalidClaims("no claim of the 837 could be scored", errors=errors[:50])
    response = ScoreResponse(
        model_version=loaded.version, scores=result.scored.scores, read_errors=errors
    )
    await _remember(request, result.scored.scores, loaded.version, caller)
    return _counted(response, metrics)


async def _remember(
    request: Request, scores: list[dict], version: str, caller: Caller, as_of=None
) -> None:
    """With a store, every score given is kept (``store.scores``)."""
    eng = getattr(request.app.state, "store", None)
    if eng is not None and scores:
        from store.scores import remember

        await run_in_threadpool(remember, eng, scores, version, caller.name, as_of)


def _counted(response: ScoreResponse, metrics) -> ScoreResponse:
    metrics.claims.inc(len(response.scores))
    for s in response.scores:
        metrics.scores.observe(s.denial_probability)
    return response


class X12Dispatch:
    """ASGI middleware: an 837 posted to ``/v1/claims/score`` goes to the 837 route, so that a
    billing system can send either body to one address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/claims/score":
            kind = dict(scope.get("headers") or []).get(b"content-type", b"")
            if kind.split(b";")[0].strip().lower() == X12_TYPE.encode():
                scope = {**scope, "path": X12_PATH, "raw_path": X12_PATH.encode()}
        await self.app(scope, receive, send)
