"""The FastAPI app: scoring, worklist ranking, model info, health, metrics, reload.

``create_app(settings)`` builds a fresh app (its own Prometheus registry, its own model slot), so
tests and workers never share state by accident. No request body or claim field is ever logged:
the logs and metrics carry counts, latencies, statuses and the model version only.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.contract import CLAIM_LINES, CLAIMS
from serving import examples, scoring
from serving.schemas import (
    RankRequest,
    RankResponse,
    ReloadRequest,
    ScoreRequest,
    ScoreResponse,
)
from serving.settings import Settings
from serving.state import Loaded, ModelSlot, load

log = logging.getLogger("claimrisk.serving")
SCORE_BODY = Body(openapi_examples={"therapy claim": {"value": examples.SCORE_REQUEST}})
RANK_BODY = Body(openapi_examples={"two denials": {"value": examples.RANK_REQUEST}})
KNOWN_PATHS = frozenset(
    {
        "/v1/claims/score",
        "/v1/worklist/rank",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)
EXPECTATIONS = {f.name: f.expectation() for t in (CLAIMS, CLAIM_LINES) for f in t.fields}


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "claimrisk_requests", "HTTP requests", ["path", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "claimrisk_request_seconds",
            "Request latency",
            ["path"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.claims = Counter("claimrisk_claims_scored", "Claims scored", registry=self.registry)
        self.scores = Histogram(
            "claimrisk_denial_probability",
            "Denial probabilities returned",
            buckets=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1.0),
            registry=self.registry,
        )
        self.model = Gauge(
            "claimrisk_model_info", "Loaded model (value 1)", ["version"], registry=self.registry
        )

    def set_model(self, version: str) -> None:
        self.model.clear()
        self.model.labels(version=version).set(1)


class Guard:
    """ASGI middleware: refuse bodies over the limit (413) and time every request."""

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: Metrics) -> None:
        self.app, self.max_bytes, self.metrics = app, max_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = {"code": 500}
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send_wrapper)
        else:
            seen = 0

            async def limited() -> Message:
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
                return message

            try:
                await self.app(scope, limited, send_wrapper)
            except _TooLarge:
                await self._too_large(send_wrapper)
        self.metrics.requests.labels(path=path, status=str(status["code"])).inc()
        self.metrics.latency.labels(path=path).observe(time.perf_counter() - began)

    async def _too_large(self, send: Send) -> None:
        body = (
            b'{"detail":"request body larger than %d bytes: send fewer claims per request"}'
            % self.max_bytes
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


#: Batches up to this size are scored on the event loop (about a millisecond each: a thread hop
#: would cost as much as the work); larger ones go to a worker thread so that health checks and
#: small requests are not stuck behind them.
INLINE_CLAIMS = 20


async def _compute(size: int, func: Any, *args: Any) -> Any:
    if size <= INLINE_CLAIMS:
        return func(*args)
    return await run_in_threadpool(func, *args)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _claim_of(body: Any, loc: tuple[Any, ...]) -> str | None:
    """The claim_id (or position) an error belongs to, so the caller can find the claim."""
    parts = [p for p in loc if p != "body"]
    try:
        if parts[:1] == ["claims"] and isinstance(parts[1], int):
            return body["claims"][parts[1]].get("claim_id") or f"claims[{parts[1]}]"
        if parts[:1] == ["denials"] and isinstance(parts[1], int):
            claim = body["denials"][parts[1]].get("claim") or {}
            return claim.get("claim_id") or f"denials[{parts[1]}]"
    except (IndexError, KeyError, TypeError, AttributeError):
        return None
    return None


def create_app(settings: Settings | None = None, loaded: Loaded | None = None) -> FastAPI:
    """The service. ``loaded`` lets tests inject a model; otherwise ``settings.model`` loads."""
    settings = settings or Settings()
    keys, admin = settings.keys(), settings.admin()
    if not keys and not settings.allow_anonymous:
        raise ValueError(
            "no API keys: set CLAIMRISK_API_KEYS=key1,key2 (or run with allow_anonymous for a "
            "local demo: `claimrisk serve --no-auth`)"
        )
    slot = ModelSlot(loaded or load(settings.model, settings.tracking_uri), settings.tracking_uri)
    metrics = Metrics()
    metrics.set_model(slot.current.version)

    app = FastAPI(
        title="claimrisk",
        version="0.1.0",
        description="Denial risk before submission, explanations a biller can act on, and the "
        "denial worklist ranked by expected recovered dollars. Send `X-API-Key`.",
    )
    app.state.slot = slot
    app.state.metrics = metrics
    app.add_middleware(Guard, max_bytes=settings.max_body_bytes, metrics=metrics)

    def _check(key: str | None, allowed: list[str]) -> None:
        if settings.allow_anonymous and allowed is keys:
            return
        given = (key or "").encode()
        # compare against every key, always: the time taken does not reveal which one matched
        ok = False
        for k in allowed:
            ok |= hmac.compare_digest(given, k.encode())
        if not ok:
            raise HTTPException(
                status_code=401,
                detail="missing or invalid API key: send it in the X-API-Key header",
                headers={"WWW-Authenticate": "X-API-Key"},
            )

    def api_key(x_api_key: str | None = Header(None, alias="X-API-Key")) -> None:
        _check(x_api_key, keys)

    def admin_key(x_api_key: str | None = Header(None, alias="X-API-Key")) -> None:
        _check(x_api_key, admin)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body if hasattr(exc, "body") else None
        errors = []
        for e in exc.errors()[:50]:
            loc = tuple(e.get("loc", ()))
            field = next((p for p in reversed(loc) if isinstance(p, str)), "")
            item = {"field": _field_path(loc), "problem": e.get("msg", "invalid")}
            claim = _claim_of(body, loc)
            if claim:
                item["claim"] = claim
            if field in EXPECTATIONS:
                item["expected"] = EXPECTATIONS[field]
            errors.append(item)
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"{len(exc.errors())} problem(s) in the request; nothing was scored",
                "errors": errors,
            },
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # never a traceback (or a claim) in the response or the log: the type is enough to debug
        log.error("internal error on %s: %s", request.url.path, type(exc).__name__)
        return JSONResponse(status_code=500, content={"detail": "internal error; see server log"})

    def _within_batch(size: int, what: str) -> None:
        if size > settings.max_batch:
            raise HTTPException(
                413, f"{size} {what}: send at most {settings.max_batch} per request"
            )

    @app.post(
        "/v1/claims/score",
        response_model=ScoreResponse,
        dependencies=[Depends(api_key)],
        summary="Denial risk of claims before submission",
    )
    async def score_claims(request: Annotated[ScoreRequest, SCORE_BODY]) -> Any:
        _within_batch(len(request.claims), "claims")
        current = slot.current
        scores = await _compute(
            len(request.claims), scoring.score, current.model, request.claims, request.explain
        )
        metrics.claims.inc(len(scores))
        for s in scores:
            metrics.scores.observe(s["denial_probability"])
        return JSONResponse({"model_version": current.version, "scores": scores})

    @app.post(
        "/v1/worklist/rank",
        response_model=RankResponse,
        dependencies=[Depends(api_key)],
        summary="Order open denials by expected recovered dollars per hour of work",
    )
    async def rank_denials(request: Annotated[RankRequest, RANK_BODY]) -> Any:
        _within_batch(len(request.denials), "denials")
        current = slot.current
        items = await _compute(
            len(request.denials),
            scoring.rank,
            current.model,
            request.denials,
            request.as_of,
            request.capacity,
        )
        return JSONResponse(
            {
                "model_version": current.version,
                "as_of": request.as_of.isoformat(),
                "items": items,
            }
        )

    @app.get("/v1/model", dependencies=[Depends(api_key)], summary="The loaded model")
    def model_info() -> dict[str, Any]:
        current = slot.current
        meta = current.model.metadata
        headline = {
            k: v
            for k, v in meta.get("metrics", {}).items()
            if k.count(".") == 1 and not k.endswith(("rows", "_dollars_at_20pct"))
        }
        return {
            "version": current.version,
            "reference": current.reference,
            "loaded_at": current.loaded_at,
            "trained_at": meta.get("trained_at"),
            "training_windows": meta.get("windows"),
            "history_cutoff": meta.get("history_cutoff"),
            "metrics": headline,
            "thresholds": current.model.thresholds,
            "calibration": {k: v["chosen"] for k, v in meta.get("calibration", {}).items()},
            "features": meta.get("feature_names", []),
        }

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: which model is loaded")
    def readyz() -> dict[str, str]:
        return {"status": "ready", "model_version": slot.current.version}

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/v1/admin/reload",
        dependencies=[Depends(admin_key)],
        summary="Load a new model without dropping requests; a failed load keeps the old one",
    )
    def reload(request: ReloadRequest | None = None) -> JSONResponse:
        reference = (request.model if request else None) or settings.model
        previous = slot.current.version
        try:
            loaded = slot.reload(reference)
        except Exception as exc:  # any failure: keep serving the old model, say why
            return JSONResponse(
                status_code=409,
                content={
                    "detail": f"could not load {reference}: {type(exc).__name__}: {exc}",
                    "serving": previous,
                },
            )
        metrics.set_model(loaded.version)
        log.info("model reloaded: %s -> %s", previous, loaded.version)
        return JSONResponse({"previous": previous, "serving": loaded.version})

    return app
