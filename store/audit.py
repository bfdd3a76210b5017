"""The audit log: one append-only row for every change of state, written in the same
transaction as the change (so there is never a change without its row, or a row without it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select

from store.schema import audit_log


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Who (``actor``) did what (``action`` on ``entity``/``entity_id``), from ``before`` to
    ``after`` (only the fields that changed, JSON-safe)."""
    conn.execute(
        insert(audit_log).values(
            at=now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=_safe(before),
            after=_safe(after),
        )
    )


def record_many(
    conn: Connection, actor: str, action: str, entity: str, changes: list[tuple]
) -> None:
    """``record`` for many rows at once: ``changes`` holds (entity_id, before, after) triples."""
    at = now()
    rows = [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(i),
            "before": _safe(b),
            "after": _safe(a),
        }
        for i, b, a in changes
    ]
    for start in range(0, len(rows), 5_000):
        conn.execute(insert(audit_log), rows[start : start + 5_000])


def history(conn: Connection, entity: str, entity_id: object) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit_log)
        .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(entity_id))
        .order_by(audit_log.c.id)
    ).mappings()
    return [
        {**r, "at": r["at"].isoformat() if hasattr(r["at"], "isoformat") else r["at"]} for r in rows
    ]


def _safe(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in values.items()
    }
