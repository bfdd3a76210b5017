"""The FastAPI app: ``create_app(settings)`` wires settings, model, metrics, errors and routes.

Each call builds a fresh app (its own Prometheus registry, its own model slot), so tests and
workers never share state by accident. The model is loaded in ``lifespan`` (readiness is 503
until it is), unless a test hands one in. ``uvicorn --factory serving.app:create_app`` runs it
from ``CLAIMRISK_*`` settings. No request body or claim field is ever logged: logs and metrics
carry counts, latencies, statuses, key fingerprints and the model version only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from serving import errors, lane, pool
from serving.history import History
from serving.lane import BatchLane
from serving.metrics import Guard, Metrics
from serving.routes import claims, health, model, queue, worklist
from serving.settings import Settings
from serving.state import Loaded, ModelSlot, load
from store.users import KeyCheck
from training.edits.book import EditBook

log = logging.getLogger("claimrisk.serving")


def configure_logging() -> None:
    """Send ``claimrisk.*`` records (model loads, the reload audit, internal errors by type) to
    stderr at INFO, unless the host already configured the logger: uvicorn configures only its
    own, and an audit line that nobody receives is no audit."""
    logger = logging.getLogger("claimrisk")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def open_store(url: str) -> Engine:
    """The store's engine, refused at start-up unless its schema is the current one."""
    from store.db import engine, redacted
    from store.migrate import current, head

    eng = engine(url)
    at = current(eng)
    if at != head():
        raise RuntimeError(
            f"the store at {redacted(url)} is at schema {at or 'none'}, not {head()}: run "
            "`claimrisk db upgrade --db URL` first"
        )
    return eng


def update_queue(eng: Engine, loaded: Loaded) -> None:
    """As of the store's day (``store.worklist.store_day``): unworked items past their deadline
    expire, and items not yet ranked by the served model get its odds, dollars and order."""
    from store import worklist as store_worklist

    with eng.begin() as conn:
        day = store_worklist.store_day(conn)
        store_worklist.expire(conn, day)  # items past their deadline expire on their own
        store_worklist.rank(conn, loaded.model, day, loaded.version)


def warm_dashboard(eng: Engine) -> None:
    """Read what the dashboard's figures are counted from, if a load or a change happened
    since: a million claims take seconds to read, which no lead should wait for."""
    from store import kpis

    with eng.connect() as conn:
        kpis.warm(conn)


async def _watch_history(app: FastAPI) -> None:
    """Warm the dashboard; then every ``history_check_seconds``: refresh the history from the
    store if it changed, expire what passed its deadline, rank what is new, warm again."""
    while True:
        try:
            await run_in_threadpool(warm_dashboard, app.state.store)
        except Exception as exc:  # the dashboard reads for itself
            log.error("dashboard warm-up failed: %s", type(exc).__name__)
        await asyncio.sleep(app.state.settings.history_check_seconds)
        try:
            await run_in_threadpool(app.state.history.refresh, app.state.slot)
            await run_in_threadpool(update_queue, app.state.store, app.state.slot.current)
        except Exception as exc:  # the service keeps the history it has
            log.error("history refresh failed: %s", type(exc).__name__)


def create_app(settings: Settings | None = None, loaded: Loaded | None = None) -> FastAPI:
    """The service. ``loaded`` lets tests inject a model; otherwise ``settings.model`` loads."""
    settings = settings or Settings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open_pool(app)
        served = app.state.slot.current is None  # a real server loads its own model
        if served:
            app.state.slot.current = await run_in_threadpool(
                load, settings.model, settings.tracking_uri
            )
        app.state.metrics.set_model(app.state.slot.current.version)
        watcher = None
        if app.state.store is not None:
            await run_in_threadpool(app.state.history.refresh, app.state.slot)
            await run_in_threadpool(update_queue, app.state.store, app.state.slot.current)
            watcher = asyncio.create_task(_watch_history(app))
        else:  # with a store, history is refreshed in this process: no lane holding its own copy
            lane.open_lane(app, warm=served)  # an app handed a model starts it on first use
        yield
        if watcher is not None:
            watcher.cancel()
        lane.close_lane(app)
        pool.close_pool(app)
        if app.state.store is not None:
            app.state.store.dispose()

    # /docs and /redoc with their scripts and styles served from the fastapi-offline package:
    # hospital networks are often closed, and a CDN-loaded page is blank there.
    app = FastAPIOffline(
        title="claimrisk",
        version="0.1.0",
        description="Denial risk before submission, explanations a biller can act on, and the "
        "denial worklist ranked by expected recovered dollars. Send `X-API-Key`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.slot = ModelSlot(loaded, settings.tracking_uri)
    app.state.metrics = Metrics()
    app.state.edits = EditBook.load(settings.edits) if settings.edits else None
    app.state.store = open_store(settings.database_url) if settings.database_url else None
    app.state.keys = KeyCheck(app.state.store) if app.state.store is not None else None
    app.state.history = History(app.state.store) if app.state.store is not None else None
    app.add_middleware(BatchLane, fastapi=app)  # inside Guard: its limits and metrics apply
    app.add_middleware(claims.X12Dispatch)
    app.add_middleware(Guard, max_bytes=settings.max_body_bytes, metrics=app.state.metrics)
    errors.install(app)
    for router in (claims.router, worklist.router, queue.router, model.router, health.router):
        app.include_router(router)
    if settings.admin() or app.state.store is not None:  # admins: keys, or store users
        app.include_router(model.admin)
    if app.state.store is not None:  # the web app's pages are the store's (users, worklist)
        from web.app import install

        install(app)
    return app
