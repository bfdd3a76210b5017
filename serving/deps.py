"""Request dependencies: who is calling (API keys) and which model answers.

Used as ``Annotated`` aliases in the routes (``CurrentModel``, ``ScoringKey``, ``AdminKey``), so a
route states what it needs in its signature and the checks live here once.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from serving.errors import NotReady, Unauthorized
from serving.metrics import Metrics
from serving.settings import Settings
from serving.state import Loaded, ModelSlot

KeyHeader = Annotated[str | None, Header(alias="X-API-Key")]


def settings(request: Request) -> Settings:
    return request.app.state.settings


def slot(request: Request) -> ModelSlot:
    return request.app.state.slot


def metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def fingerprint(key: str | None) -> str:
    """A key as the audit log names it: enough to tell keys apart, useless to an attacker."""
    return hashlib.sha256((key or "").encode()).hexdigest()[:12] if key else "none"


def _matches(given: str | None, allowed: list[str]) -> bool:
    # compare against every key, always: the time taken does not reveal which one matched
    ok, raw = False, (given or "").encode()
    for k in allowed:
        ok |= hmac.compare_digest(raw, k.encode())
    return ok and bool(given)


def key_allowed(s: Settings, key: str | None) -> bool:
    """May this key score (or is the demo open)? Used by the routes and the batch lane."""
    return s.allow_anonymous or _matches(key, s.keys())


def require_scoring_key(request: Request, x_api_key: KeyHeader = None) -> None:
    if not key_allowed(settings(request), x_api_key):
        raise Unauthorized("missing or invalid API key: send it in the X-API-Key header")


def require_admin_key(request: Request, x_api_key: KeyHeader = None) -> str:
    """The admin key's fingerprint; admin keys are never scoring keys (``Settings``)."""
    if not _matches(x_api_key, settings(request).admin()):
        raise Unauthorized("missing or invalid admin key: send it in the X-API-Key header")
    return fingerprint(x_api_key)


def current_model(request: Request) -> Loaded:
    loaded = slot(request).current
    if loaded is None:
        raise NotReady("no model loaded yet; retry shortly")
    return loaded


CurrentModel = Annotated[Loaded, Depends(current_model)]
AppSettings = Annotated[Settings, Depends(settings)]
AppMetrics = Annotated[Metrics, Depends(metrics)]
Slot = Annotated[ModelSlot, Depends(slot)]
ScoringKey = Depends(require_scoring_key)
AdminKey = Annotated[str, Depends(require_admin_key)]
