"""The synthetic claims world: ``generate(WorldConfig(...))`` → contract tables + truth.

The same seed gives the same tables, byte for byte once written. The truth table is returned
separately and written to its own file so that nothing that trains or scores reads it by
accident.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.generate.claims import draw_claims
from features.generate.eligibility import draw_eligibility
from features.generate.outcomes import denial_probabilities, draw_outcomes
from features.generate.world import SCENARIOS, WorldConfig, build_world

__all__ = ["SCENARIOS", "WorldConfig", "counterfactual", "drivers", "generate"]


def _streams(cfg: WorldConfig) -> list[np.random.Generator]:
    # spawn(3)'s first two streams are spawn(2)'s: adding the third changed no earlier draw
    return [np.random.default_rng(s) for s in np.random.SeedSequence([cfg.seed, 1]).spawn(3)]


def drivers(cfg: WorldConfig) -> pd.DataFrame:
    """The hidden per-claim facts of ``generate(cfg)``'s claims, in the same order (a lapse the
    office missed, an authorization the payer required): what tests hold mined rules and learnt
    models against. Never written out with the tables."""
    return draw_claims(build_world(cfg), _streams(cfg)[0])[2]


def counterfactual(
    cfg: WorldConfig, change: Callable[[pd.DataFrame], pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray]:
    """The true P(denied) of each claim of ``generate(cfg)``, as drawn and with ``change``
    applied to its drivers (``drivers``), in the same world: the calibration of the population
    as drawn is kept, so only the changed claims move. What a re-scored fix is checked against.
    """
    world = build_world(cfg)
    d = draw_claims(world, _streams(cfg)[0])[2]
    before, _, scales = denial_probabilities(world, d)
    after, _, _ = denial_probabilities(world, change(d.copy()), scales)
    return before, after


def generate(cfg: WorldConfig) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Build a world and its history. Returns (contract tables by name, truth)."""
    world = build_world(cfg)
    claims_rng, outcome_rng, eligibility_rng = _streams(cfg)
    claims, lines, drivers = draw_claims(world, claims_rng)
    outcome = draw_outcomes(world, claims, lines, drivers, outcome_rng)
    payers = world.payers[list(TABLES["payers"].columns)]
    tables = {
        "payers": payers,
        "claims": claims,
        "claim_lines": lines,
        "remits": outcome["remits"],
        "remit_adjustments": outcome["remit_adjustments"],
        "remit_remarks": outcome["remit_remarks"],
        "appeals": outcome["appeals"],
        "eligibility": draw_eligibility(world, claims, drivers, eligibility_rng),
    }
    tables = {name: TABLES[name].shaped(frame) for name, frame in tables.items()}
    return tables, outcome["truth"]
