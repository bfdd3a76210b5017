"""Request dependencies: who is calling (API keys) and which model answers.

Used as ``Annotated`` aliases in the routes (``CurrentModel``, ``ScoringKey``, ``AdminKey``), so a
route states what it needs in its signature and the checks live here once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from serving.errors import Forbidden, NotReady, Unauthorized
from serving.metrics import Metrics
from serving.settings import Settings
from serving.state import Loaded, ModelSlot
from store.users import PERMISSIONS

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


@dataclass(frozen=True)
class Caller:
    """Who is calling: a store user, or a key from ``CLAIMRISK_API_KEYS`` (a biller)."""

    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def caller_of(app, key: str | None) -> Caller | None:
    """The caller a key stands for, or None. Used by the routes and the batch lane.

    Store users come first; the configured scoring keys still score (role biller); with
    ``allow_anonymous`` (the local demo) a caller without a key is a lead.
    """
    s: Settings = app.state.settings
    check = getattr(app.state, "keys", None)
    user = check.user(key) if check is not None else None
    if user is not None:
        return Caller(user.name, user.role)
    if _matches(key, s.keys()):
        return Caller(f"key:{fingerprint(key)}", "biller")
    if s.allow_anonymous and not key:
        return Caller("anonymous", "lead")
    return None


def requires(permission: str):
    """A dependency: the caller, who must hold ``permission`` (401 without a key, 403 without
    the role)."""

    def check(request: Request, x_api_key: KeyHeader = None) -> Caller:
        caller = caller_of(request.app, x_api_key)
        if caller is None:
            raise Unauthorized("missing or invalid API key: send it in the X-API-Key header")
        if not caller.may(permission):
            raise Forbidden(
                f"{caller.name} is a {caller.role}; {permission!r} needs one of "
                + ", ".join(r for r, p in PERMISSIONS.items() if permission in p)
            )
        return caller

    return check


def require_admin_key(request: Request, x_api_key: KeyHeader = None) -> str:
    """The admin key's fingerprint; admin keys are never scoring keys (``Settings``)."""
    if _matches(x_api_key, settings(request).admin()):
        return fingerprint(x_api_key)
    caller = caller_of(request.app, x_api_key) if x_api_key else None
    if caller is not None and caller.may("models"):
        return caller.name
    if caller is not None:
        raise Forbidden(f"{caller.name} is a {caller.role}; managing models needs an admin")
    raise Unauthorized("missing or invalid admin key: send it in the X-API-Key header")


def current_model(request: Request) -> Loaded:
    loaded = slot(request).current
    if loaded is None:
        raise NotReady("no model loaded yet; retry shortly")
    return loaded


CurrentModel = Annotated[Loaded, Depends(current_model)]
AppSettings = Annotated[Settings, Depends(settings)]
AppMetrics = Annotated[Metrics, Depends(metrics)]
Slot = Annotated[ModelSlot, Depends(slot)]
ScoringKey = Depends(requires("score"))
Scorer = Annotated[Caller, Depends(requires("score"))]
Worker = Annotated[Caller, Depends(requires("work"))]
Lead = Annotated[Caller, Depends(requires("kpis"))]
RuleEditor = Annotated[Caller, Depends(requires("rules"))]
AdminKey = Annotated[str, Depends(require_admin_key)]
