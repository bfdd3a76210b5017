"""A real claimrisk server (uvicorn, over HTTP) on a store holding the small world, with a
user per role who signs in with a password."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from features.x12.write import write_837, write_x12
from serving.app import create_app
from serving.settings import Settings
from serving.state import load
from store import worklist
from store.db import engine
from store.load import load_x12
from store.migrate import upgrade
from store.sessions import set_password
from store.users import add_user

TODAY = dt.date(2025, 12, 31)  # the small world's last day: its recent denials are open
PASSWORD = "correct horse battery"
ROLES = ("biller", "analyst", "lead", "admin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site(small_world, trained, tmp_path_factory):
    """(base URL, store engine, the world's 837 file) of a running server."""
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'store.db'}"
    eng = engine(url)
    upgrade(eng)
    with eng.begin() as conn:
        for role in ROLES:
            add_user(conn, role, role, "test")
            set_password(conn, role, PASSWORD, "test")
    files = write_x12(small_world[0], folder / "x12")
    load_x12(eng, files, "test", lambda _: None)
    with eng.begin() as conn:
        worklist.store_day(conn, TODAY)
    app = create_app(Settings(database_url=url), load(str(trained[0].folder)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError("the test server did not become ready")
    yield base, eng, _batch_837(small_world[0], folder / "upload")
    server.should_exit = True
    thread.join(10)
    eng.dispose()


def _batch_837(tables: dict, folder) -> Path:
    """A day's batch to check before sending: the world's last 300 professional claims."""
    claims = tables["claims"]
    batch = claims[claims["claim_type"] == "professional"].tail(300)
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"].isin(batch["claim_id"])]
    subset = {"claims": batch, "claim_lines": lines, "payers": tables["payers"]}
    return write_837(subset, folder, prefix="batch")[0]


def signed_in(base: str, role: str) -> httpx.Client:
    """An HTTP client signed in as ``role`` through the real sign-in form."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    form = client.get("/")
    token = form.text.split('name="token" value="')[1].split('"')[0]
    done = client.post("/sign-in", data={"username": role, "password": PASSWORD, "token": token})
    assert done.status_code == 303, done.text
    return client


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


@pytest.fixture(scope="session")
def monitor_run(site, trained, small_world) -> dict:
    """A real monitoring pass of the small world, kept in the site's store."""
    import pandas as pd

    from store.monitoring import save_run
    from training.monitor.report import monitor

    result = monitor(trained[0].model, small_world[0], pd.Timestamp(TODAY), 90)
    return {"run_id": save_run(site[1], result, "test"), **result}
