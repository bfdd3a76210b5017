"""The page templates (Jinja2, autoescaped) and the one way a page is rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.auth import current

TEMPLATES = Path(__file__).with_name("templates")
env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["dollars"] = lambda v: "" if v is None else f"${v:,.0f}"
env.filters["cents"] = lambda v: "" if v is None else f"${v:,.2f}"
env.filters["pct"] = lambda v: "" if v is None else f"{100 * v:.1f}%"
#: The pages in the navigation, with the permission each needs (store.users.PERMISSIONS).
NAV = (
    ("/worklist", "Worklist", "work"),
    ("/check", "Check claims", "score"),
    ("/dashboard", "Dashboard", "kpis"),
    ("/model", "Model", "score"),
    ("/monitoring", "Monitoring", "kpis"),
)


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A full page: the template with the signed-in user, their navigation and form token."""
    found = current(request) if getattr(request.app.state, "store", None) is not None else None
    nav = [(href, label) for href, label, need in NAV if found and found.user.may(need)]
    html = env.get_template(name).render(
        request=request,
        session=found,
        nav=nav,
        path=request.url.path,
        csrf=found.csrf if found else "",
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


#: Every page: scripts and styles only from this origin (nothing inline), no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
