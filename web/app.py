"""The web app on the service: pages at ``/``, assets at ``/static``, all from the package.

``install(app)`` is called by ``serving.app.create_app`` when the service has a store (the
pages are the store's: its users, its worklist, its KPIs). Nothing is fetched from elsewhere:
the style sheet and the one small script ship in ``web/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from web.auth import NotPermitted, SignInNeeded, sign_in_url
from web.render import page
from web.views import check, claim, dashboard, model, monitoring, session, worklist

STATIC = Path(__file__).with_name("static")


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (session, worklist, claim, check, dashboard, model, monitoring):
        app.include_router(module.router, include_in_schema=False)
    app.add_exception_handler(SignInNeeded, _to_sign_in)
    app.add_exception_handler(NotPermitted, _refused)
    api = app.exception_handlers.get(RequestValidationError)

    async def invalid(request: Request, exc: RequestValidationError):
        """A page asked for with a value it cannot take (a hand-edited URL): a page that says
        which, not the API's JSON."""
        if api is not None and request.url.path.startswith("/v1/"):
            return await api(request, exc)
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return page(request, "refused.html", status=422, reason=f"not a valid value: {fields}")

    app.add_exception_handler(RequestValidationError, invalid)


async def _to_sign_in(request: Request, exc: SignInNeeded) -> RedirectResponse:
    return RedirectResponse(sign_in_url(exc.path), status_code=303)


async def _refused(request: Request, exc: NotPermitted):
    return page(request, "refused.html", status=403, reason=str(exc))
