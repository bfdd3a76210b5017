"""Appeal letters: the facts they state, one template per category, a practice's own folder."""

from __future__ import annotations

import datetime as dt

from features.contract import DENIAL_CATEGORIES
from web import letters

DETAIL = {
    "item": {"remit_id": "R1", "deadline": "2026-03-01", "category": "authorization"},
    "claim": {
        "claim_id": "C-1",
        "billing_npi": "1234567893",
        "patient_id": "P-1",
        "service_date_from": "2025-12-01",
        "service_date_to": "2025-12-01",
        "total_charge": 360.0,
    },
    "lines": [
        {
            "line_number": 1,
            "procedure_code": "97110",
            "revenue_code": None,
            "modifier_1": None,
            "units": 3.0,
            "line_charge": 240.0,
        }
    ],
    "remits": [
        {
            "remit_id": "R1",
            "remit_date": "2026-01-05",
            "payer_claim_control_number": "PCN9",
            "adjustments": [
                {
                    "group_code": "CO",
                    "carc": "197",
                    "meaning": "Precertification absent.",
                    "category": "authorization",
                }
            ],
            "remarks": [{"rarc": "N54", "meaning": "Claim information is inconsistent."}],
        }
    ],
}
PAYER = {"payer_id": "COM01", "name": "Synthetic Commercial"}
TODAY = dt.date(2026, 1, 20)


def test_a_letter_states_the_facts_and_the_categorys_argument():
    text = letters.letter_text(letters.environment(None), letters.facts(DETAIL, PAYER, TODAY))
    for fact in (
        "C-1",
        "PCN9",
        "Synthetic Commercial",
        "CO-197",
        "Precertification absent",
        "N54",
        "97110",
        "$360.00",
        "2026-03-01",
        "40 days",
    ):
        assert fact in text, fact
    assert "authorization approval" in text  # the authorization template's enclosures


def test_every_category_has_a_letter_and_a_folder_overrides_one(tmp_path):
    shipped = letters.environment(None)
    for category in DENIAL_CATEGORIES:
        facts = letters.facts(
            {**DETAIL, "item": {**DETAIL["item"], "category": category}}, PAYER, TODAY
        )
        assert "C-1" in letters.letter_text(shipped, facts), category
    (tmp_path / "authorization.txt").write_text(
        '{% extends "letter.txt" %}{% block argument %}OUR OWN ARGUMENT{% endblock %}'
    )
    own = letters.letter_text(letters.environment(tmp_path), letters.facts(DETAIL, PAYER, TODAY))
    assert "OUR OWN ARGUMENT" in own and "C-1" in own  # the rest from the shipped letter


def test_the_pdf_holds_one_letter_a_page(tmp_path):
    from io import BytesIO

    from pypdf import PdfReader

    text = letters.letter_text(letters.environment(None), letters.facts(DETAIL, PAYER, TODAY))
    body = letters.pdf([("a", text), ("b", text.replace("C-1", "C-2"))])
    pages = [p.extract_text() for p in PdfReader(BytesIO(body)).pages]
    assert "C-1" in pages[0] and any("C-2" in p for p in pages[1:])
