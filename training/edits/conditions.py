"""The conditions a payer edit can name, and which of them each claim meets: defined once.

An edit is *payer × procedure × condition* ("COM01 denies 97110 without modifier GP"). Mining
counts outcomes per edit over history; scoring lists the edits a claim trips. Both read a claim
through :func:`claim_conditions`, so a rule found in history is checked on a new claim exactly
as it was counted.

Line conditions (procedure = the line's code):

- ``any``: the procedure itself, whatever else the claim says;
- ``with_modifier:M`` / ``without_modifier:M``: the line carries modifier M, or lacks one that the
  procedure usually carries (``Watch.modifiers``: learnt at mining from how often each modifier
  appears on the procedure; at scoring, the ones the edits name);
- ``without_authorization``: the claim has no prior authorization number;
- ``diagnosis_chapter:C``: the claim's first diagnosis is in ICD-10 chapter C;
- ``place_of_service:P``;
- ``units_over:N``: more units on the line than N, the procedure's usual count (``Watch.units``).

Claim conditions (procedure ``*``): ``without_eligibility_check``, ``eligibility:<coverage>`` (the
latest 271 shows the coverage ``ended``, ``inactive``, ``not_started`` or ``rejected`` on the
service date), ``replacement_without_original``, ``other_coverage``, ``filed_after:N`` (more than N
days from the last service day to submission, N in ``FILING_DAYS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.claim_features import MODIFIER_COLUMNS, Columns, as_columns, is_missing
from features.codes import icd10_chapter
from features.contract import CLAIM_LINES, CLAIMS
from features.eligibility import eligibility_features

ANY_PROCEDURE = "*"
FILING_DAYS = (90, 180, 365)
#: Coverage readings of the latest 271 that are a condition (active is not).
COVERAGE_CONDITIONS = ("ended", "inactive", "not_started", "rejected")


@dataclass(frozen=True)
class Watch:
    """What a procedure usually looks like: the modifiers whose absence is a condition, and the
    unit count above which a line is ``units_over``."""

    modifiers: dict[str, frozenset[str]] = field(default_factory=dict)
    units: dict[str, float] = field(default_factory=dict)

    @classmethod
    def learn(cls, lines: pd.DataFrame, share: float = 0.05) -> Watch:
        """Modifiers seen on at least ``share`` of a procedure's lines (and not on all), and
        each procedure's median units."""
        ln = lines[lines["procedure_code"].notna()].reset_index(drop=True)
        total = ln.groupby("procedure_code").size()
        mods = pd.concat(
            [ln[["procedure_code", c]].set_axis(["code", "mod"], axis=1) for c in MODIFIER_COLUMNS]
        )
        mods = mods[mods["mod"].notna()].reset_index().drop_duplicates()  # once per line
        counts = mods.groupby(["code", "mod"]).size()
        rate = counts / total.reindex(counts.index.get_level_values(0)).to_numpy()
        keep = rate[(rate >= share) & (rate < 1)]
        modifiers: dict[str, set[str]] = {}
        for code, mod in keep.index:
            modifiers.setdefault(code, set()).add(mod)
        units = ln.groupby("procedure_code")["units"].median()
        return cls(
            {k: frozenset(v) for k, v in modifiers.items()},
            {k: float(v) for k, v in units.items()},
        )


def _line_conditions(c: Columns, ln: Columns, line_claim: np.ndarray, watch: Watch) -> list:
    """(claim row, procedure, condition) arrays for the line conditions."""
    code = ln["procedure_code"]
    has = ~is_missing(code)
    rows, procs, conds = [], [], []

    def add(mask: np.ndarray, condition: np.ndarray | str) -> None:
        rows.append(line_claim[mask])
        procs.append(code[mask])
        conds.append(np.broadcast_to(np.asarray(condition, dtype=object), (int(mask.sum()),)))

    add(has, "any")
    mods = np.column_stack([ln[m] for m in MODIFIER_COLUMNS])
    for k in range(mods.shape[1]):
        present = has & ~is_missing(mods[:, k])
        add(present, np.char.add("with_modifier:", mods[present, k].astype(str)).astype(object))
    for proc, watched in watch.modifiers.items():
        on = has & (code == proc)
        for mod in watched:
            add(on & ~(mods == mod).any(axis=1), f"without_modifier:{mod}")
    claim_no_auth = is_missing(c["prior_auth_number"])
    add(has & claim_no_auth[line_claim], "without_authorization")
    chapter = _first_chapter(c["diagnosis_codes"])[line_claim]
    known = has & ~is_missing(chapter)
    add(known, np.char.add("diagnosis_chapter:", chapter[known].astype(str)).astype(object))
    place = c["place_of_service"][line_claim]
    known = has & ~is_missing(place)
    add(known, np.char.add("place_of_service:", place[known].astype(str)).astype(object))
    usual = np.array([watch.units.get(p, np.nan) for p in code.tolist()], dtype=float)
    over = has & (ln["units"] > usual)
    add(over, np.char.add("units_over:", np.char.mod("%g", usual[over])).astype(object))
    return [rows, procs, conds]


def _first_chapter(diagnoses: np.ndarray) -> np.ndarray:
    first = pd.Series(diagnoses, dtype=object).str.split("|").str[0]
    chapters = icd10_chapter(first.fillna("")).to_numpy(dtype=object)
    chapters[first.isna().to_numpy() | (chapters == "unknown")] = None
    return chapters


def _claim_conditions(c: Columns, eligibility: pd.DataFrame | None) -> list:
    rows, conds = [], []

    def add(mask: np.ndarray, condition: np.ndarray | str) -> None:
        rows.append(np.flatnonzero(mask))
        conds.append(np.broadcast_to(np.asarray(condition, dtype=object), (int(mask.sum()),)))

    add(np.isnan(c["eligibility_verified_date"]), "without_eligibility_check")
    coverage = eligibility_features(c, eligibility)["eligibility_coverage"]
    for reading in COVERAGE_CONDITIONS:
        add(coverage == reading, f"eligibility:{reading}")
    freq = c["frequency_code"]
    add(
        np.isin(freq, ["7", "8"]) & is_missing(c["original_claim_id"]),
        "replacement_without_original",
    )
    add(c["other_coverage"] == 1.0, "other_coverage")
    lag = c["submission_date"] - c["service_date_to"]
    for days in FILING_DAYS:
        add(lag > days, f"filed_after:{days}")
    procs = [np.full(len(r), ANY_PROCEDURE, dtype=object) for r in rows]
    return [rows, procs, conds]


def claim_conditions(
    claims: pd.DataFrame | dict,
    lines: pd.DataFrame | dict,
    watch: Watch,
    eligibility: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every (claim row, procedure, condition) the claims meet, each once."""
    c = as_columns(claims, CLAIMS)
    ln = as_columns(lines, CLAIM_LINES)
    index = {cid: i for i, cid in enumerate(c["claim_id"].tolist())}
    line_claim = np.array([index[cid] for cid in ln["claim_id"].tolist()], dtype=np.int64)
    line, claim = _line_conditions(c, ln, line_claim, watch), _claim_conditions(c, eligibility)
    rows, procs, conds = (np.concatenate(a + b) for a, b in zip(line, claim, strict=True))
    frame = pd.DataFrame({"claim": rows.astype(np.int64), "procedure": procs, "condition": conds})
    return frame.drop_duplicates(ignore_index=True)
