"""Every model feature, declared once: its name, kind, what it means to a billing analyst, source.

The pipeline's output columns are exactly ``FEATURE_NAMES`` in this order (a test checks it),
``docs/features.md`` is rendered from this list, and serving (next issues) turns the same names
into plain-language reasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["categorical", "numeric"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: Kind
    meaning: str
    source: str


def _c(name: str, meaning: str, source: str) -> FeatureSpec:
    return FeatureSpec(name, "categorical", meaning, source)


def _n(name: str, meaning: str, source: str) -> FeatureSpec:
    return FeatureSpec(name, "numeric", meaning, source)


CLAIM_FEATURES: tuple[FeatureSpec, ...] = (
    _c("payer_id", "The payer billed.", "claims.payer_id"),
    _c(
        "payer_type",
        "Medicare, Medicare Advantage, Medicaid, commercial or other.",
        "payers.payer_type (as of fit)",
    ),
    _c(
        "provider_npi",
        "The rendering provider (billing NPI when no rendering NPI is sent).",
        "claims.rendering_npi, else billing_npi",
    ),
    _c("specialty", "The provider's specialty.", "claims.provider_taxonomy → codes.specialty"),
    _c("claim_type", "Professional (837P) or institutional (837I).", "claims.claim_type"),
    _c(
        "place_of_service",
        "Where the service happened (facility type for institutional).",
        "claims.place_of_service",
    ),
    _c("frequency_code", "Original (1), replacement (7) or void (8).", "claims.frequency_code"),
    _c(
        "primary_procedure",
        "The highest-charge line's CPT/HCPCS (REV+revenue code if none).",
        "claim_lines",
    ),
    _c(
        "primary_procedure_family",
        "Kind of service of that line (E/M, imaging, therapy...).",
        "codes.procedure_family",
    ),
    _c("primary_diagnosis", "The first ICD-10-CM code.", "claims.diagnosis_codes"),
    _c(
        "primary_diagnosis_chapter",
        "ICD-10-CM chapter of the first diagnosis.",
        "codes.icd10_chapter",
    ),
    _c("patient_sex", "Patient sex as billed.", "claims.patient_sex"),
    _n("total_charge", "Billed amount.", "claims.total_charge"),
    _n(
        "charge_vs_typical",
        "Billed amount over what these codes and units usually bill (1 = typical).",
        "claim_lines; typical per-unit charges learnt at fit",
    ),
    _n("n_lines", "Number of service lines.", "claim_lines"),
    _n("total_units", "Units billed over all lines.", "claim_lines.units"),
    _n("max_line_units", "Most units on one line.", "claim_lines.units"),
    _n("n_diagnoses", "Number of diagnosis codes.", "claims.diagnosis_codes"),
    _n("n_modifiers", "Modifiers over all lines.", "claim_lines.modifier_1..4"),
    _n("mod_25", "A line carries 25 (significant, separate E/M).", "claim_lines modifiers"),
    _n(
        "mod_59",
        "A line carries 59 (distinct procedural service; most audited).",
        "claim_lines modifiers",
    ),
    _n("mod_x", "A line carries XE/XP/XS/XU (specific distinct service).", "claim_lines modifiers"),
    _n(
        "mod_repeat",
        "A line carries 76/77 (repeat procedure) or 91 (repeat lab).",
        "claim_lines modifiers",
    ),
    _n("mod_therapy", "A line carries GP/GO/GN (therapy discipline).", "claim_lines modifiers"),
    _n("mod_at", "A line carries AT (chiropractic active treatment).", "claim_lines modifiers"),
    _n(
        "mod_component",
        "A line carries 26 or TC (professional/technical component).",
        "claim_lines modifiers",
    ),
    _n("mod_telehealth", "A line carries 95/GT (telehealth).", "claim_lines modifiers"),
    _n("mod_laterality", "A line carries RT/LT.", "claim_lines modifiers"),
    _n(
        "em_minor_procedure_without_25",
        "An E/M beside a minor procedure lacks modifier 25.",
        "claim_lines; rules.MINOR_PROCEDURES",
    ),
    _n(
        "therapy_without_modifier",
        "A therapy line lacks GP/GO/GN.",
        "claim_lines; rules.THERAPY_MODIFIERS",
    ),
    _n(
        "ncci_pair_without_distinct_modifier",
        "A bundled code pair lacks 59/X{EPSU}.",
        "claim_lines; rules.BUNDLED_PAIRS",
    ),
    _n(
        "patient_age", "Patient age in years (the model forms its own bands).", "claims.patient_age"
    ),
    _n(
        "service_days",
        "Days from first to last date of service, inclusive.",
        "claims.service_date_from/to",
    ),
    _n(
        "submission_lag_days",
        "Days from the last date of service to submission.",
        "claims.submission_date − service_date_to",
    ),
    _n(
        "days_to_filing_limit",
        "Days left before the payer's timely filing limit at submission (negative: filed late).",
        "payers.timely_filing_days − submission_lag_days",
    ),
    _n(
        "prior_auth_present",
        "A prior authorization number is on the claim.",
        "claims.prior_auth_number",
    ),
    _n(
        "eligibility_verified",
        "Eligibility was checked before submission.",
        "claims.eligibility_verified_date",
    ),
    _n(
        "eligibility_days_before_service",
        "How long before the first service date eligibility was checked.",
        "claims.service_date_from − eligibility_verified_date",
    ),
    _c(
        "eligibility_coverage",
        "Coverage on the first date of service in the latest eligibility response (271) before "
        "submission: active, ended (the plan ended before the service), not_started, inactive or "
        "rejected; missing when no response is on file.",
        "eligibility (latest checked_date ≤ submission, same patient and payer)",
    ),
    _n(
        "eligibility_days_since_check",
        "Age of that response at submission, in days.",
        "claims.submission_date − eligibility.checked_date",
    ),
    _n(
        "eligibility_plan_days_left",
        "Days from the first service date to the plan's last day in that response (negative: the "
        "plan ended before the service); missing when the payer gave no end date.",
        "eligibility.plan_end_date − claims.service_date_from",
    ),
    _n("other_coverage", "The patient has other insurance on file.", "claims.other_coverage"),
    _n("is_replacement", "A replacement claim (frequency 7).", "claims.frequency_code"),
    _n("is_void", "A void (frequency 8).", "claims.frequency_code"),
    _n(
        "correction_without_original",
        "A replacement/void without the payer's claim number.",
        "claims.frequency_code, original_claim_id",
    ),
    _n("submission_month", "Calendar month of submission.", "claims.submission_date"),
    _n("submission_weekday", "Weekday of submission (0 = Monday).", "claims.submission_date"),
)

_HISTORY_SOURCE = "first-pass remits (835) dated strictly before the claim's submission date"
HISTORY_FEATURES: tuple[FeatureSpec, ...] = (
    _n("hist_payer_rate", "This payer's smoothed first-pass denial rate.", _HISTORY_SOURCE),
    _n("hist_payer_n", "Remits seen from this payer.", _HISTORY_SOURCE),
    _n(
        "hist_payer_rate_90d",
        "This payer's denial rate over the last 90 days (behaviour changes).",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_rate",
        "Denial rate of this payer for the primary procedure.",
        _HISTORY_SOURCE,
    ),
    _n("hist_payer_proc_n", "Remits seen for this payer and primary procedure.", _HISTORY_SOURCE),
    _n(
        "hist_payer_proc_rate_max",
        "Highest payer × procedure denial rate over the claim's lines (the riskiest line).",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_rate_90d_max",
        "Same, last 90 days: catches new payer policies.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_mod_rate_max",
        "Highest payer × procedure × modifier-set denial rate over the lines.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_auth_rate_max",
        "Highest payer × procedure rate of authorization "
        "denials: does this payer want prior auth for a code on this claim?",
        _HISTORY_SOURCE,
    ),
    _n("hist_payer_proc_auth_rate_90d_max", "Same, last 90 days.", _HISTORY_SOURCE),
    _n(
        "hist_payer_proc_noncovered_rate_max",
        "Highest payer × procedure rate of non-covered denials.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_necessity_rate_max",
        "Highest payer × procedure rate of medical necessity denials.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_coding_rate_max",
        "Highest payer × procedure rate of coding denials.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_proc_bundling_rate_max",
        "Highest payer × procedure rate of bundling denials.",
        _HISTORY_SOURCE,
    ),
    _n("hist_provider_rate", "This provider's smoothed denial rate.", _HISTORY_SOURCE),
    _n("hist_provider_n", "Remits seen for this provider.", _HISTORY_SOURCE),
    _n(
        "hist_provider_rate_90d",
        "This provider's denial rate over the last 90 days.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_provider_eligibility_rate",
        "This provider's rate of eligibility denials.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_provider_documentation_rate",
        "This provider's rate of documentation denials.",
        _HISTORY_SOURCE,
    ),
    _n("hist_provider_payer_rate", "This provider's denial rate with this payer.", _HISTORY_SOURCE),
    _n("hist_provider_payer_n", "Remits seen for this provider with this payer.", _HISTORY_SOURCE),
    _n(
        "hist_provider_payer_other_rate",
        "This provider's rate of 'other' denials with this payer (e.g. not credentialed).",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_payer_dx_chapter_rate",
        "This payer's denial rate for the primary diagnosis chapter.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_proc_dx_chapter_rate_max",
        "Highest denial rate, across payers, of a line's procedure billed with this diagnosis "
        "chapter (diagnosis–procedure pairs payers do not accept).",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_proc_dx_chapter_necessity_rate_max",
        "Same, medical-necessity denials only.",
        _HISTORY_SOURCE,
    ),
    _n(
        "hist_patient_rate",
        "This patient's smoothed denial rate on earlier claims (any provider in the data).",
        _HISTORY_SOURCE,
    ),
    _n("hist_patient_n", "Remits seen for this patient.", _HISTORY_SOURCE),
    _n(
        "hist_patient_eligibility_rate",
        "This patient's rate of eligibility denials: coverage that has lapsed or changed.",
        _HISTORY_SOURCE,
    ),
)

FEATURES: tuple[FeatureSpec, ...] = CLAIM_FEATURES + HISTORY_FEATURES
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "categorical")


def reading(column: str) -> tuple[str, ...]:
    """The features computed from a contract column, by their declared ``source``.

    What scoring marginalises over when a claim cannot tell that column (an 837 never carries
    the eligibility check date): the declared sources are the one record of what reads what.
    """
    word = re.compile(rf"\b{re.escape(column)}\b")
    return tuple(f.name for f in FEATURES if word.search(f.source))
