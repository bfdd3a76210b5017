"""The synthetic claims world: ``generate(WorldConfig(...))`` → contract tables + truth.

The same seed gives the same tables, byte for byte once written. The truth table is returned
separately and written to its own file so that nothing that trains or scores reads it by
accident.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.generate.claims import draw_claims
from features.generate.eligibility import draw_eligibility
from features.generate.outcomes import draw_outcomes
from features.generate.world import SCENARIOS, WorldConfig, build_world

__all__ = ["SCENARIOS", "WorldConfig", "generate"]


def generate(cfg: WorldConfig) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Build a world and its history. Returns (contract tables by name, truth)."""
    world = build_world(cfg)
    # spawn(3)'s first two streams are spawn(2)'s: adding the third changed no earlier draw
    claims_rng, outcome_rng, eligibility_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([cfg.seed, 1]).spawn(3)
    )
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
    tables = {
        name: frame.reindex(columns=TABLES[name].columns).astype(TABLES[name].dtypes())
        for name, frame in tables.items()
    }
    return tables, outcome["truth"]
