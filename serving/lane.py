"""The large-batch lane: big scoring requests are read, validated, scored and serialised in a
process of their own, so that they never hold the event loop's interpreter.

Threads are not enough: parsing a 9 MB body, validating 10,000 claims with pydantic and
serialising their explanations each hold the GIL for a few hundred milliseconds in one C call,
and a single claim waits behind every one of them (measured: the 1-claim p99 grew 28× beside
two clients posting 10,000-claim ``explain=all`` batches). Here a body of ``lane_bytes`` or more
to ``POST /v1/claims/score`` goes, as raw bytes, to a pool of ``large_batch_slots`` spawned
processes that hold the same model; the answer comes back as the JSON bytes the route would have
sent. Everything else (small bodies, other paths, chunked bodies of unknown length) takes the
ordinary route. The key is checked here, before anything is read.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LANE_PATH = "/v1/claims/score"
_WORKER: dict[str, Any] = {}  # the model of a lane process


def _load(source: str, tracking_uri: str | None, max_batch: int, edits: str | None) -> None:
    """Process initializer: load (and smoke-test) the model the service is serving, and its
    edit book."""
    from serving.state import load
    from training.edits.book import EditBook

    book = EditBook.load(Path(edits)) if edits else None
    _WORKER.update(model=load(source, tracking_uri).model, max_batch=max_batch, edits=book)


def _ready() -> bool:
    return "model" in _WORKER


def score_bytes(body: bytes, version: str) -> tuple[int, bytes, list[float]]:
    """A score request's raw body → (status, JSON body, probabilities), as the route answers."""
    from serving.errors import ClaimriskError, InvalidClaims, validation_problems
    from serving.routes.claims import valid_columns
    from serving.schemas import ScoreRequest, ScoreResponse
    from training.scoring import score_valid

    try:
        request = ScoreRequest.model_validate_json(body)
    except ValidationError as exc:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        problems = validation_problems(RequestValidationError(errors, body=parsed))
        detail = f"{len(errors)} problem(s) in the request; nothing was scored"
        return 422, json.dumps({"detail": detail, "errors": problems}).encode(), []
    model = _WORKER["model"]
    try:
        if request.as_of is not None:  # the lane runs only without a store, and as_of needs one
            raise InvalidClaims("as_of needs a store: start the service with --db URL")
        batch = valid_columns(
            request.claims, _WORKER["max_batch"], "claims", model, request.eligibility_271
        )
    except ClaimriskError as refused:
        return refused.status, json.dumps({"detail": refused.detail, **refused.extra}).encode(), []
    scores = score_valid(
        model,
        batch.header,
        batch.lines,
        request.explain,
        eligibility=batch.eligibility,
        edits=_WORKER["edits"],
    )
    response = ScoreResponse(model_version=version, scores=scores)
    probabilities = [s["denial_probability"] for s in scores]
    return 200, response.model_dump_json(exclude_none=True).encode(), probabilities


def open_lane(app: FastAPI, warm: bool = True) -> None:
    """The lane's processes for the loaded model; ``warm`` starts one loading it now, in the
    background (otherwise the first large request waits for the load)."""
    settings, current = app.state.settings, app.state.slot.current
    app.state.lane = ProcessPoolExecutor(
        max_workers=settings.large_batch_slots,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded server
        initializer=_load,
        initargs=(
            current.source,
            settings.tracking_uri,
            settings.max_batch,
            str(settings.edits) if settings.edits else None,
        ),
    )
    if warm:
        app.state.lane.submit(_ready)


def close_lane(app: FastAPI) -> None:
    """Stop the lane now: its processes are ended, not waited for (one may be mid-load)."""
    lane = getattr(app.state, "lane", None)
    if lane is None:
        return
    processes = list((getattr(lane, "_processes", None) or {}).values())
    lane.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # the executor keeps no public handle on them
        process.terminate()
    app.state.lane = None


def restart_lane(app: FastAPI) -> None:
    """After a reload: the lane serves the new model from its next request on (a service with a
    store has no lane: its history is refreshed in the main process)."""
    close_lane(app)
    if getattr(app.state, "store", None) is None:
        open_lane(app)


class BatchLane:
    """ASGI middleware: send large score requests to the lane, everything else on."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app, self.fastapi = app, fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._large(scope):
            await self.app(scope, receive, send)
            return
        from serving.deps import caller_of

        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        caller = caller_of(self.fastapi, key or None)
        if caller is None or not caller.may("score"):
            body = b'{"detail":"missing or invalid API key: send it in the X-API-Key header"}'
            await _answer(send, 401, body, [(b"www-authenticate", b"X-API-Key")])
            return
        body = await _read(receive)
        loaded = self.fastapi.state.slot.current
        loop = asyncio.get_running_loop()
        status, payload, probabilities = await loop.run_in_executor(
            self.fastapi.state.lane, score_bytes, body, loaded.version
        )
        metrics = self.fastapi.state.metrics
        metrics.claims.inc(len(probabilities))
        for p in probabilities:
            metrics.scores.observe(p)
        await _answer(send, status, payload)

    def _large(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["path"] != LANE_PATH or scope["method"] != "POST":
            return False
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"content-type", b"").lower().startswith(b"application/json"):
            return False  # 837 bodies are read and scored by the route
        length = headers.get(b"content-length", b"")
        state = self.fastapi.state
        return (
            length.isdigit()
            and int(length) >= state.settings.lane_bytes
            and getattr(state, "lane", None) is not None
        )


async def _read(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
