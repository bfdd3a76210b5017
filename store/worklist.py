"""The worklist in the store: items made from denials, their life cycle, routing and ranking.

Life cycle (``TRANSITIONS``): a denial loaded from an 835 opens an item; an analyst moves it
open → in_progress → appealed → won or lost, or writes it off. The store moves it too: past its
deadline an unworked item expires (``expire``); a later paying remit for the claim, or for a
replacement of it, closes it as won with the amount paid; a corrected claim sent for it (a
replacement or void) marks it appealed. Every change, by a person or by the store, is an audit
row in the same transaction, and bumps the item's ``version`` (for optimistic concurrency).

Order: the model's ranking (``training.worklist``): expected recovered dollars per hour of
work in near-equal bands, then the nearest deadline. It is kept as ``priority_key`` (minus the
band) so that the database walks one index to serve a page of the queue.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, func, insert, or_, select

from features.codes import label_remits
from store.audit import now, record_many
from store.audit import row as audit_row
from store.db import CHUNK, insert_many, update_many, where_in
from store.schema import audit_log, claim_lines, claims, payers, remits, routing_rules
from store.schema import worklist_items as items

OPEN = ("open", "in_progress")
ACTIVE = ("open", "in_progress", "appealed")
TERMINAL = ("won", "lost", "written_off", "expired")
#: Moves a person may make (the store's own moves, expiry and payment, are not listed).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "appealed", "written_off"),
    "in_progress": ("open", "appealed", "written_off"),
    "appealed": ("won", "lost", "in_progress"),
}
#: Unranked items go after every ranked one, closed items after those: a page of the queue in
#: working order is then the first rows of one index, however many items closed before.
UNRANKED = 1_000_000
CLOSED = 2_000_000
#: Deadline of a denial whose payer's appeal window is unknown: a year, and the item says so.
UNKNOWN_WINDOW_DAYS = 365


class TransitionError(ValueError):
    pass


#: One change of an item: the item as read, the values it takes, and the audit action.
Change = tuple[dict, dict[str, Any], str]


def change(conn: Connection, item: dict, values: dict[str, Any], actor: str, action: str) -> None:
    """Apply ``values`` to an item, bump its version and write the audit row (from → to)."""
    change_many(conn, [(item, values, action)], actor)


def change_many(conn: Connection, changes: Sequence[Change], actor: str) -> None:
    """``change`` for many items: one UPDATE per shape of change (executemany) and one INSERT
    of their audit rows, rather than two statements an item (2,600 items: 3.4 s → 0.2 s)."""
    at = now()
    updates, audit = [], []
    for item, values, action in changes:
        order = {"priority_key": CLOSED} if values.get("status") in TERMINAL else {}
        version = item["version"] + 1
        updates.append({"id": item["id"], **values, **order, "version": version, "updated_at": at})
        before = {k: item[k] for k in values}
        audit.append(audit_row(actor, action, "worklist_item", item["id"], before, values, at))
    update_many(conn, items, updates)
    insert_many(conn, audit_log, audit)


# -- from remits --------------------------------------------------------------------------------


def apply_remits(
    conn: Connection,
    frame: pd.DataFrame,
    adjustments: pd.DataFrame,
    remarks: pd.DataFrame,
    actor: str,
) -> tuple[int, int]:
    """New remits' effect on the worklist: (items opened, items closed).

    The denial rule is ``features.codes.label_remits``, as in training. A claim's first-pass
    remit is its earliest that is not a reversal (``features.codes.initial_outcomes``'s rule);
    when it denies, the claim gets an item. A later remit that pays closes the active item of
    its claim, or of the claims it replaced, as won.
    """
    labels = label_remits(frame, adjustments)
    live = frame.assign(
        denied=labels["denied"].to_numpy(), category=labels["denial_category"].to_numpy()
    )
    live = live[live["claim_status_code"] != "22"]
    opened = _open_items(conn, live[live["denied"]], adjustments, remarks, actor)
    closed = _close_paid(conn, live[~live["denied"] & (live["paid_amount"] > 0)], actor)
    return opened, closed


def _open_items(
    conn: Connection,
    denials: pd.DataFrame,
    adjustments: pd.DataFrame,
    remarks: pd.DataFrame,
    actor: str,
) -> int:
    """An open item for each claim whose first decision is one of ``denials`` and that has no
    item yet, routed by the rules and audited; how many were opened."""
    todo = _first_denials(conn, denials)
    if todo.empty:
        return 0
    heads = {
        r["claim_id"]: r
        for r in where_in(
            conn,
            select(
                claims.c.claim_id,
                claims.c.rendering_npi,
                claims.c.billing_npi,
                claims.c.total_charge,
            ),
            claims.c.claim_id,
            todo["claim_id"].tolist(),
        )
    }
    windows = dict(conn.execute(select(payers.c.payer_id, payers.c.appeal_window_days)).all())
    codes = _codes(adjustments, remarks)
    rules = _rules(conn)
    rows = []
    for r in todo.to_dict("records"):
        window = windows.get(r["payer_id"]) or UNKNOWN_WINDOW_DAYS
        values = _new_item(r, heads[r["claim_id"]], codes.get(r["remit_id"], []), int(window))
        values.update(route(rules, values))
        rows.append(values)
    insert_many(conn, items, rows)
    made = {
        r["claim_id"]: r["id"]
        for r in where_in(
            conn,
            select(items.c.id, items.c.claim_id),
            items.c.claim_id,
            [r["claim_id"] for r in rows],
        )
    }
    record_many(
        conn,
        actor,
        "create",
        "worklist_item",
        [
            (
                made[r["claim_id"]],
                None,
                {k: r[k] for k in ("claim_id", "status", "assignee", "team", "rule_id")},
            )
            for r in rows
        ],
    )
    return len(rows)


def _first_denials(conn: Connection, denials: pd.DataFrame) -> pd.DataFrame:
    """The ``denials`` that are their claim's first decision (reversals aside) on a claim with
    no item yet: a claim is worked once, from the denial that started it."""
    if denials.empty:
        return denials
    ids = denials["claim_id"].tolist()
    listed = {
        r["claim_id"] for r in where_in(conn, select(items.c.claim_id), items.c.claim_id, ids)
    }
    history = pd.DataFrame(
        where_in(
            conn,
            select(remits.c.claim_id, remits.c.remit_id, remits.c.remit_date).where(
                remits.c.claim_status_code != "22"
            ),
            remits.c.claim_id,
            ids,
        )
    )
    first = set(
        history.sort_values(["claim_id", "remit_date", "remit_id"]).drop_duplicates("claim_id")[
            "remit_id"
        ]
    )
    return denials[denials["remit_id"].isin(first) & ~denials["claim_id"].isin(listed)]


def _new_item(
    denial: dict[str, Any], head: Mapping[str, Any], carcs: list[str], window_days: int
) -> dict[str, Any]:
    """An open, unranked, unassigned item's row for one denial (``head``: its claim's
    providers and charge); the appeal deadline is the denial date plus the payer's window."""
    return {
        "claim_id": denial["claim_id"],
        "remit_id": denial["remit_id"],
        "payer_id": denial["payer_id"],
        "provider_npi": head["rendering_npi"] or head["billing_npi"],
        "category": denial["category"],
        "carc_codes": carcs,
        "denied_amount": float(head["total_charge"]),
        "denial_date": denial["remit_date"],
        "deadline": denial["remit_date"] + dt.timedelta(days=window_days),
        "status": "open",
        "priority_key": UNRANKED,
        "version": 1,
        "created_at": now(),
        "updated_at": now(),
        "assignee": None,
        "team": None,
        "rule_id": None,
    }


def _codes(adjustments: pd.DataFrame, remarks: pd.DataFrame) -> dict[str, list[str]]:
    """Each remit's adjustment codes (GROUP-CARC, file order), then its remarks."""
    out: dict[str, list[str]] = {}
    for remit_id, group, carc in zip(
        adjustments["remit_id"], adjustments["group_code"], adjustments["carc"], strict=True
    ):
        out.setdefault(remit_id, []).append(f"{group}-{carc}")
    for remit_id, rarc in zip(remarks["remit_id"], remarks["rarc"], strict=True):
        out.setdefault(remit_id, []).append(rarc)
    return out


def _close_paid(conn: Connection, paid: pd.DataFrame, actor: str) -> int:
    if paid.empty:
        return 0
    ids = paid["claim_id"].tolist()
    replaced = where_in(
        conn, select(claims.c.claim_id, claims.c.superseded_by), claims.c.superseded_by, ids
    )
    payer_of = {r["claim_id"]: r["superseded_by"] for r in replaced}
    found = where_in(
        conn,
        select(items).where(items.c.status.in_(ACTIVE)),
        items.c.claim_id,
        ids + list(payer_of),
    )
    payments: dict[str, list[tuple]] = {}  # claim → its paying remits, earliest first
    ordered = paid.sort_values(["remit_date", "remit_id"])
    for claim, day, remit_id, dollars in zip(
        ordered["claim_id"],
        ordered["remit_date"],
        ordered["remit_id"],
        ordered["paid_amount"],
        strict=True,
    ):
        payments.setdefault(claim, []).append((day, remit_id, float(dollars)))
    changes: list[Change] = []
    for item in found:
        claim = item["claim_id"] if item["claim_id"] in payments else payer_of[item["claim_id"]]
        later = [p for p in payments[claim] if p[0] >= item["denial_date"]]
        if not later:
            continue
        _, remit_id, dollars = later[0]
        values = {"status": "won", "recovered_amount": dollars}
        changes.append((dict(item), values, f"paid by remit {remit_id}"))
    change_many(conn, changes, actor)
    return len(changes)


def corrected(conn: Connection, original: str, new: str, frequency: str, actor: str) -> None:
    """A replacement (7) or void (8) was sent for ``original``: its open item is appealed."""
    item = (
        conn.execute(select(items).where(items.c.claim_id == original, items.c.status.in_(OPEN)))
        .mappings()
        .first()
    )
    if item is not None:
        kind = "replacement" if frequency == "7" else "void"
        change(conn, dict(item), {"status": "appealed"}, actor, f"{kind} claim {new} sent")


# -- routing ------------------------------------------------------------------------------------

RULE_FIELDS = ("category", "payer_id", "provider_npi", "min_amount", "max_amount")


def _rules(conn: Connection) -> list[Any]:
    query = select(routing_rules).where(routing_rules.c.active.is_(True))
    return (
        conn.execute(query.order_by(routing_rules.c.position, routing_rules.c.id)).mappings().all()
    )


def route(rules: Sequence[Any], item: dict) -> dict[str, Any]:
    """Assignee, team and rule of the first active rule (by position) that the item meets."""
    for rule in rules:
        if _meets(item, rule):
            return {"assignee": rule["assignee"], "team": rule["team"], "rule_id": rule["id"]}
    return {}


def _meets(item: dict, rule: Any) -> bool:
    amount = item["denied_amount"]
    return (
        rule["category"] in (None, item["category"])
        and rule["payer_id"] in (None, item["payer_id"])
        and rule["provider_npi"] in (None, item["provider_npi"])
        and (rule["min_amount"] is None or amount >= rule["min_amount"])
        and (rule["max_amount"] is None or amount < rule["max_amount"])
    )


# -- the store's own moves ----------------------------------------------------------------------


def expire(conn: Connection, today: dt.date) -> int:
    """Unworked items whose deadline passed (before ``today``) expire, each with its audit row."""
    due = (
        conn.execute(select(items).where(items.c.status.in_(OPEN), items.c.deadline < today))
        .mappings()
        .all()
    )
    change_many(conn, [(dict(i), {"status": "expired"}, "deadline passed") for i in due], "system")
    return len(due)


def rank(conn: Connection, model, today: dt.date, model_version: str) -> int:
    """Give every active item the model's recovery odds, dollars, effort and next step, and its
    place in the order. Only items ranked by another model (or none) are touched."""
    todo = (
        conn.execute(
            select(items).where(
                items.c.status.in_(ACTIVE),
                or_(items.c.model_version.is_(None), items.c.model_version != model_version),
            )
        )
        .mappings()
        .all()
    )
    for start in range(0, len(todo), CHUNK):
        _rank_chunk(conn, model, today, model_version, todo[start : start + CHUNK])
    return len(todo)


def _rank_chunk(conn: Connection, model, today: dt.date, version: str, todo: list) -> None:
    from training.worklist import value_band

    ids = [t["claim_id"] for t in todo]
    head = pd.DataFrame(conn.execute(select(claims).where(claims.c.claim_id.in_(ids))).mappings())
    lines = pd.DataFrame(
        conn.execute(select(claim_lines).where(claim_lines.c.claim_id.in_(ids))).mappings()
    )
    head = head.set_index("claim_id").loc[ids].reset_index()
    from store.export import typed

    x = model.pipeline.encode(typed(head, "claims"), typed(lines, "claim_lines")).matrix
    categories = np.array([t["category"] for t in todo], dtype=object)
    days_left = np.array([(t["deadline"] - today).days for t in todo], dtype=float)
    denied = np.array([t["denied_amount"] for t in todo], dtype=float)
    ranked = model.rank_denials(x, categories, denied, days_left)
    band = value_band(ranked["expected_recovery"].to_numpy(), ranked["effort_hours"].to_numpy())
    rows = [
        {
            "id": t["id"],
            "model_version": version,
            "recovery_probability": float(r["recovery_probability"]),
            "recoverable_amount": float(r["recoverable_amount"]),
            "expected_recovery": float(r["expected_recovery"]),
            "effort_hours": float(r["effort_hours"]),
            "next_step": str(r["next_step"]),
            "priority_key": int(-b) if math.isfinite(b) else UNRANKED,
        }
        for t, r, b in zip(todo, ranked.to_dict("records"), band, strict=True)
    ]
    update_many(conn, items, rows)


# -- people's moves -----------------------------------------------------------------------------


def move(
    conn: Connection,
    item: dict,
    actor: str,
    status: str | None = None,
    assignee: str | None = None,
    unassign: bool = False,
) -> dict[str, Any]:
    """Validate and apply a person's change of status and/or assignee; returns what changed."""
    values: dict[str, Any] = {}
    if status is not None and status != item["status"]:
        allowed = TRANSITIONS.get(item["status"], ())
        if status not in allowed:
            options = ", ".join(allowed) or "nothing: the item is closed"
            raise TransitionError(
                f"an item that is {item['status']} cannot become {status}; it may become {options}"
            )
        values["status"] = status
    if unassign and item["assignee"] is not None:
        values["assignee"] = None
    elif assignee is not None and assignee != item["assignee"]:
        values["assignee"] = assignee
    if values:
        change(conn, item, values, actor, "update")
    return values


def page(
    conn: Connection,
    filters: dict[str, Any],
    sort: str,
    after: Sequence[Any] | None,
    limit: int,
) -> list[dict]:
    """One page of the queue: ``filters`` (status, payer_id, category, assignee, due_before),
    ``sort`` (a key of ``SORTS``), keyset pagination after the last row's sort values."""
    keys = SORTS[sort]
    query = _filtered(select(items), filters)
    if after is not None:
        query = query.where(_after(keys, after))
    query = query.order_by(*(k if asc else k.desc() for k, asc in keys)).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def totals(conn: Connection, filters: dict[str, Any]) -> dict[str, float]:
    """Items, dollars denied and expected recovered dollars of the queue under ``filters``."""
    query = _filtered(
        select(
            func.count(),
            func.coalesce(func.sum(items.c.denied_amount), 0),
            func.coalesce(func.sum(items.c.expected_recovery), 0),
        ),
        filters,
    )
    count, denied, expected = conn.execute(query).one()
    return {"items": int(count), "denied": float(denied), "expected": float(expected)}


def _filtered(query, filters: dict[str, Any]):
    """``query`` limited to the items ``filters`` name (status defaults to the open ones)."""
    query = query.where(items.c.status.in_(filters.get("status") or OPEN))
    for name in ("payer_id", "category", "assignee"):
        if filters.get(name):
            query = query.where(items.c[name] == filters[name])
    if filters.get("due_before"):
        query = query.where(items.c.deadline <= filters["due_before"])
    return query


#: Sort orders: (column, ascending) pairs ending in the id, so every order is total.
SORTS = {
    "priority": ((items.c.priority_key, True), (items.c.deadline, True), (items.c.id, True)),
    "deadline": ((items.c.deadline, True), (items.c.id, True)),
    "amount": ((items.c.denied_amount, False), (items.c.id, False)),
    "age": ((items.c.denial_date, True), (items.c.id, True)),
}


def encode_cursor(row: dict, sort: str) -> str:
    """The opaque cursor of the page after ``row``: its sort values."""
    values = [row[k.name] for k, _ in SORTS[sort]]
    raw = json.dumps([v.isoformat() if isinstance(v, dt.date) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort values in a cursor from ``encode_cursor``; ValueError for any other text."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        keys = SORTS[sort]
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [
            dt.date.fromisoformat(v) if k.name in ("deadline", "denial_date") else v
            for v, (k, _) in zip(values, keys, strict=True)
        ]
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValueError(
            "cursor is not one this service gave for this sort: start again without it"
        ) from None


def _after(keys, values: Sequence[Any]):
    """Rows strictly after ``values`` in the order ``keys`` (a keyset condition)."""
    clauses = []
    for i, (column, asc) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = column > values[i] if asc else column < values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def store_day(conn: Connection, day: dt.date | None = None) -> dt.date:
    """The day the store works on: today, unless ``db load --as-of`` set one (a replay or a demo
    lives in its world's time); the service ranks, expires and reports as of it."""
    from store.schema import store_state

    if day is not None:
        conn.execute(store_state.delete().where(store_state.c.key == "as_of"))
        conn.execute(insert(store_state).values(key="as_of", value=day.isoformat()))
        return day
    found = conn.execute(select(store_state.c.value).where(store_state.c.key == "as_of")).scalar()
    return dt.date.fromisoformat(found) if found else dt.date.today()
