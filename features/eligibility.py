"""What the office knew of a claim's coverage: the latest eligibility response before submission.

A response (a 271 the office received, a real-time check at scoring) is known from its checked
date on. A claim submitted on day t reads the newest response for its patient and payer checked
on or before t, for training rows and for a claim scored over HTTP alike, and from it three
features (``registry.CLAIM_FEATURES``):

- ``eligibility_coverage``: the coverage that response shows on the first date of service;
- ``eligibility_days_since_check``: how old the response was at submission;
- ``eligibility_plan_days_left``: days from the service to the plan's last day (negative: the
  plan ended before the service, the lapse a biller can still catch).

Coverage on the service date is defined once, here (:func:`coverage_on`): plan dates the payer
reported decide first (a plan that ended before the service is ``ended`` even in a response that
said active when it was sent), then the status itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.claim_features import Columns, as_columns
from features.contract import ELIGIBILITY
from features.lookup import take

#: Coverage on the service date, as the feature's levels.
COVERAGE_LEVELS = ("active", "ended", "not_started", "inactive", "rejected")
#: The features read from eligibility responses (``eligibility_features``' keys): unknown for
#: every claim of data that holds no responses (a store, an 837 scored alone).
FEATURES = ("eligibility_coverage", "eligibility_days_since_check", "eligibility_plan_days_left")
_SHIFT = 1 << 21  # days since 1970 fit in 21 bits (as in features.history)


def coverage_on(
    status: np.ndarray, begin: np.ndarray, end: np.ndarray, service: np.ndarray
) -> np.ndarray:
    """Coverage on the service date from a response's status and plan dates (days, NaN unknown).

    An inactive response whose plan ran past the service date says the service was covered (the
    check came after the coverage ended); one that gives no end date leaves it ``inactive``.
    """
    out = np.where(status == "inactive", "inactive", status).astype(object)
    ran_past = (status == "inactive") & (end >= service)
    out[ran_past] = "active"
    out[(status != "rejected") & (end < service)] = "ended"
    out[(status != "rejected") & (begin > service)] = "not_started"
    out[pd.isna(status)] = None
    return out


def latest_before(claims: Columns, responses: Columns) -> np.ndarray:
    """Per claim, the row of the newest response for its patient and payer checked on or before
    its submission day (-1: none). Ties on a day go to the row that comes last."""
    n = len(claims["claim_id"])
    if not len(responses["response_id"]):
        return np.full(n, -1, dtype=np.int64)
    resp_pair, claim_pair = _pairs(responses, claims)
    resp_day = np.nan_to_num(responses["checked_date"], nan=-1).astype(np.int64)
    composite = np.where(resp_pair >= 0, resp_pair * _SHIFT + resp_day, -1)
    order = np.argsort(composite, kind="stable")
    sorted_keys = composite[order]
    day = np.nan_to_num(claims["submission_date"], nan=-1).astype(np.int64)
    at = np.searchsorted(sorted_keys, claim_pair * _SHIFT + day, side="right") - 1
    found = (at >= 0) & (claim_pair >= 0) & (day >= 0)
    found[found] &= sorted_keys[at[found]] // _SHIFT == claim_pair[found]
    return np.where(found, order[np.maximum(at, 0)], -1)


def _pairs(responses: Columns, claims: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Each response's and each claim's (patient, payer) as one integer, equal pairs equal on
    both sides; -1 where either is unknown (such a row matches nothing)."""
    split = len(responses["patient_id"])

    def codes(column: str) -> np.ndarray:
        return pd.factorize(np.concatenate([responses[column], claims[column]]))[0]

    patient, payer = codes("patient_id"), codes("payer_id")
    pair = np.where(
        (patient < 0) | (payer < 0), -1, patient.astype(np.int64) * (payer.max() + 1) + payer
    )
    return pair[:split], pair[split:]


def eligibility_features(claims: Columns, eligibility: pd.DataFrame | None) -> Columns:
    """The three eligibility features of each claim (unknown for every claim without a response,
    and for all of them when there is no eligibility table)."""
    n = len(claims["claim_id"])
    if eligibility is None or not len(eligibility):
        return {
            "eligibility_coverage": np.full(n, None, dtype=object),
            "eligibility_days_since_check": np.full(n, np.nan),
            "eligibility_plan_days_left": np.full(n, np.nan),
        }
    responses = as_columns(eligibility, ELIGIBILITY)
    row = latest_before(claims, responses)

    def pick(column: str, missing: object) -> np.ndarray:
        return take(responses[column], row, missing)

    service = claims["service_date_from"]
    end = pick("plan_end_date", np.nan)
    return {
        "eligibility_coverage": coverage_on(
            pick("coverage_status", None), pick("plan_begin_date", np.nan), end, service
        ),
        "eligibility_days_since_check": claims["submission_date"] - pick("checked_date", np.nan),
        "eligibility_plan_days_left": end - service,
    }
