"""Appeal letter drafts: facts from the store, an argument and enclosures by denial category.

Templates are Jinja2 text files, one per category (``web/templates/letters/<category>.txt``),
each extending ``letter.txt`` with its ``argument`` and ``documents`` blocks. A practice puts
its own files of the same names in ``CLAIMRISK_LETTERS_DIR`` and they are used instead (its
letterhead in ``letter.txt``, its arguments per category), without touching the package.

A draft is for a person to read, correct and sign: it states what the store knows (claim,
lines, remit, codes and what they mean, the deadline) and leaves out what it cannot know.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from features.contract import DENIAL_CATEGORIES

SHIPPED = Path(__file__).with_name("templates") / "letters"


def environment(override: Path | None) -> Environment:
    """Templates from ``override`` first, then the shipped ones (plain text: no escaping)."""
    folders = [str(override)] if override else []
    return Environment(
        loader=ChoiceLoader([FileSystemLoader([*folders, str(SHIPPED)])]),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def facts(detail: dict[str, Any], payer: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """What a letter says, from ``store.detail.item_detail`` and the payer's row."""
    item, claim = detail["item"], detail["claim"]
    denial = next(
        (r for r in detail["remits"] if r["remit_id"] == item["remit_id"]), detail["remits"][0]
    )
    codes = [
        {"code": f"{a['group_code']}-{a['carc']}", "meaning": a["meaning"] or a["category"]}
        for a in denial["adjustments"]
    ] + [{"code": r["rarc"], "meaning": r["meaning"]} for r in denial["remarks"]]
    deadline = dt.date.fromisoformat(item["deadline"])
    return {
        "today": today.isoformat(),
        "item": item,
        "claim": claim,
        "lines": detail["lines"],
        "remit": denial,
        "payer": payer,
        "codes": codes,
        "category": item["category"],
        "deadline": deadline.isoformat(),
        "days_left": (deadline - today).days,
        "provider_name": f"Provider NPI {_npi(claim)}",
        "signer": "(name and title of the person signing)",
    }


def letter_text(env: Environment, context: dict[str, Any]) -> str:
    category = context["category"] if context["category"] in DENIAL_CATEGORIES else "other"
    return env.get_template(f"{category}.txt").render(**context)


def pdf(letters: list[tuple[str, str]]) -> bytes:
    """One PDF of (title, text) letters, each starting on a new page."""
    doc = FPDF(format="Letter")
    doc.set_auto_page_break(auto=True, margin=18)
    doc.set_title("Appeal letters" if len(letters) > 1 else letters[0][0])
    doc.set_creator("claimrisk")
    for _, text in letters:
        doc.add_page()
        doc.set_font("Courier", size=9.5)
        for paragraph in text.splitlines():
            doc.multi_cell(0, 4.6, _latin1(paragraph) or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _latin1(text: str) -> str:
    """The PDF's built-in fonts hold Latin-1: dashes and quotes from a code list are mapped."""
    plain = text.translate({0x2013: "-", 0x2014: "-", 0x2018: "'", 0x2019: "'", 0x201C: '"'})
    plain = plain.translate({0x201D: '"', 0x2026: "..."})
    return plain.encode("latin-1", "replace").decode("latin-1")


def _npi(claim: dict[str, Any]) -> str:
    """The claim's billing NPI, else its rendering one; a flat export may have neither."""
    return claim.get("billing_npi") or claim.get("rendering_npi") or "(unknown)"
