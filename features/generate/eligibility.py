"""The eligibility responses (271s) an office receives, drawn from the world's true coverage.

An office checks when its habit says (``drivers.verified`` at ``checked_day``); each check gets
the payer's answer as of that day:

- after the coverage lapsed: inactive, with the plan's last day. A check within 30 days of the
  service that finds the lapse is acted on (the office fixes that visit's coverage before
  billing, so its claim is not lapsed, ``claims.caught``), yet the answer on file is still the
  payer's: a response that shows the lapse does not prove the claim will be denied.
- before it: active, with the plan's last day only when the payer knows the termination in
  advance (``KNOWN_IN_ADVANCE`` by payer type: a Medicaid redetermination date, an employer's
  notice). An office that does not read the end date bills a claim that lapses anyway: the
  lapse the model can see only through the response.
- a few inquiries are rejected (AAA 72 invalid member id, 75 subscriber not found).

``WorldConfig.realtime_eligibility`` adds, for every claim, the answer of a real-time check run
at submission (source ``realtime``): what scoring with an inline 270/271 would see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.generate.world import World

#: Probability that a payer reports a coming termination as the plan's end date, by payer type.
KNOWN_IN_ADVANCE = {
    "medicare": 0.3,
    "medicare_advantage": 0.5,
    "medicaid": 0.7,
    "commercial": 0.6,
    "other": 0.4,
}
#: Share of inquiries the payer rejects, and the reasons it gives (AAA03).
REJECTED_SHARE = 0.02
REJECT_REASONS = np.array(["72", "75"], dtype=object)
_NEVER = np.iinfo(np.int32).max


def patient_plans(
    world: World, rng: np.random.Generator, first_check: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: whether the payer reports the plan's end in advance, and the plan's first
    day (covered before the first check, or before the world's first day, and before a lapse)."""
    patients = world.patients
    ptype = world.payers["payer_type"].to_numpy()[patients["payer"].to_numpy()]
    known = rng.random(len(patients)) < pd.Series(ptype).map(KNOWN_IN_ADVANCE).to_numpy()
    if first_check is None:
        first_check = np.full(len(patients), world.config.start_day, dtype=np.int64)
    first = np.minimum(first_check, patients["lapse_day"].to_numpy())
    return known, first - rng.integers(30, 3 * 365, len(patients))


def draw_eligibility(
    world: World,
    claims: pd.DataFrame,
    drivers: pd.DataFrame,
    rng: np.random.Generator,
    plans: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Every response the offices received, in the contract's eligibility shape.

    ``plans`` (``patient_plans``): the world's, when these claims are one month of it; by default
    each plan starts before its patient's first check among these claims."""
    patient = drivers["patient"].to_numpy()
    if plans is None:
        first_check = np.full(len(world.patients), _NEVER, dtype=np.int64)
        np.minimum.at(first_check, patient, drivers["checked_day"].to_numpy())
        plans = patient_plans(world, rng, first_check)
    known, begin = plans
    lapse = drivers["lapse_day"].to_numpy()
    rows = drivers["verified"].to_numpy()
    checked = drivers["checked_day"].to_numpy()
    parts = [
        _answers(
            checked[rows],
            lapse[rows],
            known[patient[rows]],
            np.flatnonzero(rows),
            "271",
        )
    ]
    if world.config.realtime_eligibility:
        everyone = np.arange(len(claims))
        submitted = drivers["submitted"].to_numpy()
        parts.append(_answers(submitted, lapse, known[patient], everyone, "realtime"))
    frame = pd.concat(parts, ignore_index=True).sort_values(["checked", "claim"], kind="stable")
    claim = frame["claim"].to_numpy()
    rejected = rng.random(len(frame)) < REJECTED_SHARE
    day = np.datetime64("1970-01-01", "D")

    def dates(days: np.ndarray) -> np.ndarray:
        ok = (days >= 0) & (days < _NEVER)
        out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[s]")
        out[ok] = (day + days[ok].astype("timedelta64[D]")).astype("datetime64[s]")
        return out

    end = np.where(rejected, -1, frame["end"].to_numpy())
    return pd.DataFrame(
        {
            "response_id": [f"E{i:09d}" for i in range(1, len(frame) + 1)],
            "patient_id": claims["patient_id"].to_numpy()[claim],
            "payer_id": claims["payer_id"].to_numpy()[claim],
            "member_id": pd.Series(claims["patient_id"].to_numpy()[claim])
            .str.replace("^P", "M", regex=True)
            .to_numpy(),
            "checked_date": dates(frame["checked"].to_numpy()),
            "coverage_status": np.where(rejected, "rejected", frame["status"].to_numpy()),
            "reject_reason": np.where(
                rejected, REJECT_REASONS[rng.integers(0, 2, len(frame))], None
            ),
            "plan_begin_date": dates(np.where(rejected, -1, begin[patient[claim]])),
            "plan_end_date": dates(end),
            "source": frame["source"].to_numpy(),
        }
    )


def _answers(
    checked: np.ndarray,
    lapse: np.ndarray,
    known: np.ndarray,
    claim: np.ndarray,
    source: str,
) -> pd.DataFrame:
    """The payer's answer to each check: status and the plan end it reports (-1: none)."""
    after = checked >= lapse
    reports_end = (after | known) & (lapse < _NEVER)
    return pd.DataFrame(
        {
            "claim": claim,
            "checked": checked,
            "status": np.where(after, "inactive", "active"),
            "end": np.where(reports_end, lapse - 1, -1),
            "source": source,
        }
    )
