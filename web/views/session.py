"""Sign-in at ``/`` and sign-out: a session cookie from a user name and password."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from store.sessions import SESSION_HOURS, SignInRefused, sign_in, sign_out
from web.auth import (
    COOKIE,
    SIGNIN_COOKIE,
    checked_form,
    cookie_options,
    current,
    local_path,
    needs,
    signin_matches,
    store_of,
)
from web.render import page

router = APIRouter()


def landing(role: str) -> str:
    """Where a user starts: billers check claims, everyone else works the queue."""
    return "/check" if role == "biller" else "/worklist"


def _safe_next(target: str | None, role: str) -> str:
    return local_path(target) or landing(role)


@router.get("/")
async def sign_in_page(request: Request, next: str | None = None):
    found = current(request)
    if found is not None:
        return RedirectResponse(_safe_next(next, found.user.role), status_code=303)
    return _form(request, next)


def _form(request: Request, next: str | None, error: str = "", status: int = 200):
    token = secrets.token_urlsafe(32)
    response = page(request, "signin.html", status, next=next or "", error=error, token=token)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, **cookie_options(request))
    return response


@router.post("/sign-in")
async def sign_in_post(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
):
    if not signin_matches(request, token):
        return _form(request, next, "The sign-in form expired: please sign in again.", 403)

    def attempt():
        with store_of(request).begin() as conn:  # a refusal commits too: it counts to a lockout
            try:
                return sign_in(conn, username.strip(), password)
            except SignInRefused as exc:
                return exc

    got = await run_in_threadpool(attempt)
    if isinstance(got, SignInRefused):
        return _form(request, next, str(got), 401)
    cookie, found = got
    response = RedirectResponse(_safe_next(next, found.user.role), status_code=303)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_HOURS * 3600, **cookie_options(request))
    response.delete_cookie(SIGNIN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out_post(request: Request, csrf: Annotated[str, Form()] = ""):
    found = needs("score")(request)
    checked_form(request, found, csrf)
    with store_of(request).begin() as conn:
        sign_out(conn, request.cookies.get(COOKIE, ""), found.user.name)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
