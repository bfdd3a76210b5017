"""Which denial to work first: expected dollars per hour of effort, deadlines, expired last.

One ordering, used twice: by ``claimrisk evaluate`` to measure how much recoverable money the
model's queue reaches first (against the truth's queue and oldest-first), and by the service's
``/v1/worklist/rank``. It lives here, below serving, so both import the same function.

Priority, in words:

1. Items whose appeal deadline has passed go last, flagged ``expired`` (still listed: a payer may
   accept a late appeal with good cause, and an analyst must see them to write them off).
2. Among the rest, expected recovered dollars per hour of effort, highest first.
3. Near-equals (within about 10 % on a log scale) are worked most-urgent-deadline first, so a
   slightly smaller item due in 5 days is not left to expire behind one due in 300.

Capacity, in words: a team's capacity of N items is spent on the first N items, in this order,
whose next step is work (a corrected claim or an appeal). Items suggested for write-off, because
their deadline passed or because their expected recovery per hour of work is below
``WRITE_OFF_BELOW_PER_HOUR``, are never "within capacity": they take no analyst time, and each
says why in its ``reason``.
"""

from __future__ import annotations

import numpy as np

#: Hours an analyst typically spends to work a denial of each category, and the usual next step.
#: Corrected claims (fix and resubmit) are quick; appeals that need records and letters are not.
#: Calibrated to the cost-to-work figures in ../shared/domain/facts.md §3: $25 for a simple
#: rework, $45–60 on average, $118 for a complex appeal.
NEXT_STEP: dict[str, tuple[str, float]] = {
    "eligibility": ("corrected_claim", 0.5),
    "coordination_of_benefits": ("corrected_claim", 0.5),
    "coding": ("corrected_claim", 0.5),
    "bundling": ("corrected_claim", 0.5),
    "duplicate": ("corrected_claim", 0.25),
    "documentation": ("appeal_with_documentation", 1.0),
    "authorization": ("appeal_with_documentation", 1.5),
    "medical_necessity": ("appeal_with_documentation", 2.0),
    "non_covered": ("appeal_with_documentation", 1.5),
    "timely_filing": ("appeal_with_documentation", 1.0),
    "other": ("appeal_with_documentation", 1.0),
}
DEFAULT_STEP = ("appeal_with_documentation", 1.0)
#: Below this expected value an item is suggested for write-off (costs more to work than it
#: is expected to return at ~$60 per hour, the upper average cost to work one of analyst time).
WRITE_OFF_BELOW_PER_HOUR = 60.0
#: Width of a "near-equal" band of priority, in natural-log units (~10 %).
NEAR_EQUAL = 0.1


def effort_hours(categories: np.ndarray) -> np.ndarray:
    return np.array([NEXT_STEP.get(c, DEFAULT_STEP)[1] for c in categories], dtype=float)


def next_steps(categories: np.ndarray, expected: np.ndarray, expired: np.ndarray) -> np.ndarray:
    """The suggested next step per item: corrected claim, appeal with documentation, write-off."""
    steps = np.array([NEXT_STEP.get(c, DEFAULT_STEP)[0] for c in categories], dtype=object)
    per_hour = expected / effort_hours(categories)
    return np.where(expired | (per_hour < WRITE_OFF_BELOW_PER_HOUR), "write_off", steps)


def value_band(expected: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Expected dollars per hour of work on a log scale, in near-equal bands (higher first)."""
    per_hour = np.maximum(expected, 0) / np.maximum(hours, 1e-9)
    return np.floor(np.log(np.maximum(per_hour, 1e-9)) / NEAR_EQUAL)


def priority_order(expected: np.ndarray, hours: np.ndarray, days_left: np.ndarray) -> np.ndarray:
    """Indices of items in working order (see the module docstring)."""
    expired = days_left < 0
    band = value_band(expected, hours)
    # lexsort: the last key is primary
    return np.lexsort((np.arange(len(expected)), days_left, -band, expired))


def within_capacity(order: np.ndarray, steps: np.ndarray, capacity: int | None) -> np.ndarray:
    """Per item: is it among the first ``capacity`` items worth working, in working order?"""
    work = steps != "write_off"
    if capacity is None:
        return work
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(work[order])  # 1-based rank among workable items, in order
    return work & (rank <= capacity)


def reasons(
    steps: np.ndarray, expected: np.ndarray, hours: np.ndarray, days_left: np.ndarray
) -> list[str]:
    """Why each item's next step is what it is, in words an analyst can check."""
    out = []
    for step, value, h, days in zip(steps, expected, hours, days_left, strict=True):
        per_hour = value / h
        if days < 0:
            out.append(
                f"the appeal deadline passed {-days:.0f} day(s) ago: write off unless the "
                "payer accepts a late appeal with good cause"
            )
        elif step == "write_off":
            out.append(
                f"expected recovery ${per_hour:,.2f} per hour of work is below the "
                f"write-off threshold of ${WRITE_OFF_BELOW_PER_HOUR:,.0f} per hour"
            )
        else:
            due = "no known deadline" if np.isnan(days) else f"{days:.0f} day(s) to the deadline"
            out.append(
                f"expected recovery ${value:,.2f} for about {h:g} h of work "
                f"(${per_hour:,.2f}/h); {due}"
            )
    return out
