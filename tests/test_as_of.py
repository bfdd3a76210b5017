"""A dataset as known on a day: nothing from after it, and decisions after it read pending."""

from __future__ import annotations

import pandas as pd

from features.as_of import known_by

DAY = pd.Timestamp("2025-03-31")


def test_nothing_after_the_day_is_known(small_world):
    tables = small_world[0]
    known = known_by(tables, DAY, since=pd.Timestamp("2024-07-01"))
    claims = known["claims"]["submission_date"]
    assert claims.max() <= DAY and claims.min() >= pd.Timestamp("2024-07-01")
    assert known["remits"]["remit_date"].max() <= DAY
    assert set(known["remits"]["claim_id"]) <= set(known["claims"]["claim_id"])
    assert set(known["remit_adjustments"]["remit_id"]) <= set(known["remits"]["remit_id"])
    assert set(known["claim_lines"]["claim_id"]) == set(known["claims"]["claim_id"])
    assert known["eligibility"]["checked_date"].max() <= DAY
    assert len(known["payers"]) == len(tables["payers"])


def test_an_appeal_decided_after_the_day_reads_pending(small_world):
    appeals = small_world[0]["appeals"]
    later = appeals[(appeals["appeal_date"] <= DAY) & (appeals["resolved_date"] > DAY)]
    assert len(later), "the small world has appeals decided after the day"
    known = known_by(small_world[0], DAY)["appeals"].set_index("appeal_id")
    seen = known.loc[later["appeal_id"]]
    assert (seen["outcome"] == "pending").all() and seen["resolved_date"].isna().all()
    assert seen["recovered_amount"].isna().all()
    assert (known["appeal_date"] <= DAY).all()
