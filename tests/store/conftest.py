"""Every store test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import subprocess

import pytest
from sqlalchemy import create_engine, text

from store.db import database_url, engine
from store.migrate import upgrade
from tests.store.postgres import cluster

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    try:
        with cluster() as url:
            yield url
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(f"PostgreSQL store tests skipped: {detail.strip()[:300]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A new, empty store (its URL), migrated to the current schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"store_{next(_counter)}"
        admin = create_engine(database_url(server), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + f"/{name}"
    eng = engine(url)
    upgrade(eng)
    eng.dispose()
    return url


@pytest.fixture
def store(store_url):
    eng = engine(store_url)
    yield eng
    eng.dispose()
