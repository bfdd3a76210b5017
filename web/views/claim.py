"""``/worklist/{id}``: one denial as an analyst works it, and its appeal letter draft.

The page holds the claim and its lines, each remit with its codes and what they mean, the
model's prediction (the score given before submission when the store has one, else scored now
by the served model) with factors and actions, the recovery odds, dollars and deadline, the
notes and the item's history from the audit log, and the moves the item may make.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select

from store import worklist
from store.detail import item_detail
from store.export import typed
from store.schema import payers
from web import letters
from web.auth import NotPermitted, Worker, store_of
from web.render import page
from web.views.worklist import urgency

router = APIRouter()


@router.get("/worklist/{item_id}")
async def claim_page(
    request: Request, who: Worker, item_id: int, notice: str = "", error: str = ""
):
    found = await run_in_threadpool(_read, request, item_id)
    detail, payer, today = found
    item = detail["item"]
    deadline = dt.date.fromisoformat(item["deadline"])
    context = letters.facts(detail, payer, today)
    return page(
        request,
        "claim.html",
        d=detail,
        item=item,
        payer=payer,
        prediction=detail["prediction"] or _score_now(request, detail),
        urgency=urgency(deadline, today),
        moves=worklist.TRANSITIONS.get(item["status"], ()),
        letter=letters.letter_text(_letters_env(request), context),
        back=f"/worklist/{item_id}",
        notice=notice,
        error=error,
        can_reassign=who.user.may("reassign"),
    )


def _read(request: Request, item_id: int) -> tuple[dict, dict, dt.date]:
    folder = request.app.state.settings.codes_dir
    with store_of(request).connect() as conn:
        detail = item_detail(conn, item_id, folder)
        if detail is None:
            raise NotPermitted(f"there is no worklist item {item_id}")
        payer = (
            conn.execute(select(payers).where(payers.c.payer_id == detail["item"]["payer_id"]))
            .mappings()
            .first()
        )
        today = worklist.store_day(conn)
    return detail, dict(payer or {"payer_id": detail["item"]["payer_id"], "name": ""}), today


def _score_now(request: Request, detail: dict) -> dict[str, Any] | None:
    """The served model's score of the stored claim, with factors (none loaded: None)."""
    from training.scoring import score_valid

    loaded = request.app.state.slot.current
    if loaded is None:
        return None
    head = typed(pd.DataFrame([detail["claim"]]), "claims")
    lines = typed(pd.DataFrame(detail["lines"]), "claim_lines")
    scored = score_valid(loaded.model, head, lines, "all")[0]
    return {**scored, "model_version": loaded.version, "scored_at": "now (not scored before)"}


def _letters_env(request: Request):
    return letters.environment(request.app.state.settings.letters_dir)


def letters_response(request: Request, ids: list[int], kind: str) -> Response:
    """Letters for ``ids`` as one PDF (a page or more each) or one text file."""
    env = _letters_env(request)
    drafts = []
    for item_id in ids:
        detail, payer, today = _read(request, item_id)
        text = letters.letter_text(env, letters.facts(detail, payer, today))
        drafts.append((f"Appeal, claim {detail['claim']['claim_id']}", text))
    name = f"appeal-{ids[0]}" if len(ids) == 1 else f"appeals-{len(ids)}-items"
    if kind == "pdf":
        body, media = letters.pdf(drafts), "application/pdf"
    else:
        body = ("\n\f\n".join(text for _, text in drafts)).encode()
        media = "text/plain; charset=utf-8"
    disposition = f'attachment; filename="{name}.{kind}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get("/worklist/{item_id}/letter.{kind}")
async def letter(request: Request, who: Worker, item_id: int, kind: str) -> Response:
    if kind not in ("pdf", "txt"):
        raise NotPermitted("letters come as .pdf or .txt")
    return await run_in_threadpool(letters_response, request, [item_id], kind)
