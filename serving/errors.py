"""What can go wrong in a request, each error knowing its HTTP status, and the handlers.

Routes raise a ``ClaimriskError``; ``install`` maps it (and FastAPI's own validation and HTTP
errors) to JSON. The handlers cannot raise and never log or echo request content: a claim_id of
``NaN`` or ``1e400`` is as safe in an error as any other. Unexpected exceptions are caught by
``serving.metrics.Guard``, logged by type only (never their message or traceback, which may quote
a claim) and answer 500.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.contract import CLAIM_LINES, CLAIMS, format_hint

log = logging.getLogger("claimrisk.serving")
EXPECTATIONS = {f.name: f.expectation() for t in (CLAIMS, CLAIM_LINES) for f in t.fields}
PATTERNS = {f.name: f.pattern for t in (CLAIMS, CLAIM_LINES) for f in t.fields}
MAX_ERRORS = 50
#: pydantic's error types → the contract's rule names, so an HTTP rejection and an offline one
#: name the same rule (``features/validate.py``).
RULES = {
    "missing": "required",
    "string_pattern_mismatch": "format",
    "literal_error": "allowed_values",
    "greater_than_equal": "range",
    "less_than_equal": "range",
    "greater_than": "range",
    "less_than": "range",
    "finite_number": "type",
    "too_long": "count",
    "too_short": "count",
    "extra_forbidden": "unknown_field",
}


class ClaimriskError(Exception):
    """An error with an HTTP status and a message safe to show the caller."""

    status = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail, self.extra = detail, extra


class InvalidClaims(ClaimriskError):
    status = 422


class Unauthorized(ClaimriskError):
    status = 401


class Forbidden(ClaimriskError):
    status = 403


class NotFound(ClaimriskError):
    status = 404


class Conflict(ClaimriskError):
    status = 409


class PreconditionRequired(ClaimriskError):
    status = 428


class TooLarge(ClaimriskError):
    status = 413


class NotReady(ClaimriskError):
    status = 503


class ModelRefused(ClaimriskError):
    status = 409


def _safe(value: Any) -> Any:
    """A value from a request made safe for JSON: non-finite numbers and others become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in (p for p in loc if p != "body"):
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _claim_of(body: Any, loc: tuple[Any, ...]) -> str | None:
    """The claim_id (or position) an error belongs to, so the caller can find the claim."""
    parts = [p for p in loc if p != "body"]
    try:
        item = body[parts[0]][parts[1]]
        claim = item.get("claim", item) if parts[0] == "denials" else item
        claim_id = claim.get("claim_id")
    except (IndexError, KeyError, TypeError, AttributeError):
        return None
    return claim_id if isinstance(claim_id, str) and claim_id else f"{parts[0]}[{parts[1]}]"


def validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as the rejects the offline path writes: claim, field, rule, message."""
    body = getattr(exc, "body", None)
    out = []
    for e in exc.errors()[:MAX_ERRORS]:
        loc = tuple(e.get("loc", ()))
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        ctx = e.get("ctx") or {}
        rule = ctx.get("rule") or RULES.get(e.get("type", ""), "type")
        problem = str(ctx.get("message") or e.get("msg", "invalid"))
        if rule == "format" and field in EXPECTATIONS:  # words, not the regular expression
            problem = (
                f"expected {EXPECTATIONS[field]}{format_hint(PATTERNS[field], e.get('input'))}"
            )
        item = {
            "claim": _claim_of(body, loc),
            "field": ctx.get("column") or field_path(loc),
            "rule": rule,
            "problem": problem,
        }
        if field in EXPECTATIONS:
            item["expected"] = EXPECTATIONS[field]
        out.append(item)
    return out + _rules_of_clean_claims(body, {tuple(e.get("loc", ()))[:3] for e in exc.errors()})


def _rules_of_clean_claims(body: Any, failed: set[tuple]) -> list[dict[str, Any]]:
    """The cross-field rules of every claim whose fields were valid, so that a request names all
    its problems at once, as ``claimrisk score`` does, not only the first kind."""
    from serving.schemas import Claim, contract_problems

    out: list[dict[str, Any]] = []
    for where in ("claims", "denials"):
        items = body.get(where) if isinstance(body, dict) else None
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if ("body", where, i) in failed:
                continue
            try:
                claim = Claim.model_validate(item["claim"] if where == "denials" else item)
            except Exception:  # its own errors are reported already
                continue
            out += contract_problems([claim], where)
    return out


def _json(status: int, content: dict[str, Any], headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=content, headers=headers)


def install(app: FastAPI) -> None:
    """The handlers: every error becomes JSON with a status; none can raise."""

    @app.exception_handler(ClaimriskError)
    async def _ours(request: Request, exc: ClaimriskError) -> JSONResponse:
        headers = {"WWW-Authenticate": "X-API-Key"} if exc.status == 401 else None
        return _json(exc.status, {"detail": exc.detail, **exc.extra}, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        try:
            errors = validation_problems(exc)
            detail = f"{len(exc.errors())} problem(s) in the request; nothing was scored"
        except Exception as inner:  # never a 500 (or a claim in the log) from this handler
            log.error("could not describe a validation error: %s", type(inner).__name__)
            errors, detail = [], "the request is invalid; nothing was scored"
        return _json(422, {"detail": detail, "errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, {"detail": _safe(exc.detail)}, exc.headers)
