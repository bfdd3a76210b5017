"""The actors of the synthetic world: payers, providers and patients, each with hidden habits.

What a model may learn is shown in the claim (fields) or in history (a payer's or provider's past
denials); the habits here are never written out except through the claims they shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from features.generate import catalog

EPOCH = date(1970, 1, 1)
SCENARIOS = ("none", "payer-policy-change")
#: The scenario's payer and the therapy codes it starts to require prior authorization for.
POLICY_CHANGE_PAYER = "COM01"
POLICY_CHANGE_CODES = ("97110", "97140", "97530", "97112")

GOVERNMENT_TYPES = ("medicare", "medicare_advantage", "medicaid")
#: Probability a prior-auth candidate code is on a payer's list, by payer type.
PA_LIST_PROBABILITY = {
    "medicare": 0.1,
    "medicare_advantage": 0.85,
    "medicaid": 0.6,
    "commercial": 0.6,
    "other": 0.4,
}


@dataclass(frozen=True)
class WorldConfig:
    """What to generate. ``months`` of claim submissions starting on ``start``."""

    n_claims: int
    seed: int = 0
    start: date = date(2024, 1, 1)
    months: int = 24
    scenario: str = "none"
    #: also write, for every claim, a real-time eligibility check run at submission
    realtime_eligibility: bool = False

    def __post_init__(self) -> None:
        if self.n_claims < 1:
            raise ValueError(f"n_claims must be at least 1, got {self.n_claims}")
        if self.months < 1:
            raise ValueError(f"months must be at least 1, got {self.months}")
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"scenario must be one of {', '.join(SCENARIOS)}; got {self.scenario!r}"
            )

    @property
    def start_day(self) -> int:
        return (self.start - EPOCH).days

    @property
    def end_day(self) -> int:
        """First day after the data window: the 'as of' date of the dataset."""
        end = pd.Timestamp(self.start) + pd.DateOffset(months=self.months)
        return (end.date() - EPOCH).days

    @property
    def n_providers(self) -> int:
        return int(np.clip(self.n_claims // 1500, 20, 600))

    @property
    def n_patients(self) -> int:
        return max(50, self.n_claims // 6)


@dataclass
class World:
    """Entities with their hidden traits, plus the code index used for payer×code matrices."""

    config: WorldConfig
    payers: pd.DataFrame
    providers: pd.DataFrame
    patients: pd.DataFrame
    codes: pd.Index  # procedure codes, positions of the matrices below
    pa_required: np.ndarray  # [payer, code] on the payer's prior-auth list
    excluded: np.ndarray  # [payer, code] not covered by the payer
    credential_gap: np.ndarray  # [provider, payer] rendering provider not enrolled
    policy_change_day: int


def npi_with_check_digit(body: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit (prefix 80840) to 9-digit NPI bodies."""
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    rev = digits[:, ::-1]
    doubled = rev[:, ::2] * 2
    total = 24 + (doubled // 10 + doubled % 10).sum(axis=1) + rev[:, 1::2].sum(axis=1)
    return body * 10 + (10 - total % 10) % 10


def _payers(rng: np.random.Generator) -> pd.DataFrame:
    specs = pd.DataFrame([s.__dict__ for s in catalog.PAYERS])
    z = rng.normal(0.0, 1.0, len(specs)) * specs["strictness_sd"]
    # Strictness is relative within a payer type: calibration fixes each type's mean rate.
    specs["strictness"] = np.exp(z - z.groupby(specs["payer_type"]).transform("mean"))
    return specs


def _providers(cfg: WorldConfig, rng: np.random.Generator) -> pd.DataFrame:
    n = cfg.n_providers
    shares = np.array([s.share for s in catalog.SPECIALTIES])
    specialty = rng.choice(len(shares), size=n, p=shares / shares.sum())
    # Every specialty appears at least once so that small worlds still have all of them.
    specialty[: len(shares)] = np.arange(len(shares))
    npis = npi_with_check_digit(rng.choice(np.arange(100_000_000, 200_000_000), n, replace=False))
    group = rng.integers(0, max(1, (2 * n) // 3), n)  # solo practices and small groups
    billing = npis[np.unique(group, return_index=True)[1]]
    billing_npi = billing[np.searchsorted(np.unique(group), group)]
    return pd.DataFrame(
        {
            "npi": npis.astype(str),
            "billing_npi": billing_npi.astype(str),
            "specialty": specialty,
            "volume": rng.lognormal(0.0, 0.6, n),
            # habits: probability of a coding slip per opportunity, checking eligibility, getting
            # authorizations, how late claims go out, documentation quality and appeal zeal
            "error_rate": rng.beta(1.2, 20.0, n),
            "elig_check_rate": rng.beta(8.0, 2.0, n),
            "elig_lead_median": rng.lognormal(np.log(4.0), 0.9, n),
            "auth_compliance": rng.beta(9.0, 1.5, n),
            "lag_median": rng.lognormal(np.log(6.0), 0.6, n),
            "late_tail": rng.beta(1.0, 80.0, n),
            "modifier59_overuse": rng.beta(1.0, 40.0, n),
            "doc_risk": rng.lognormal(0.0, 0.45, n),
            # overall billing hygiene: scales every avoidable denial of this provider
            "risk": rng.lognormal(0.0, 1.1, n),
            "appeal_propensity": rng.beta(5.0, 4.0, n),
            "charge_mult": rng.lognormal(0.0, 0.25, n),
        }
    )


def _patients(
    cfg: WorldConfig, payers: pd.DataFrame, providers: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    n = cfg.n_patients
    weight = providers["volume"].to_numpy()
    provider = rng.choice(len(providers), size=n, p=weight / weight.sum())
    payer = rng.choice(len(payers), size=n, p=(payers["share"] / payers["share"].sum()).to_numpy())
    ptype = payers["payer_type"].to_numpy()[payer]
    age = np.where(
        np.isin(ptype, ["medicare", "medicare_advantage"]),
        np.where(rng.random(n) < 0.1, rng.integers(30, 65, n), rng.integers(65, 96, n)),
        np.where(rng.random(n) < 0.2, rng.integers(0, 18, n), rng.integers(18, 65, n)),
    )
    other_cov_rate = pd.Series(ptype).map(
        {
            "medicare": 0.12,
            "medicare_advantage": 0.03,
            "medicaid": 0.08,
            "commercial": 0.07,
            "other": 0.2,
        }
    )
    lapse_rate = pd.Series(ptype).map(
        {
            "medicare": 0.01,
            "medicare_advantage": 0.04,
            "medicaid": 0.2,
            "commercial": 0.1,
            "other": 0.05,
        }
    )
    lapses = rng.random(n) < lapse_rate.to_numpy()
    lapse_day = np.where(
        lapses, rng.integers(cfg.start_day, cfg.end_day, n), np.iinfo(np.int32).max
    )
    return pd.DataFrame(
        {
            "patient_id": pd.Series(np.arange(n)).astype("str").str.zfill(7).radd("P"),
            "provider": provider,
            "payer": payer,
            "age": age,
            "sex": rng.choice(np.array(["F", "M", "U"]), size=n, p=[0.55, 0.445, 0.005]),
            "other_coverage": rng.random(n) < other_cov_rate.to_numpy(),
            "lapse_day": lapse_day,
        }
    )


def build_world(cfg: WorldConfig) -> World:
    """Draw every actor of the world from the seed (one independent stream per part)."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(4)]
    payers = _payers(streams[0])
    providers = _providers(cfg, streams[1])
    patients = _patients(cfg, payers, providers, streams[2])
    rng = streams[3]

    codes = pd.Index(sorted(catalog.PROCEDURES))
    candidate = np.array([catalog.PROCEDURES[c].pa_candidate for c in codes])
    p_list = payers["payer_type"].map(PA_LIST_PROBABILITY).to_numpy()[:, None]
    pa_required = candidate[None, :] & (rng.random((len(payers), len(codes))) < p_list)
    # The scenario's payer does not list the scenario's codes until the policy change, in every
    # scenario, so that the world before the change is the same with or without it.
    change_payer = payers["payer_id"] == POLICY_CHANGE_PAYER
    pa_required[np.ix_(change_payer.to_numpy(), codes.isin(POLICY_CHANGE_CODES))] = False

    excluded = np.zeros((len(payers), len(codes)), dtype=bool)
    for i, ptype in enumerate(payers["payer_type"]):
        for code in catalog.NON_COVERED_BY_TYPE[ptype]:
            excluded[i, codes.get_loc(code)] = True
        if ptype == "commercial":
            for code in catalog.SOMETIMES_EXCLUDED:
                excluded[i, codes.get_loc(code)] |= rng.random() < 0.3

    credential_gap = rng.random((len(providers), len(payers))) < 0.03
    midpoint = cfg.start_day + (cfg.end_day - cfg.start_day) // 2
    return World(
        cfg,
        payers,
        providers,
        patients,
        codes,
        pa_required,
        excluded,
        credential_gap,
        policy_change_day=midpoint,
    )
