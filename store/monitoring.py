"""Monitoring passes kept in the store: the latest one feeds the service's gauges and the
monitoring page; each one saved is audited (who ran it, as of which day, how many alerts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from store import audit
from store.schema import monitor_runs


def save_run(eng: Engine, result: dict[str, Any], actor: str) -> int:
    """Keep one ``training.monitor.report.monitor`` result; its id."""
    with eng.begin() as conn:
        run_id = conn.execute(
            insert(monitor_runs).values(
                as_of=dt.date.fromisoformat(result["as_of"]),
                created_at=audit.now(),
                actor=actor,
                result=result,
            )
        ).inserted_primary_key[0]
        audit.record(
            conn, actor, "monitor", "monitor_run", run_id,
            after={"as_of": result["as_of"], "alerts": len(result["alerts"])},
        )  # fmt: skip
    return int(run_id)


#: Which pass is the latest: the latest ``as_of``, then the latest saved.
_LATEST = (monitor_runs.c.as_of.desc(), monitor_runs.c.id.desc())


def latest_run_id(conn: Connection) -> int | None:
    """The id of ``latest_run`` (cheap: the gauges ask on every scrape)."""
    return conn.execute(select(monitor_runs.c.id).order_by(*_LATEST).limit(1)).scalar()


def latest_run(conn: Connection) -> dict[str, Any] | None:
    """The latest pass (``_LATEST``) with its id, or None."""
    row = conn.execute(
        select(monitor_runs.c.id, monitor_runs.c.result).order_by(*_LATEST).limit(1)
    ).first()
    return None if row is None else {"run_id": row.id, **row.result}
