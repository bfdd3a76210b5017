"""``/dashboard``: denial trends for leads, from ``store.kpis`` (the definitions are shown).

Denial rate by month (all payers and the five with the most claims), the reason mix and the
dollars denied, recovered and at risk, first-pass yield and overturn rate, A/R aging, and the
providers and procedures with the most denied dollars. Filters: payer and submission dates.
Each chart is SVG drawn here, with its numbers in a table.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from store import worklist
from store.kpis import Scope, kpis
from store.schema import payers
from web import charts
from web.auth import Lead, NotPermitted, store_of
from web.render import page

router = APIRouter()
TOP = 10


def _day(text: str, name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise NotPermitted(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


@router.get("/dashboard")
async def dashboard(
    request: Request, who: Lead, payer_id: str = "", since: str = "", until: str = ""
):
    scope = Scope(payer_id or None, _day(since, "from"), _day(until, "to"))

    def read():
        with store_of(request).connect() as conn:
            today = worklist.store_day(conn)
            known = list(
                conn.execute(select(payers.c.payer_id).order_by(payers.c.payer_id)).scalars()
            )
            return kpis(conn, today, scope), known

    numbers, payer_ids = await run_in_threadpool(read)
    return page(
        request,
        "dashboard.html",
        k=numbers,
        charts=_charts(numbers),
        payer_ids=payer_ids,
        filters={"payer_id": payer_id, "since": since, "until": until},
    )


def _charts(k: dict) -> list[dict]:
    """Each chart: its title, the SVG, and the table of its numbers (header, rows)."""
    months = [r["month"] for r in k["by_month"]]
    busiest = sorted(k["by_payer"], key=lambda r: -r["claims"])[:5]
    series = {"all payers": [r["denial_rate"] for r in k["by_month"]]}
    by_cell = {(r["month"], r["payer"]): r["denial_rate"] for r in k["by_month_payer"]}
    for p in busiest:
        series[p["payer"]] = [by_cell.get((m, p["payer"])) for m in months]
    pct = lambda v: f"{100 * v:.0f}%"  # noqa: E731
    dollars = lambda v: f"${v:,.0f}"  # noqa: E731
    reasons = sorted(k["by_category"], key=lambda r: -r["dollars_denied"])
    providers = sorted(k["by_provider"], key=lambda r: -r["dollars_denied"])[:TOP]
    procedures = sorted(k["by_procedure"], key=lambda r: -r["dollars_denied"])[:TOP]
    money = [
        ("denied", k["total"]["dollars_denied"]),
        ("recovered", k["total"]["dollars_recovered"]),
        ("at risk", k["total"]["dollars_at_risk"]),
    ]
    aging = [(r["bucket"] + " days", r["dollars"]) for r in k["ar_aging"]]
    return [
        {
            "id": "denial-rate",
            "title": "Denial rate by month of submission",
            "svg": charts.lines("Denial rate by month", months, series, pct),
            "header": ["month", *series],
            "rows": [[m, *(_pct(s[i]) for s in series.values())] for i, m in enumerate(months)],
        },
        _bar_chart(
            "reason-mix",
            "Denied dollars by reason",
            [(r["category"], r["dollars_denied"]) for r in reasons],
            dollars,
        ),
        _bar_chart("dollars", "Dollars denied, recovered and at risk", money, dollars),
        _bar_chart("aging", "A/R aging: unpaid dollars by days since submission", aging, dollars),
        _bar_chart(
            "providers",
            f"Top {TOP} providers by denied dollars",
            [(r["provider"], r["dollars_denied"]) for r in providers],
            dollars,
        ),
        _bar_chart(
            "procedures",
            f"Top {TOP} procedures by denied dollars",
            [(r["procedure"], r["dollars_denied"]) for r in procedures],
            dollars,
        ),
    ]


def _bar_chart(key: str, title: str, rows: list[tuple[str, float]], fmt) -> dict:
    return {
        "id": key,
        "title": title,
        "svg": charts.bars(title, rows, fmt),
        "header": ["", "value"],
        "rows": [[label, fmt(v)] for label, v in rows],
    }


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}%"
