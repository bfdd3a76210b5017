"""``/monitoring``: the latest monitoring pass kept in the store (``claimrisk monitor --db``):
payer-behaviour alerts with what to do, the model's estimated beside realised performance, and
what drifted. Leads read it (the ``kpis`` permission); the pass itself is run by the command."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from store.monitoring import latest_run
from web.auth import Lead
from web.render import page

router = APIRouter()


def _latest(store) -> dict | None:
    with store.connect() as conn:
        return latest_run(conn)


@router.get("/monitoring")
async def monitoring_page(request: Request, who: Lead):
    run = await run_in_threadpool(_latest, request.app.state.store)
    return page(request, "monitoring.html", run=run)
