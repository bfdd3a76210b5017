"""Published figures the synthetic world is calibrated to, each with its source and tolerance.

Sources are summarised in ``../shared/domain/facts.md`` (the "Generator parameters" table);
"[inference]" marks a value that is reasoning rather than a published figure. The generator
scales its hidden mechanism strengths so that these land (``outcomes.calibrate_scales``); the
calibration table in ``docs/synthetic-data.md`` compares them with what a run produced.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    metric: str
    value: float
    tolerance: float  # absolute; generated value must be within value ± tolerance
    source: str


DENIAL_RATE_BY_PAYER_TYPE: dict[str, float] = {
    "medicare": 0.084,  # Premier 2022 claims (8.4%)
    "medicare_advantage": 0.157,  # Premier (15.7%); Health Affairs 2025 (17%)
    "medicaid": 0.159,  # Premier: Medicaid 16.7%, managed Medicaid 15.1%
    "commercial": 0.139,  # Premier (13.9%); range to 0.20 (KFF, Mass HPC)
    "other": 0.12,  # [inference] overall base
}

#: Share of denials by category, all payers. Change Healthcare 2020 Denials Index, its
#: "unknown" 6.4% and provider eligibility 0.9% spread over duplicate / COB / bundling / other
#: [inference]; documentation = "missing or invalid claim data" + "documentation requested".
REASON_MIX: dict[str, float] = {
    "eligibility": 0.26,
    "documentation": 0.25,
    "authorization": 0.12,
    "non_covered": 0.11,
    "medical_necessity": 0.08,
    "timely_filing": 0.05,
    "coding": 0.05,
    "duplicate": 0.03,
    "coordination_of_benefits": 0.02,
    "bundling": 0.02,
    "other": 0.01,
}

#: Clinical share (authorization + medical necessity) by payer type: MA ≈ 0.25, commercial
#: ≤ 0.15 (Kodiak, KFF, Mass HPC [inference]); Medicare FFS uses few prior-auth lists.
CLINICAL_MIX: dict[str, tuple[float, float]] = {  # (authorization, medical_necessity)
    "medicare": (0.05, 0.11),
    "medicare_advantage": (0.15, 0.10),
    "medicaid": (0.12, 0.08),
    "commercial": (0.09, 0.06),
    "other": (0.12, 0.08),
}


def reason_mix(payer_type: str) -> dict[str, float]:
    """The category mix for one payer type: the global mix with its clinical share swapped in."""
    auth, necessity = CLINICAL_MIX[payer_type]
    rest = {k: v for k, v in REASON_MIX.items() if k not in ("authorization", "medical_necessity")}
    scale = (1.0 - auth - necessity) / sum(rest.values())
    mix = {k: v * scale for k, v in rest.items()}
    mix["authorization"], mix["medical_necessity"] = auth, necessity
    return mix


#: Share of denials that are appealed (reworked): 1 - never reworked (0.50-0.65, weak source).
APPEAL_SHARE = 0.42
#: Overturn rate of appealed denials: Premier 2022 51.7%, 2023 ~70%; Health Affairs 2025 MA 57%.
OVERTURN_RATE = 0.56

TARGETS: tuple[Target, ...] = (
    Target(
        "denial_rate.overall",
        0.125,
        0.02,
        "Kodiak 2024 11.8%; Premier 2022 ~15%; facts.md base 0.12 (range 0.10-0.15)",
    ),
    *(
        Target(f"denial_rate.{t}", v, 0.015, src)
        for t, v, src in (
            ("medicare", DENIAL_RATE_BY_PAYER_TYPE["medicare"], "Premier 2022 claims: 8.4%"),
            (
                "medicare_advantage",
                DENIAL_RATE_BY_PAYER_TYPE["medicare_advantage"],
                "Premier 15.7%; Health Affairs 2025: 17%",
            ),
            (
                "medicaid",
                DENIAL_RATE_BY_PAYER_TYPE["medicaid"],
                "Premier: 16.7% FFS / 15.1% managed",
            ),
            (
                "commercial",
                DENIAL_RATE_BY_PAYER_TYPE["commercial"],
                "Premier 13.9%; KFF 2023 19%; Mass HPC 20.4%",
            ),
            ("other", DENIAL_RATE_BY_PAYER_TYPE["other"], "[inference] overall base 0.12"),
        )
    ),
    *(
        Target(
            f"reason_mix.{k}",
            v,
            0.03 if v >= 0.05 else 0.015,
            "Change Healthcare 2020 Denials Index; Kodiak 2024 [spread of unknown: inference]",
        )
        for k, v in REASON_MIX.items()
    ),
    Target(
        "clinical_share.medicare_advantage",
        sum(CLINICAL_MIX["medicare_advantage"]),
        0.04,
        "Kodiak/KFF [inference]: MA about 0.25",
    ),
    Target(
        "clinical_share.commercial",
        sum(CLINICAL_MIX["commercial"]),
        0.04,
        "KFF/Mass HPC [inference]: commercial at most 0.15",
    ),
    Target(
        "provider_share_at_or_above_10pct",
        0.41,
        0.15,
        "Experian State of Claims 2025: 41% of providers report denial rates >= 10% (survey)",
    ),
    Target(
        "appeal.share_of_denials",
        APPEAL_SHARE,
        0.08,
        "1 - share never reworked (0.50-0.65; industry citation, weak)",
    ),
    Target(
        "appeal.overturn_rate",
        OVERTURN_RATE,
        0.06,
        "Premier 2022 51.7% (2023 ~70%); Health Affairs 2025 57%",
    ),
    Target(
        "appeal.overturn_rate.timely_filing",
        0.02,
        0.05,
        "facts.md: timely filing ~0.02 (Medicare ~0; CO-29 not appealable)",
    ),
)
