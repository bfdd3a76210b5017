"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from serving.deps import AppMetrics
from serving.errors import NotReady
from store.monitoring import latest_run, latest_run_id

router = APIRouter()


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: 503 until a model that scores is loaded")
def readyz(request: Request) -> dict[str, str]:
    current = request.app.state.slot.current
    if current is None:
        raise NotReady("no model loaded yet")
    return {"status": "ready", "model_version": current.version}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus(request: Request, metrics: AppMetrics) -> Response:
    store = request.app.state.store
    if store is not None:  # the monitor gauges follow the latest pass kept in the store
        with store.connect() as conn:
            latest = latest_run_id(conn)
            if latest is not None and latest != metrics.monitor_run:
                metrics.set_monitor(latest_run(conn))
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
