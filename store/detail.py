"""One worklist item as an analyst reads it: the claim and its lines, every remit with what its
codes mean, the model's prediction and factors, the notes and the item's history."""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from features.codes import CARC_CATEGORY
from features.io import REPO_ROOT
from store import audit, scores
from store.audit import plain
from store.schema import claim_lines, claims, notes, remit_adjustments, remit_remarks, remits
from store.schema import worklist_items as items

#: X12's code lists (CARC, RARC, group codes) as CSV ``Code,Description``. They are X12's to
#: publish, so claimrisk does not ship them: point ``CLAIMRISK_CODES_DIR`` at a copy; without
#: one, a code is explained by its denial category alone.
DEFAULT_CODES = REPO_ROOT.parent / "shared" / "domain" / "codes"
FILES = {
    "carc": "claim_adjustment_reason_codes.csv",
    "rarc": "remittance_advice_remark_codes.csv",
    "group": "claim_adjustment_group_codes.csv",
}


@functools.cache
def meanings(folder: Path | None) -> dict[str, dict[str, str]]:
    folder = folder or DEFAULT_CODES
    out: dict[str, dict[str, str]] = {k: {} for k in FILES}
    for kind, name in FILES.items():
        path = folder / name
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    text = (row.get("Description") or "").split("Start:")[0].strip()
                    out[kind][(row.get("Code") or "").strip()] = text
    return out


def item_detail(conn: Connection, item_id: int, codes_dir: Path | None = None) -> dict | None:
    item = conn.execute(select(items).where(items.c.id == item_id)).mappings().first()
    if item is None:
        return None
    claim_id = item["claim_id"]
    words = meanings(codes_dir)
    claim = conn.execute(select(claims).where(claims.c.claim_id == claim_id)).mappings().one()
    lines = conn.execute(
        select(claim_lines)
        .where(claim_lines.c.claim_id == claim_id)
        .order_by(claim_lines.c.line_number)
    ).mappings()
    paid = (
        conn.execute(
            select(remits).where(remits.c.claim_id == claim_id).order_by(remits.c.remit_date)
        )
        .mappings()
        .all()
    )
    return {
        "item": plain(item),
        "claim": plain(claim),
        "lines": [plain(r) for r in lines],
        "remits": [_remit(conn, r, words) for r in paid],
        "prediction": scores.latest(conn, claim_id),
        "notes": [
            plain(n)
            for n in conn.execute(
                select(notes).where(notes.c.item_id == item_id).order_by(notes.c.id)
            ).mappings()
        ],
        "history": audit.history(conn, "worklist_item", item_id),
    }


def _remit(conn: Connection, remit: Any, words: dict[str, dict[str, str]]) -> dict[str, Any]:
    adjustments = conn.execute(
        select(remit_adjustments)
        .where(remit_adjustments.c.remit_id == remit["remit_id"])
        .order_by(remit_adjustments.c.id)
    ).mappings()
    remarks = conn.execute(
        select(remit_remarks.c.rarc).where(remit_remarks.c.remit_id == remit["remit_id"])
    ).scalars()
    return {
        **plain(remit),
        "adjustments": [
            {
                "group_code": a["group_code"],
                "group": words["group"].get(a["group_code"]),
                "carc": a["carc"],
                "meaning": words["carc"].get(a["carc"]),
                "category": CARC_CATEGORY.get(a["carc"], "other"),
                "amount": a["amount"],
                "line_number": a["line_number"],
            }
            for a in adjustments
        ],
        "remarks": [{"rarc": r, "meaning": words["rarc"].get(r)} for r in remarks],
    }
