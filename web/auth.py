"""Who is signed in, what they may see, and the form token every post must carry.

The session cookie is HttpOnly and SameSite=Lax, and Secure when the request came over TLS
(run behind a TLS proxy with ``--proxy-headers`` for that). Every state-changing form posts the
session's CSRF token, compared in constant time. The sign-in form, before any session exists,
uses a double-submit token: a random cookie that the form must echo. Roles are the store's
(``store.users.PERMISSIONS``) and are checked here, on the server, for every page.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request
from sqlalchemy import Engine

from store.sessions import Session, session
from store.users import PERMISSIONS

COOKIE = "claimrisk_session"
SIGNIN_COOKIE = "claimrisk_signin"


class SignInNeeded(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class NotPermitted(Exception):
    """Signed in, but the role does not reach this page (or the form token is wrong)."""


def store_of(request: Request) -> Engine:
    eng = getattr(request.app.state, "store", None)
    if eng is None:
        raise NotPermitted("the web app needs a store: start with `claimrisk serve --db URL`")
    return eng


def current(request: Request) -> Session | None:
    """The request's live session, read once per request."""
    if not hasattr(request.state, "session"):
        token = request.cookies.get(COOKIE)
        with store_of(request).connect() as conn:
            request.state.session = session(conn, token)
    return request.state.session


def needs(permission: str):
    """A dependency: the signed-in session, whose role must hold ``permission``."""

    def check(request: Request) -> Session:
        found = current(request)
        if found is None:
            raise SignInNeeded(request.url.path)
        if not found.user.may(permission):
            holders = ", ".join(r for r, p in PERMISSIONS.items() if permission in p)
            raise NotPermitted(
                f"{found.user.name} is a {found.user.role}; this page is for: {holders}"
            )
        return found

    return check


def checked_form(request: Request, found: Session, token: str) -> None:
    """Refuse a post whose form token is not this session's."""
    if not hmac.compare_digest(token.encode(), found.csrf.encode()):
        raise NotPermitted(
            "this form's security token is missing or out of date (it did not come from this "
            "session): reload the page and submit it again"
        )


def csrf_checked(permission: str):
    """A dependency for posts: the session, whose role holds ``permission``, and whose form
    token the post carries."""
    gate = needs(permission)

    def check(request: Request, csrf: Annotated[str, Form()] = "") -> Session:
        found = gate(request)
        checked_form(request, found, csrf)
        return found

    return check


def signin_token(request: Request) -> str:
    return request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)


def signin_matches(request: Request, token: str) -> bool:
    cookie = request.cookies.get(SIGNIN_COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), token.encode())


def cookie_options(request: Request) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: never a full URL or ``//host``
    (nor ``/\\host``, which browsers read as ``//host``), so a form's ``next`` or ``back``
    cannot send a user elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def sign_in_url(path: str) -> str:
    return "/?next=" + quote(path, safe="/") if path not in ("/", "") else "/"


Worker = Annotated[Session, Depends(needs("work"))]
Scorer = Annotated[Session, Depends(needs("score"))]
Lead = Annotated[Session, Depends(needs("kpis"))]
WorkerPost = Annotated[Session, Depends(csrf_checked("work"))]
ScorerPost = Annotated[Session, Depends(csrf_checked("score"))]
