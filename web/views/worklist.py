"""``/worklist``: the ranked queue with filters, totals, inline changes and bulk actions.

Every change goes through ``store.work.work_item`` (version check, who may, life cycle, audit),
as the API's does; a change that cannot be made comes back to the page with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, select

from features.contract import DENIAL_CATEGORIES
from store import work, worklist
from store.schema import payers
from web.auth import Worker, WorkerPost, local_path, store_of
from web.render import page

router = APIRouter()
PAGE_SIZE = 50
DUE_WITHIN = (7, 14, 30, 60, 90)
STATUSES = ("open", "in_progress", "appealed", "won", "lost", "written_off", "expired")


def urgency(deadline: dt.date, today: dt.date) -> tuple[str, str]:
    """(CSS class, words) for a deadline: past, within 7 days, within 30, later."""
    days = (deadline - today).days
    if days < 0:
        return "past", f"{-days} days past"
    if days <= 7:
        return "soon", "today" if days == 0 else f"{days} days left"
    if days <= 30:
        return "near", f"{days} days left"
    return "later", f"{days} days left"


@router.get("/worklist")
async def worklist_page(
    request: Request,
    who: Worker,
    status: Annotated[list[str] | None, Query()] = None,
    payer_id: str = "",
    category: str = "",
    assignee: str = "",
    due: str = "",
    sort: str = "priority",
    cursor: str = "",
    notice: str = "",
    error: str = "",
):
    sort = sort if sort in worklist.SORTS else "priority"
    days = int(due) if due.isdigit() else None  # an empty select sends ""
    status = [s for s in status or [] if s in STATUSES]
    chosen = {"status": status, "payer_id": payer_id, "category": category, "assignee": assignee}
    today, rows, totals, payer_ids = await run_in_threadpool(
        _read_queue, store_of(request), chosen, days, sort, cursor
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = {**chosen, "due": days or "", "sort": sort}
    here = request.url.path + ("?" + request.url.query if request.url.query else "")
    next_page = (
        "/worklist?" + urlencode({**query, "cursor": worklist.encode_cursor(rows[-1], sort)}, True)
        if more
        else ""
    )
    for r in rows:
        r["urgency"] = urgency(r["deadline"], today)
        r["moves"] = worklist.TRANSITIONS.get(r["status"], ())
    return page(
        request,
        "worklist.html",
        rows=rows,
        totals=totals,
        today=today,
        filters=query,
        payer_ids=payer_ids,
        categories=DENIAL_CATEGORIES,
        statuses=STATUSES,
        due_within=DUE_WITHIN,
        sorts=list(worklist.SORTS),
        next_page=next_page,
        first_page="/worklist?" + urlencode(query, True) if cursor else "",
        back=here,
        notice=notice,
        error=error,
        can_reassign=who.user.may("reassign"),
    )


def _read_queue(
    eng: Engine, chosen: dict[str, Any], days: int | None, sort: str, cursor: str
) -> tuple[dt.date, list[dict], dict, list[str]]:
    """(the store's today, a page of items and one more, the totals, the payer ids) for the
    filters ``chosen`` on the page; a cursor that does not decode starts at the top."""
    with eng.connect() as conn:
        today = worklist.store_day(conn)
        filters = {**chosen, "due_before": today + dt.timedelta(days=days) if days else None}
        try:
            after = worklist.decode_cursor(cursor, sort) if cursor else None
        except ValueError:
            after = None
        rows = worklist.page(conn, filters, sort, after, PAGE_SIZE + 1)
        totals = worklist.totals(conn, filters)
        payer_ids = conn.execute(select(payers.c.payer_id).order_by(payers.c.payer_id))
        return today, rows, totals, list(payer_ids.scalars())


def back_to(back: str, **message: str) -> RedirectResponse:
    """Back to the page the form was on (a path here, never elsewhere), with a message."""
    parts = urlsplit(local_path(back) or "/worklist")
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("notice", "error")]
    query = urlencode([*kept, *message.items()])
    return RedirectResponse(f"{parts.path}?{query}", status_code=303)


def change(request: Request, who, item_id: int, version: int, wanted: work.ItemChange) -> str:
    """Apply one change; '' when done, else why not (shown to the user)."""
    worker = work.Worker(who.user.name, who.user.may("reassign"))
    try:
        with store_of(request).begin() as conn:
            work.work_item(conn, item_id, version, worker, wanted)
    except (work.NoSuchItem, work.NotYours, work.VersionConflict) as exc:
        return str(exc)
    except worklist.TransitionError as exc:
        return f"item {item_id}: {exc}"
    return ""


@router.post("/worklist/{item_id}")
async def change_item(
    request: Request,
    who: WorkerPost,
    item_id: int,
    version: Annotated[int, Form()],
    status: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form(max_length=100)] = "",
    had_assignee: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    back: Annotated[str, Form()] = "/worklist",
):
    assignee = assignee.strip()
    wanted = work.ItemChange(
        status=status or None,
        assignee=assignee if assignee and assignee != had_assignee else None,
        unassign=not assignee and bool(had_assignee),
        note=note.strip() or None,
    )
    problem = await run_in_threadpool(change, request, who, item_id, version, wanted)
    if problem:
        return back_to(back, error=problem)
    return back_to(back, notice=f"item {item_id} saved")


@router.post("/worklist-bulk")
async def bulk(
    request: Request,
    who: WorkerPost,
    action: Annotated[str, Form()],
    item: Annotated[list[int] | None, Form()] = None,
    assignee: Annotated[str, Form(max_length=100)] = "",
    back: Annotated[str, Form()] = "/worklist",
) -> Response:
    ids = list(dict.fromkeys(item or []))
    if not ids:
        return back_to(back, error="select at least one item first")
    if action in ("letters.pdf", "letters.txt"):
        from web.views.claim import letters_response

        return await run_in_threadpool(letters_response, request, ids, action.split(".")[1])
    if action != "assign" or not assignee.strip():
        return back_to(back, error="name the person to assign the selected items to")

    def assign() -> list[str]:
        problems = []
        with store_of(request).connect() as conn:
            versions = dict(
                conn.execute(
                    select(worklist.items.c.id, worklist.items.c.version).where(
                        worklist.items.c.id.in_(ids)
                    )
                ).all()
            )
        wanted = work.ItemChange(assignee=assignee.strip())
        for i in ids:
            if i not in versions:
                problems.append(f"no worklist item {i}")
            elif problem := change(request, who, i, versions[i], wanted):
                problems.append(problem)
        return problems

    problems = await run_in_threadpool(assign)
    if problems:
        return back_to(back, error=f"{len(ids) - len(problems)} assigned; " + problems[0])
    return back_to(back, notice=f"{len(ids)} items assigned to {assignee.strip()}")
