"""The worklist in the store over HTTP: the queue, one item, working it, routing rules, KPIs.

These routes exist when the service has a store (``claimrisk serve --db URL``); without one
they answer 404 saying so. Roles are checked on every request (``serving.deps.requires``);
every change is written with its audit row in one transaction (``store.worklist``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, insert, select, update

from serving.deps import Lead, RuleEditor, Worker
from serving.errors import Conflict, Forbidden, InvalidClaims, NotFound, PreconditionRequired
from store import work, worklist
from store.audit import plain, record
from store.detail import item_detail
from store.kpis import Scope, kpis
from store.schema import routing_rules

router = APIRouter(tags=["worklist (store)"])
Status = Literal["open", "in_progress", "appealed", "won", "lost", "written_off", "expired"]
MAX_PAGE = 200


def _store(request: Request) -> Engine:
    eng = getattr(request.app.state, "store", None)
    if eng is None:
        raise NotFound("this service has no store: start it with `claimrisk serve --db URL`")
    return eng


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


@router.get("/v1/worklist", response_model=Page, summary="The denial queue, in working order")
async def queue(
    request: Request,
    caller: Worker,
    status: Annotated[list[Status] | None, Query()] = None,
    payer_id: str | None = None,
    category: str | None = None,
    assignee: str | None = None,
    due_before: dt.date | None = None,
    sort: Literal["priority", "deadline", "amount", "age"] = "priority",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page:
    eng = _store(request)
    try:
        after = worklist.decode_cursor(cursor, sort) if cursor else None
    except ValueError as exc:
        raise InvalidClaims(str(exc)) from None
    filters = {
        "status": status,
        "payer_id": payer_id,
        "category": category,
        "assignee": assignee,
        "due_before": due_before,
    }

    def read() -> list[dict]:
        with eng.connect() as conn:
            return worklist.page(conn, filters, sort, after, limit + 1)

    rows = await run_in_threadpool(read)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = worklist.encode_cursor(rows[-1], sort) if more else None
    return Page(items=[plain(r) for r in rows], next_cursor=nxt)


@router.get(
    "/v1/worklist/{item_id}", summary="One item: claim, remits and codes, prediction, history"
)
async def item(request: Request, item_id: int, caller: Worker, response: Response) -> dict:
    eng = _store(request)
    folder = request.app.state.settings.codes_dir

    def read() -> dict | None:
        with eng.connect() as conn:
            return item_detail(conn, item_id, folder)

    found = await run_in_threadpool(read)
    if found is None:
        raise NotFound(f"no worklist item {item_id}")
    response.headers["ETag"] = f'"{found["item"]["version"]}"'
    return found


class ItemChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "in_progress", "appealed", "won", "lost", "written_off"] | None = None
    assignee: str | None = Field(None, min_length=1, max_length=100)
    unassign: bool = False
    note: str | None = Field(None, min_length=1, max_length=4000)


def _version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the item's version (its ETag) so that a change made meanwhile "
            "by someone else is not overwritten"
        )
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise InvalidClaims(f"If-Match {if_match!r} is not an item version") from None


@router.patch("/v1/worklist/{item_id}", summary="Work an item: status, assignee, a note")
async def change_item(
    request: Request,
    item_id: int,
    change: ItemChange,
    caller: Worker,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict:
    eng = _store(request)
    version = _version(if_match)

    worker = work.Worker(caller.name, caller.may("reassign"))
    wanted = work.ItemChange(change.status, change.assignee, change.unassign, change.note)

    def write() -> dict:
        try:
            with eng.begin() as conn:
                return work.work_item(conn, item_id, version, worker, wanted)
        except work.NoSuchItem as exc:
            raise NotFound(str(exc)) from None
        except work.NotYours as exc:
            raise Forbidden(str(exc)) from None
        except work.VersionConflict as exc:
            raise Conflict(str(exc), version=exc.version) from None
        except worklist.TransitionError as exc:
            raise Conflict(str(exc), version=version) from None

    updated = await run_in_threadpool(write)
    response.headers["ETag"] = f'"{updated["version"]}"'
    return plain(updated)


@router.get("/v1/kpis", summary="Denial rate, first-pass yield, overturns, dollars, A/R aging")
async def read_kpis(
    request: Request,
    caller: Lead,
    as_of: dt.date | None = None,
    payer_id: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict:
    eng = _store(request)
    scope = Scope(payer_id, since, until)

    def read() -> dict:
        with eng.connect() as conn:
            return kpis(conn, as_of or worklist.store_day(conn), scope)

    return await run_in_threadpool(read)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = Field(..., ge=0, le=100_000, description="Rules apply in this order.")
    category: str | None = None
    payer_id: str | None = None
    provider_npi: str | None = None
    min_amount: float | None = Field(None, ge=0)
    max_amount: float | None = Field(None, ge=0)
    assignee: str | None = None
    team: str | None = None


@router.get("/v1/routing-rules", summary="The rules that assign new items, in order")
async def list_rules(request: Request, caller: RuleEditor) -> list[dict]:
    eng = _store(request)
    with eng.connect() as conn:
        rows = conn.execute(
            select(routing_rules)
            .where(routing_rules.c.active.is_(True))
            .order_by(routing_rules.c.position, routing_rules.c.id)
        ).mappings()
        return [dict(r) for r in rows]


@router.post("/v1/routing-rules", status_code=201, summary="Add a routing rule")
async def add_rule(request: Request, rule: Rule, caller: RuleEditor) -> dict:
    if rule.assignee is None and rule.team is None:
        raise InvalidClaims("a rule must name an assignee or a team")
    eng = _store(request)
    with eng.begin() as conn:
        rule_id = conn.execute(
            insert(routing_rules)
            .values(**rule.model_dump(), active=True)
            .returning(routing_rules.c.id)
        ).scalar_one()
        record(conn, caller.name, "create", "routing_rule", rule_id, None, rule.model_dump())
    return {"id": rule_id, **rule.model_dump()}


@router.delete("/v1/routing-rules/{rule_id}", status_code=204, summary="Retire a routing rule")
async def retire_rule(request: Request, rule_id: int, caller: RuleEditor) -> Response:
    eng = _store(request)
    with eng.begin() as conn:
        done = conn.execute(
            update(routing_rules)
            .where(routing_rules.c.id == rule_id, routing_rules.c.active.is_(True))
            .values(active=False)
        ).rowcount
        if not done:
            raise NotFound(f"no active routing rule {rule_id}")
        record(
            conn,
            caller.name,
            "retire",
            "routing_rule",
            rule_id,
            {"active": True},
            {"active": False},
        )
    return Response(status_code=204)
