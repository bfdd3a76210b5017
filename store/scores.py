"""Every score the service gives is remembered: which claim, which model, what it said, when
and for whom; ``as_of`` when the request asked for history before a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, desc, select

from store.audit import now, plain
from store.db import insert_many
from store.schema import scores


def remember(
    eng: Engine,
    given: list[dict[str, Any]],
    model_version: str,
    caller: str,
    as_of: dt.date | None = None,
) -> None:
    at = now()
    rows = [
        {
            "claim_id": s["claim_id"],
            "model_version": model_version,
            "denial_probability": float(s["denial_probability"]),
            "risk_band": s["risk_band"],
            "factors": s.get("factors"),
            "likely_categories": s["likely_categories"],
            "unknown_inputs": s.get("unknown_inputs"),
            "as_of": as_of,
            "scored_at": at,
            "scored_by": caller,
        }
        for s in given
    ]
    if rows:
        with eng.begin() as conn:
            insert_many(conn, scores, rows)


def latest(conn: Connection, claim_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(scores).where(scores.c.claim_id == claim_id).order_by(desc(scores.c.id)).limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return plain(row)
