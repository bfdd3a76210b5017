"""A dataset as it was known on a day: what a practice's files held that evening.

Monitoring reads outcomes "known by" a day and retraining fits on them, so both must see the
world without the future: claims submitted by then, remits dated by then (with their
adjustments and remarks), eligibility responses checked by then, appeals filed by then with
their decision only if it came by then (a later one is still ``pending``). Reference tables
(payers) are kept whole.
"""

from __future__ import annotations

import pandas as pd

from features.lookup import isin


def known_by(
    tables: dict[str, pd.DataFrame], day: pd.Timestamp, since: pd.Timestamp | None = None
) -> dict[str, pd.DataFrame]:
    """``tables`` restricted to what was known at the end of ``day``; with ``since``, only the
    claims submitted from then on (and what hangs off them: a retraining window)."""
    out = dict(tables)
    submitted = tables["claims"]["submission_date"]
    keep = submitted <= day
    if since is not None:
        keep &= submitted >= since
    claims = tables["claims"][keep]
    ids = claims["claim_id"]
    out["claims"] = claims
    out["claim_lines"] = tables["claim_lines"][isin(tables["claim_lines"]["claim_id"], ids)]
    remits = tables["remits"]
    remits = remits[(remits["remit_date"] <= day) & isin(remits["claim_id"], ids)]
    out["remits"] = remits
    for name in ("remit_adjustments", "remit_remarks"):
        if name in tables:
            out[name] = tables[name][isin(tables[name]["remit_id"], remits["remit_id"])]
    if "eligibility" in tables:
        out["eligibility"] = tables["eligibility"][tables["eligibility"]["checked_date"] <= day]
    if "appeals" in tables:
        out["appeals"] = _appeals_known_by(tables["appeals"], ids, day)
    return {name: frame.reset_index(drop=True) for name, frame in out.items()}


def _appeals_known_by(appeals: pd.DataFrame, ids: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    """Appeals filed by ``day``; a decision after it is not known yet, so it reads pending."""
    filed = appeals[(appeals["appeal_date"] <= day) & isin(appeals["claim_id"], ids)].copy()
    later = filed["resolved_date"].notna() & (filed["resolved_date"] > day)
    filed.loc[later, "outcome"] = "pending"
    filed.loc[later, ["recovered_amount", "resolved_date"]] = None
    return filed
