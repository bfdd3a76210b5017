"""Each fix claimrisk suggests, applied to the claim and scored again through the one scoring path.

A fix is a change a biller can make before submission ("add the prior authorization number",
"add modifier GP"). For every claim it applies to, the claim is copied with the change made and
scored by the same encode → model → marginalisation path as the claim itself
(``training.scoring``), so "add the prior authorization number: 41% → 6%" is the model's own
answer for the changed claim, not a rule of thumb. A fix that needs something from outside the
claim (an authorization, a payer's claim number, an eligibility answer) says what in ``needs``.

``FIXES`` is the one table of them; each names when it applies and what it changes, in the
contract's fields. ``tests/test_fixes.py`` holds the re-scored risk against the generator's
truth for the same change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features import rules
from features.claim_features import MODIFIER_COLUMNS
from features.codes import procedure_family

Header = dict[str, Any]
Lines = list[dict[str, Any]]
#: What a fix writes where the real value must come from elsewhere (the contract's id format).
ON_FILE = "ON-FILE"
STALE_CHECK_DAYS = 30


@dataclass(frozen=True)
class Fix:
    id: str
    action: str
    needs: str | None  # what the biller must obtain first; None: an edit of the claim itself
    applies: Callable[[Header, Lines], bool]
    change: Callable[[Header, Lines], tuple[Header, Lines]]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _mods(line: dict) -> list[str]:
    return [line[m] for m in MODIFIER_COLUMNS if not _missing(line.get(m))]


def _family(line: dict) -> str | None:
    code = line.get("procedure_code")
    return None if _missing(code) else procedure_family(pd.Series([code])).iloc[0]


def _with_modifier(line: dict, modifier: str) -> dict:
    """The line with ``modifier`` in its first free slot (unchanged when all four are used)."""
    out = dict(line)
    for slot in MODIFIER_COLUMNS:
        if _missing(out.get(slot)):
            out[slot] = modifier
            break
    return out


def _add_to(test: Callable[[dict, Lines], bool], modifier: str) -> Callable:
    def change(header: Header, lines: Lines) -> tuple[Header, Lines]:
        return header, [_with_modifier(x, modifier) if test(x, lines) else x for x in lines]

    return change


def _therapy_without(line: dict, _: Lines) -> bool:
    return _family(line) == "physical_medicine" and not set(_mods(line)) & set(
        rules.THERAPY_MODIFIERS
    )


def _codes(lines: Lines) -> set[str]:
    return {x["procedure_code"] for x in lines if not _missing(x.get("procedure_code"))}


def _em_without_25(line: dict, lines: Lines) -> bool:
    minor = _codes(lines) & set(rules.MINOR_PROCEDURES)
    return _family(line) == "evaluation_management" and bool(minor) and "25" not in _mods(line)


def _bundled_without_distinct(line: dict, lines: Lines) -> bool:
    codes = _codes(lines)
    pair = any(line.get("procedure_code") == c2 and c1 in codes for c2, c1 in rules.BUNDLED_PAIRS)
    return pair and not set(_mods(line)) & set(rules.DISTINCT_MODIFIERS)


def _manipulation_without_at(line: dict, _: Lines) -> bool:
    return line.get("procedure_code") in rules.CHIROPRACTIC_MANIPULATION and "AT" not in _mods(line)


def _any_line(test: Callable[[dict, Lines], bool]) -> Callable[[Header, Lines], bool]:
    return lambda header, lines: any(test(x, lines) for x in lines)


def _eligibility_unconfirmed(header: Header, lines: Lines) -> bool:
    checked = header.get("eligibility_verified_date")
    if _missing(checked):
        return True
    days = (pd.Timestamp(header["service_date_from"]) - pd.Timestamp(checked)).days
    return days > STALE_CHECK_DAYS


def _verified(header: Header, lines: Lines) -> tuple[Header, Lines]:
    return {**header, "eligibility_verified_date": header["submission_date"]}, lines


FIXES: tuple[Fix, ...] = (
    Fix(
        "add_prior_authorization",
        "Add the prior authorization number (REF*G1)",
        "the payer's prior authorization for this service: request it before submitting",
        lambda h, _: _missing(h.get("prior_auth_number")),
        lambda h, ln: ({**h, "prior_auth_number": ON_FILE}, ln),
    ),
    Fix(
        "add_therapy_modifier",
        "Add the therapy discipline modifier (GP, GO or GN) to each therapy line",
        None,
        _any_line(_therapy_without),
        _add_to(_therapy_without, "GP"),
    ),
    Fix(
        "add_modifier_25",
        "Add modifier 25 to the E/M visit billed with a minor procedure",
        None,
        _any_line(_em_without_25),
        _add_to(_em_without_25, "25"),
    ),
    Fix(
        "add_distinct_service_modifier",
        "Add a distinct-service modifier (59 or XE/XS/XP/XU) to the bundled code, if the "
        "services were distinct",
        None,
        _any_line(_bundled_without_distinct),
        _add_to(_bundled_without_distinct, "59"),
    ),
    Fix(
        "add_modifier_AT",
        "Add modifier AT (active treatment) to the chiropractic manipulation",
        None,
        _any_line(_manipulation_without_at),
        _add_to(_manipulation_without_at, "AT"),
    ),
    Fix(
        "verify_eligibility",
        "Run a real-time eligibility check (270/271) and bill the coverage it confirms",
        "a 271 that confirms coverage on the date of service (the score assumes it does)",
        _eligibility_unconfirmed,
        _verified,
    ),
    Fix(
        "add_original_claim_reference",
        "Add the payer's claim number of the original claim (REF*F8)",
        "the payer claim control number of the claim this one replaces or voids",
        lambda h, _: h.get("frequency_code") in ("7", "8") and _missing(h.get("original_claim_id")),
        lambda h, ln: ({**h, "original_claim_id": ON_FILE}, ln),
    ),
)


def diagnosis_orders(header: Header, lines: Lines) -> list[tuple[str, Header, Lines]]:
    """ "Point the lines to another diagnosis first": each other diagnosis of the claim moved to
    the front, the lines' pointers following their diagnoses (a pointer names a position)."""
    codes = [c for c in (header.get("diagnosis_codes") or "").split("|") if c]
    out = []
    for k in range(1, min(len(codes), 4)):
        order = [k, *(i for i in range(len(codes)) if i != k)]
        new_position = {old + 1: new + 1 for new, old in enumerate(order)}
        moved = []
        for line in lines:
            pointers = line.get("diagnosis_pointers")
            if not _missing(pointers):
                parts = [str(new_position.get(int(p), int(p))) for p in str(pointers).split(":")]
                line = {**line, "diagnosis_pointers": ":".join(parts)}
            moved.append(line)
        head = {**header, "diagnosis_codes": "|".join(codes[i] for i in order)}
        out.append((codes[k], head, moved))
    return out


def variants(header: Header, lines: Lines) -> list[tuple[dict[str, Any], Header, Lines]]:
    """Every fix that applies to one claim, as (what it is, the changed header, its lines)."""
    out = []
    for fix in FIXES:
        if fix.applies(header, lines):
            h, ln = fix.change(header, lines)
            out.append(({"fix": fix.id, "action": fix.action, "needs": fix.needs}, h, ln))
    for code, h, ln in diagnosis_orders(header, lines):
        action = f"Point the lines to diagnosis {code} first, if it is the one that supports them"
        out.append(({"fix": "point_to_diagnosis", "action": action, "needs": None}, h, ln))
    return out


def confirmed_coverage(claims: pd.DataFrame, fix_ids: list[str]) -> pd.DataFrame:
    """For the claims whose fix is ``verify_eligibility``, the 271 that fix assumes: active
    coverage, checked on the submission date, for the claim's patient and payer."""
    rows = claims[[f == "verify_eligibility" for f in fix_ids]]
    rows = rows[rows["patient_id"].notna()] if "patient_id" in rows else rows.iloc[:0]
    return pd.DataFrame(
        {
            "response_id": rows["claim_id"].astype(str) + ":check",
            "patient_id": rows["patient_id"],
            "payer_id": rows["payer_id"],
            "checked_date": rows["submission_date"],
            "coverage_status": "active",
            "source": "realtime",
        }
    )


def ranked(base: float, found: list[tuple[dict[str, Any], float]]) -> list[dict[str, Any]]:
    """Fixes with their re-scored risk, the most risk removed first; of the diagnosis orders
    only the best is kept (they are alternatives, not steps)."""
    out, best_order = [], None
    for fix, risk in found:
        before, after = round(base, 4), round(risk, 4)
        item = {**fix, "risk": before, "risk_after": after, "removes": round(before - after, 4)}
        if fix["fix"] == "point_to_diagnosis":
            if best_order is None or item["risk_after"] < best_order["risk_after"]:
                best_order = item
            continue
        out.append(item)
    if best_order is not None:
        out.append(best_order)
    return sorted(out, key=lambda f: -f["removes"])
