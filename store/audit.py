"""The audit log: one append-only row for every change of state, written in the same
transaction as the change (so there is never a change without its row, or a row without it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select

from store.db import insert_many
from store.schema import audit_log


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def row(
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """One audit row: who (``actor``) did what (``action`` on ``entity``/``entity_id``), from
    ``before`` to ``after`` (only the fields that changed, JSON-safe)."""
    return {
        "at": at or now(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": _safe(before),
        "after": _safe(after),
    }


def record(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit row (``row``'s fields)."""
    conn.execute(insert(audit_log).values(row(actor, action, entity, entity_id, before, after)))


def record_many(
    conn: Connection, actor: str, action: str, entity: str, changes: list[tuple]
) -> None:
    """``record`` for many rows at once: ``changes`` holds (entity_id, before, after) triples."""
    at = now()
    insert_many(conn, audit_log, [row(actor, action, entity, *c, at=at) for c in changes])


def history(conn: Connection, entity: str, entity_id: object) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit_log)
        .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(entity_id))
        .order_by(audit_log.c.id)
    ).mappings()
    return [plain(r) for r in rows]


def plain(row: Any) -> dict[str, Any]:
    """A row with its dates and times as ISO text: what JSON columns and responses carry."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in dict(row).items()}


def _safe(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if values is None else plain(values)
