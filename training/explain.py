"""From SHAP contributions to sentences a biller can act on.

LightGBM's ``pred_contrib`` says how much each feature pushed a claim's denial log-odds up. The
features with the largest upward pushes become *factors*: a plain sentence built from the claim's
own values ("No prior authorization number; this payer has denied 97110 for authorization in 31 %
of claims") and an action to take before submission. A feature without a sentence of its own falls
back to its registry description, so a new feature is never silently unexplained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from features.contract import EXTRA_PREFIX
from features.pipeline import OTHER
from features.registry import FEATURE_NAMES, FEATURES

DESCRIPTIONS = {f.name: f.meaning for f in FEATURES}
INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
#: Factors shown per claim, and the smallest push worth a sentence (log-odds).
TOP_FACTORS = 3
MIN_CONTRIBUTION = 0.05


@dataclass(frozen=True)
class Context:
    """What a sentence may mention: the claim's features and its raw codes."""

    values: np.ndarray  # the claim's feature row
    procedure: str | None
    diagnosis: str | None
    payer: str | None
    names: tuple[str, ...] = FEATURE_NAMES  # the model's inputs, custom x_ features last
    #: each categorical input's level names (FeaturePipeline.categories_): a code is shown as
    #: the value it stands for (COM01, 97110), never as the model's internal level number
    levels: dict[str, list[str]] | None = None

    def shown(self, i: int) -> str | None:
        """Input ``i``'s value as a biller reads it, or None when unknown."""
        value = self.values[i]
        if np.isnan(value):
            return None
        level = (self.levels or {}).get(self.names[i])
        if level is not None:
            name = level[int(value)] if 0 <= int(value) < len(level) else None
            return "a rarely seen value" if name == OTHER else name
        return f"{value:g}"

    def __getitem__(self, feature: str) -> float:
        return float(self.values[INDEX[feature]])

    def named(self, feature: str) -> str:
        """A feature's value as shown ("COM01", "M54.50"), or "unknown"."""
        return self.shown(self.names.index(feature)) or "unknown"

    @property
    def payer_name(self) -> str:
        if self.payer:
            return self.payer
        known = "payer_id" in self.names and self.shown(self.names.index("payer_id"))
        return known or "this payer"

    @property
    def provider_known(self) -> bool:
        """Whether history knows this provider (an unseen one has the practice-wide rates)."""
        return not np.isnan(self["provider_npi"])


def _pct(v: float) -> str:
    return "unknown" if np.isnan(v) else f"{v:.0%}"


def _share(v: float, of: str) -> str:
    """' (38% of its claims)', or nothing when the rate is unknown."""
    return "" if np.isnan(v) else f" ({v:.0%} of {of})"


def _filing(days: float) -> str:
    if np.isnan(days):
        return "The payer's filing limit is unknown (a payer the model has not seen)"
    if days < 0:
        return f"The payer's filing limit passed {-days:.0f} days ago"
    return f"Only {days:.0f} days remain before the payer's filing limit"


#: Flags whose sentence describes their absence (value 0).
RISK_WHEN_ABSENT = frozenset({"prior_auth_present", "eligibility_verified"})

Sentence = Callable[[Context], tuple[str, str]]
#: What is said of a provider history does not know (its rates are the practice-wide ones).
NEW_PROVIDER = (
    "This provider has no denial history here yet: it is scored at the practice-wide rates",
    "Check the provider is enrolled and credentialed with this payer before the first claims",
)


def _unless_new(sentence: Sentence) -> Sentence:
    """A sentence about the provider's history, or ``NEW_PROVIDER`` when there is none."""
    return lambda c: sentence(c) if c.provider_known else NEW_PROVIDER


SENTENCES: dict[str, Sentence] = {
    "prior_auth_present": lambda c: (
        "No prior authorization number"
        + (
            f"; this payer has denied {c.procedure} for authorization in "
            f"{_pct(c['hist_payer_proc_auth_rate_max'])} of claims"
            if c.procedure
            else ""
        ),
        "Obtain prior authorization and add its number to the claim (REF*G1)",
    ),
    "hist_payer_proc_auth_rate_max": lambda c: (
        f"This payer often requires authorization for {c.procedure or 'a procedure on this claim'} "
        f"({_pct(c['hist_payer_proc_auth_rate_max'])} authorization denials)",
        "Confirm the authorization on file covers every line and date of service",
    ),
    "hist_payer_proc_auth_rate_90d_max": lambda c: (
        f"This payer recently started denying {c.procedure or 'a procedure on this claim'} "
        f"for authorization ({_pct(c['hist_payer_proc_auth_rate_90d_max'])} in 90 days)",
        "Check the payer's current prior-authorization list before submitting",
    ),
    "eligibility_verified": lambda c: (
        "Eligibility was not verified before the service",
        "Run a real-time eligibility check (270/271) and update coverage",
    ),
    "eligibility_days_before_service": lambda c: (
        (
            "Eligibility was not checked before the service"
            if np.isnan(c["eligibility_days_before_service"])
            else f"Eligibility was last checked {c['eligibility_days_before_service']:.0f} days "
            "before the service"
        ),
        "Run a real-time eligibility check (270/271): coverage may have changed",
    ),
    "hist_patient_eligibility_rate": lambda c: (
        "This patient's recent claims were denied for eligibility",
        "Confirm the patient's current coverage and payer before submitting",
    ),
    "hist_patient_rate": lambda c: (
        f"This patient's earlier claims were often denied ({_pct(c['hist_patient_rate'])})",
        "Review the patient's coverage and recent denials",
    ),
    "days_to_filing_limit": lambda c: (
        _filing(c["days_to_filing_limit"]),
        "Submit today; if late, attach proof of timely filing",
    ),
    "submission_lag_days": lambda c: (
        (
            "The submission date is missing or before the service"
            if np.isnan(c["submission_lag_days"])
            else f"Submitted {c['submission_lag_days']:.0f} days after the service"
        ),
        "Submit sooner; keep proof of timely filing",
    ),
    "therapy_without_modifier": lambda c: (
        "Therapy code billed without a GP/GO/GN therapy modifier",
        "Add the therapy discipline modifier (GP, GO or GN)",
    ),
    "em_minor_procedure_without_25": lambda c: (
        "E/M visit billed with a minor procedure but without modifier 25",
        "Add modifier 25 to the E/M if it was significant and separately identifiable",
    ),
    "ncci_pair_without_distinct_modifier": lambda c: (
        "Two procedures that NCCI bundles are billed without a distinct-service modifier",
        "Add 59 or XE/XS/XP/XU if the services were distinct; otherwise bill the column-1 code",
    ),
    "correction_without_original": lambda c: (
        "Replacement or void claim without the original claim reference",
        "Add the payer claim control number of the original claim (REF*F8)",
    ),
    "is_replacement": lambda c: (
        "Replacement claims are denied more often by this payer",
        "Make sure the original was adjudicated and reference it",
    ),
    "other_coverage": lambda c: (
        "The patient has other coverage",
        "Confirm the coordination-of-benefits order; bill the primary payer first",
    ),
    "hist_payer_proc_noncovered_rate_max": lambda c: (
        f"This payer often does not cover {c.procedure or 'a procedure on this claim'} "
        f"({_pct(c['hist_payer_proc_noncovered_rate_max'])} non-covered denials)",
        "Check the payer's coverage policy; get an ABN or waiver where it applies",
    ),
    "hist_payer_proc_necessity_rate_max": lambda c: (
        f"This payer often questions medical necessity for {c.procedure or 'this procedure'}",
        "Attach documentation supporting medical necessity; check the LCD/NCD",
    ),
    "hist_proc_dx_chapter_rate_max": lambda c: (
        f"The diagnosis {c.diagnosis or ''} is often not accepted for this procedure".replace(
            "  ", " "
        ),
        "Check that the diagnosis pointers support each procedure (LCD/NCD)",
    ),
    "hist_proc_dx_chapter_necessity_rate_max": lambda c: (
        f"Diagnosis {c.diagnosis or ''} rarely supports this procedure's medical necessity",
        "Point each line to the diagnosis that supports it; add documentation",
    ),
    "hist_payer_proc_coding_rate_max": lambda c: (
        f"This payer often denies {c.procedure or 'this procedure'} for coding errors",
        "Review the code, modifiers and units against the payer's policy",
    ),
    "hist_payer_proc_bundling_rate_max": lambda c: (
        f"This payer often bundles {c.procedure or 'this procedure'} into another service",
        "Check NCCI edits and modifiers for the procedures billed together",
    ),
    "hist_payer_proc_mod_rate_max": lambda c: (
        f"This payer denies this procedure/modifier combination often "
        f"({_pct(c['hist_payer_proc_mod_rate_max'])})",
        "Review the modifiers on each line",
    ),
    "hist_provider_rate": _unless_new(
        lambda c: (
            f"This provider's claims are denied often ({_pct(c['hist_provider_rate'])})",
            "Review this provider's recent denials for a repeating cause",
        )
    ),
    "hist_provider_rate_90d": _unless_new(
        lambda c: (
            f"This provider's denial rate rose recently ({_pct(c['hist_provider_rate_90d'])} "
            "in 90 days)",
            "Review this provider's recent denials for a repeating cause",
        )
    ),
    "provider_npi": _unless_new(
        lambda c: (
            "This rendering provider's claims carry extra denial risk",
            "Check credentialing and documentation habits for this provider",
        )
    ),
    "hist_provider_documentation_rate": lambda c: (
        "This provider's claims are often denied for missing documentation",
        "Attach the visit notes and records the payer asks for",
    ),
    "hist_provider_eligibility_rate": lambda c: (
        "This provider's claims are often denied for eligibility",
        "Verify eligibility at scheduling and again at check-in",
    ),
    "hist_provider_payer_other_rate": lambda c: (
        "This provider is often denied by this payer for administrative reasons",
        "Check the provider's enrolment and credentialing with this payer",
    ),
    "hist_provider_payer_rate": lambda c: (
        f"This provider's claims to this payer are denied often "
        f"({_pct(c['hist_provider_payer_rate'])})",
        "Check enrolment and the payer's rules for this provider",
    ),
    **{
        name: lambda c: (
            f"Claims to {c.payer_name} are denied more often than most"
            + _share(c["hist_payer_rate"], "its claims"),
            f"Check {c.payer_name}'s current billing rules for this service",
        )
        for name in ("payer_id", "payer_type", "hist_payer_rate", "hist_payer_rate_90d")
    },
    **{
        name: lambda c: (
            f"{c.payer_name} often denies {c.procedure or 'this procedure'}"
            + _share(c["hist_payer_proc_rate_max"], "its claims"),
            f"Check {c.payer_name}'s coverage and authorization rules for "
            f"{c.procedure or 'this procedure'}",
        )
        for name in (
            "primary_procedure",
            "primary_procedure_family",
            "hist_payer_proc_rate",
            "hist_payer_proc_rate_max",
            "hist_payer_proc_rate_90d_max",
        )
    },
    **{
        name: lambda c: (
            f"The first diagnosis ({c.diagnosis or c.named('primary_diagnosis')}) is one "
            f"{c.payer_name} denies often" + _share(c["hist_payer_dx_chapter_rate"], "its claims"),
            "Check that the first diagnosis is the one that supports the billed services",
        )
        for name in ("primary_diagnosis", "primary_diagnosis_chapter", "hist_payer_dx_chapter_rate")
    },
    "eligibility_coverage": lambda c: (
        f"The latest eligibility response shows the coverage {c.named('eligibility_coverage')} "
        "on the date of service",
        "Run a real-time eligibility check (270/271); bill the coverage it confirms",
    ),
    "eligibility_plan_days_left": lambda c: (
        (
            f"The patient's plan ended {-c['eligibility_plan_days_left']:.0f} days before the "
            "date of service (latest 271)"
            if c["eligibility_plan_days_left"] < 0
            else "The latest eligibility response gives no plan end date"
            if np.isnan(c["eligibility_plan_days_left"])
            else f"The patient's plan ends {c['eligibility_plan_days_left']:.0f} days after the "
            "date of service (latest 271)"
        ),
        "Confirm the patient's current coverage (270/271) and update the payer before billing",
    ),
    "eligibility_days_since_check": lambda c: (
        (
            "No eligibility response (271) is on file for this patient and payer"
            if np.isnan(c["eligibility_days_since_check"])
            else f"The latest eligibility response is {c['eligibility_days_since_check']:.0f} "
            "days old"
        ),
        "Run a real-time eligibility check (270/271) before submitting",
    ),
    "mod_59": lambda c: (
        "A line carries modifier 59, which payers audit most",
        "Use 59 only for a distinct service, with the note that shows it (or XE/XS/XP/XU)",
    ),
    "mod_x": lambda c: (
        "A line carries an X{EPSU} distinct-service modifier",
        "Keep the documentation that shows the service was distinct",
    ),
    "mod_component": lambda c: (
        "A line carries modifier 26 or TC (professional or technical component)",
        "Remove 26/TC unless the code has a professional/technical split and you billed one part",
    ),
    "frequency_code": lambda c: (
        f"The claim is sent with frequency code {c.named('frequency_code')} (1 original, 7 "
        "replacement, 8 void)",
        "For a replacement or void, reference the original claim number (REF*F8)",
    ),
    "is_void": lambda c: (
        "The claim is a void (frequency 8)",
        "Reference the original claim number (REF*F8) and send the void only once",
    ),
    "charge_vs_typical": lambda c: (
        "These codes have no usual charge to compare the billed amount with"
        if np.isnan(c["charge_vs_typical"])
        else f"The billed amount is {c['charge_vs_typical']:.1f} times what these codes usually "
        "bill",
        "Check the units and charge of each line",
    ),
    **{
        name: lambda c: (
            "The claim bills more units than usual"
            if np.isnan(c["max_line_units"])
            else f"The claim bills {c['max_line_units']:.0f} units on one line, more than usual",
            "Check the units on each line against the documentation and the payer's limits",
        )
        for name in ("total_units", "max_line_units")
    },
    **{
        name: lambda c: (
            f"Claims from place of service {c.named('place_of_service')} by this specialty "
            f"({c.named('specialty')}) are denied more often",
            "Check the place of service code matches where the service happened",
        )
        for name in ("place_of_service", "specialty", "claim_type")
    },
}


#: Who owns each feature's cause, and whether a biller can act on it on this claim before it is
#: sent (``fixable``). Claim-fixable factors come first; the others name the team to tell.
_FIXABLE = {
    "billing": (
        "prior_auth_present", "hist_payer_proc_auth_rate_max", "hist_payer_proc_auth_rate_90d_max",
        "therapy_without_modifier", "em_minor_procedure_without_25",
        "ncci_pair_without_distinct_modifier", "correction_without_original", "is_replacement",
        "is_void", "frequency_code", "mod_25", "mod_59", "mod_x", "mod_repeat", "mod_therapy",
        "mod_at", "mod_component", "mod_telehealth", "mod_laterality", "n_modifiers",
        "hist_payer_proc_mod_rate_max", "hist_payer_proc_coding_rate_max",
        "hist_payer_proc_bundling_rate_max", "primary_diagnosis", "primary_diagnosis_chapter",
        "hist_proc_dx_chapter_rate_max", "hist_payer_dx_chapter_rate", "n_diagnoses",
        "charge_vs_typical", "total_units", "max_line_units", "days_to_filing_limit",
    ),
    "front_desk": (
        "eligibility_verified", "eligibility_days_before_service", "eligibility_coverage",
        "eligibility_days_since_check", "eligibility_plan_days_left", "other_coverage",
        "hist_patient_rate", "hist_patient_eligibility_rate",
    ),
    "clinical": ("hist_proc_dx_chapter_necessity_rate_max", "hist_payer_proc_necessity_rate_max"),
}  # fmt: skip
_OTHER_TEAMS = {
    "credentialing": (
        "provider_npi", "hist_provider_rate", "hist_provider_rate_90d",
        "hist_provider_payer_rate", "hist_provider_payer_other_rate", "specialty",
    ),
    "front_desk": ("hist_provider_eligibility_rate",),
    "clinical": ("hist_provider_documentation_rate",),
}  # fmt: skip
#: feature → (team, fixable on this claim); anything else is the payer's policy, not fixable.
OWNER: dict[str, tuple[str, bool]] = {
    **{f: (team, False) for team, names in _OTHER_TEAMS.items() for f in names},
    **{f: (team, True) for team, names in _FIXABLE.items() for f in names},
}
#: A claim-fixable push this small still earns a place among the factors.
MIN_FIXABLE = 0.01


def owner(feature: str) -> tuple[str, bool]:
    """(team, fixable on this claim); a custom x_ feature is the practice's own field."""
    if feature.startswith(EXTRA_PREFIX):
        return "practice", False
    return OWNER.get(feature, ("payer_policy", False))


def _chosen(push: np.ndarray, names: tuple[str, ...]) -> list[int]:
    """The top ``TOP_FACTORS`` pushes, with the largest claim-fixable one always among them,
    claim-fixable ones first."""
    order = [int(i) for i in np.argsort(-push, kind="stable") if push[i] >= MIN_CONTRIBUTION]
    chosen = order[:TOP_FACTORS]
    fixable = next(
        (int(i) for i in np.argsort(-push, kind="stable")
         if push[i] >= MIN_FIXABLE and owner(names[i])[1]),
        None,
    )  # fmt: skip
    if fixable is not None and fixable not in chosen:
        chosen = [*chosen[: TOP_FACTORS - 1], fixable]
    return sorted(chosen, key=lambda i: (not owner(names[i])[1], -push[i]))


def factors(contributions: np.ndarray, context: Context) -> list[dict]:
    """The top upward pushes of one claim as factors (feature, contribution, reason, action,
    who owns it and whether it can be fixed on this claim), claim-fixable ones first."""
    push = contributions[: len(context.names)]
    out: list[dict] = []
    for i in _chosen(push, context.names):
        name = context.names[i]
        sentence = SENTENCES.get(name)
        if name in RISK_WHEN_ABSENT and context.values[i] != 0:
            sentence = None  # the sentence says "no ...": only true when it is absent
        if sentence is not None:
            reason, action = sentence(context)
        else:
            reason = DESCRIPTIONS.get(name, f"The practice's own field {name}").rstrip(".")
            value = context.shown(i)
            if value is not None:
                reason += f" ({value})"
            action = "Review this before submitting"
        team, fixable = owner(name)
        out.append(
            {
                "feature": name,
                "contribution": round(float(push[i]), 4),
                "reason": reason,
                "action": action,
                "fixable": fixable,
                "team": team,
            }
        )
    return out


def actions(found: list[dict]) -> list[str]:
    """Distinct actions in order of the factors they came from."""
    return list(dict.fromkeys(f["action"] for f in found))
