"""The denial rule and code families: the one definition every label comes from."""

from __future__ import annotations

import pandas as pd
import pytest

from features.codes import (
    CARC_CATEGORY,
    icd10_chapter,
    initial_outcomes,
    label_remits,
    npi_check_digit_ok,
    procedure_family,
)
from features.contract import DENIAL_CATEGORIES


def _remit(
    remit_id: str, status: str = "1", paid: float = 0.0, claim: str = "C1", date: str = "2024-02-01"
) -> dict:
    return {
        "remit_id": remit_id,
        "claim_id": claim,
        "claim_status_code": status,
        "paid_amount": paid,
        "remit_date": pd.Timestamp(date),
    }


def _adj(remit_id: str, group: str, carc: str, amount: float) -> dict:
    return {
        "remit_id": remit_id,
        "claim_id": "C1",
        "line_number": pd.NA,
        "group_code": group,
        "carc": carc,
        "amount": amount,
    }


def _label(remits: list[dict], adjustments: list[dict]) -> pd.DataFrame:
    adj = pd.DataFrame(
        adjustments, columns=["remit_id", "claim_id", "line_number", "group_code", "carc", "amount"]
    )
    return label_remits(pd.DataFrame(remits), adj).set_index("remit_id")


@pytest.mark.parametrize(
    ("status", "paid", "adjustments", "denied", "category"),
    [
        ("1", 0.0, [("CO", "197", 100.0)], True, "authorization"),
        ("1", 0.0, [("CO", "29", 100.0)], True, "timely_filing"),
        ("1", 0.0, [("OA", "18", 100.0)], True, "duplicate"),
        ("1", 0.0, [("PI", "16", 100.0)], True, "documentation"),
        # the patient owes it all: cost share, not a denial
        ("1", 0.0, [("PR", "1", 100.0)], False, None),
        # paid by the primary: an informational prior-payer adjustment, not a denial
        ("2", 0.0, [("OA", "23", 100.0)], False, None),
        # paid something: a write-down is not a denial
        ("1", 40.0, [("CO", "45", 60.0)], False, None),
        # paid something even with a denial-class code on one line: not a claim denial
        ("1", 40.0, [("CO", "97", 60.0)], False, None),
        # an unknown denial-class CARC still denies, as "other"
        ("1", 0.0, [("CO", "P99", 100.0)], True, "other"),
        # the largest denial-class adjustment names the category
        (
            "1",
            0.0,
            [("CO", "16", 20.0), ("CO", "50", 80.0), ("CO", "45", 500.0)],
            True,
            "medical_necessity",
        ),
        # CLP02 = 4 without CAS: in 5010 the patient was not recognised
        ("4", 0.0, [], True, "eligibility"),
        # a reversal is never a first-pass denial
        ("22", -50.0, [("CO", "197", -50.0)], False, None),
    ],
)
def test_denial_rule(status, paid, adjustments, denied, category):
    labels = _label([_remit("R1", status, paid)], [_adj("R1", *a) for a in adjustments])
    assert bool(labels.loc["R1", "denied"]) is denied
    got = labels.loc["R1", "denial_category"]
    assert (pd.isna(got) and category is None) or got == category


def test_initial_outcome_is_the_earliest_non_reversal_remit():
    remits = pd.DataFrame(
        [
            _remit("R2", "1", 80.0, date="2024-04-01"),  # paid after appeal
            _remit("R1", "1", 0.0, date="2024-02-01"),  # first pass: denied
            _remit("R0", "22", -10.0, date="2024-01-15"),  # an earlier reversal is skipped
        ]
    )
    adj = pd.DataFrame(
        [_adj("R1", "CO", "197", 100.0), _adj("R2", "CO", "45", 20.0), _adj("R0", "CO", "45", -5.0)]
    )
    out = initial_outcomes(remits, adj)
    assert out["remit_id"].tolist() == ["R1"]
    assert out["denial_category"].tolist() == ["authorization"]


def test_carc_map_uses_only_contract_categories_and_no_retired_codes():
    assert set(CARC_CATEGORY.values()) <= set(DENIAL_CATEGORIES)
    retired = {"15", "17", "28", "38", "62", "125", "165", "B5", "B18"}  # facts.md §5
    assert not retired & set(CARC_CATEGORY)


def test_npi_check_digit():
    npis = pd.Series(["1234567893", "1234567890", "12345", None])
    assert npi_check_digit_ok(npis).tolist() == [True, False, False, False]


def test_icd10_chapters_split_d_and_h():
    got = icd10_chapter(pd.Series(["M5450", "D509", "D123", "H6690", "H1011", "Z0000", "", None]))
    assert got.tolist() == [
        "13_musculoskeletal",
        "03_blood",
        "02_neoplasms",
        "08_ear",
        "07_eye",
        "21_factors",
        "unknown",
        "unknown",
    ]


def test_procedure_family_prefers_the_narrowest_range():
    got = procedure_family(
        pd.Series(
            ["97110", "98940", "99214", "90837", "72148", "J3301", "93000", "00123", None, "ABCDE"]
        )
    )
    assert got.tolist() == [
        "physical_medicine",
        "chiropractic",
        "evaluation_management",
        "psychiatry",
        "radiology",
        "drugs",
        "cardiology",
        "anesthesia",
        "none",
        "unknown",
    ]
