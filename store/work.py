"""A person working one item: who may, against which version, and the write with its audit.

The one place both the HTTP API (``PATCH /v1/worklist/{id}``) and the web app change an item,
so that the version check, the analyst/lead rule, the life cycle (``store.worklist.move``) and
the note are the same whichever screen or script made the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from store import worklist
from store.audit import now, record
from store.schema import notes
from store.schema import worklist_items as items


class NoSuchItem(LookupError):
    pass


class VersionConflict(ValueError):
    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version


class NotYours(PermissionError):
    pass


@dataclass(frozen=True)
class Worker:
    """Who makes the change, and whether they may move items between people (a lead)."""

    name: str
    may_reassign: bool


@dataclass(frozen=True)
class ItemChange:
    status: str | None = None
    assignee: str | None = None
    unassign: bool = False
    note: str | None = None


def allowed(worker: Worker, item: dict, change: ItemChange) -> None:
    """Analysts work their own items and unassigned ones, and may take an unassigned one;
    moving an item between people needs a lead."""
    if worker.may_reassign:
        return
    mine = item["assignee"] in (None, worker.name)
    taking = change.assignee in (None, worker.name) and not change.unassign
    if not (mine and taking):
        raise NotYours(
            f"{worker.name} is an analyst: only items assigned to them or to nobody, and only "
            "to themselves; a lead reassigns"
        )


def work_item(
    conn: Connection, item_id: int, version: int, worker: Worker, change: ItemChange
) -> dict:
    """Apply ``change`` to item ``item_id`` if it is still at ``version``; the item after."""
    query = select(items).where(items.c.id == item_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).mappings().first()
    if found is None:
        raise NoSuchItem(f"no worklist item {item_id}")
    found = dict(found)
    if found["version"] != version:
        raise VersionConflict(
            f"item {item_id} changed meanwhile (version {found['version']}, you sent {version}): "
            "reload it and apply your change again",
            found["version"],
        )
    allowed(worker, found, change)
    # a move the life cycle does not allow raises worklist.TransitionError
    changed = worklist.move(
        conn, found, worker.name, change.status, change.assignee, change.unassign
    )
    if change.note:
        conn.execute(
            insert(notes).values(
                item_id=item_id, author=worker.name, text=change.note, written_at=now()
            )
        )
        record(
            conn, worker.name, "note", "worklist_item", item_id, None, {"note": change.note[:200]}
        )
        if not changed:  # a note alone is a change of the item too
            conn.execute(
                update(items)
                .where(items.c.id == item_id)
                .values(version=found["version"] + 1, updated_at=now())
            )
    return dict(conn.execute(select(items).where(items.c.id == item_id)).mappings().one())
