"""From claims to outcomes: denial mechanisms, remittances, appeals and the truth behind them.

Each denial category is a mechanism with a *hazard shape*: a relative risk built from fields the
claim shows (no authorization number on a code the payer lists, a missing GP modifier, a claim
filed past the payer's limit...) times hidden but learnable propensities (a payer's strictness,
a provider's documentation habits, a provider not enrolled with a payer). ``calibrate_scales``
then scales each mechanism per payer type, in closed form, so that the payer type's denial rate
and reason mix match the published targets in ``targets.py``. The true probabilities are kept in
the truth table; outcomes are Bernoulli draws from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from features.generate import targets
from features.generate.world import World

#: Categories whose CAS goes on each service line (the reason is about a code); the rest are
#: about the claim as a whole and go at claim level.
LINE_LEVEL = ("coding", "medical_necessity", "non_covered", "bundling")

CARC_CHOICES: dict[str, tuple[tuple[str, float], ...]] = {
    "eligibility": (("27", 0.35), ("31", 0.3), ("26", 0.1), ("177", 0.15), ("109", 0.1)),
    "authorization": (("197", 0.75), ("198", 0.1), ("288", 0.1), ("284", 0.05)),
    "coding": (("4", 0.45), ("11", 0.35), ("181", 0.1), ("146", 0.1)),
    "medical_necessity": (("50", 0.8), ("151", 0.1), ("167", 0.1)),
    "documentation": (("16", 0.6), ("252", 0.25), ("226", 0.15)),
    "timely_filing": (("29", 1.0),),
    "duplicate": (("18", 0.85), ("B13", 0.15)),
    "coordination_of_benefits": (("22", 0.85), ("24", 0.15)),
    "non_covered": (("96", 0.6), ("204", 0.3), ("49", 0.1)),
    "bundling": (("97", 0.7), ("236", 0.2), ("234", 0.1)),
    "other": (("B7", 0.5), ("170", 0.3), ("A1", 0.2)),
}
RARC_FOR: dict[str, str] = {
    "eligibility": "N30",
    "authorization": "N54",
    "coding": "N657",
    "medical_necessity": "N386",
    "documentation": "M127",
    "timely_filing": "N211",
    "coordination_of_benefits": "MA04",
    "non_covered": "N130",
    "bundling": "N20",
    "other": "N290",
}
#: Base overturn odds of an appeal by category (facts.md: 0.7-0.9 for eligibility,
#: documentation and coding once corrected; 0.4-0.6 medical necessity; ~0.02 timely filing).
OVERTURN_BASE: dict[str, float] = {
    "eligibility": 0.75,
    "authorization": 0.55,
    "coding": 0.75,
    "medical_necessity": 0.45,
    "documentation": 0.8,
    "timely_filing": 0.03,
    "duplicate": 0.35,
    "coordination_of_benefits": 0.65,
    "non_covered": 0.15,
    "bundling": 0.55,
    "other": 0.6,
}
#: How willing offices are to appeal each category relative to the rest.
APPEAL_FACTOR = {"timely_filing": 0.15, "non_covered": 0.5, "duplicate": 0.5}
MAX_P = 0.95


def hazard_shapes(d: pd.DataFrame, world: World) -> dict[str, np.ndarray]:
    """Relative risk of each denial mechanism per claim (before calibration)."""
    payers, prov = world.payers, world.providers
    strict = payers["strictness"].to_numpy()[d["payer"]]
    setting = np.where(d["inpatient"], 1.0, np.where(d["institutional"], 1.25, 0.85))
    charge = d["charge"].to_numpy()
    charge_f = np.where(charge > 14_000, 1.4, 1 + 0.08 * np.clip(np.log10(charge / 100), 0, 2))
    soft = strict * setting * charge_f * prov["risk"].to_numpy()[d["provider"]]
    doc_risk = prov["doc_risk"].to_numpy()[d["provider"]]
    f = {
        k: d[k].to_numpy().astype(float)
        for k in (
            "lapsed",
            "verified",
            "stale",
            "pa_required",
            "has_auth",
            "gp_missing",
            "at_missing",
            "mod25_missing",
            "bundle_missing",
            "invalid_modifier",
            "has_59",
            "dx_mismatch",
            "non_covered",
            "replacement_no_original",
            "credential_gap",
            "other_coverage",
            "clinical_review",
        )
    }
    replacement = (d["frequency"] == "7").to_numpy().astype(float)
    unverified = 1 - f["verified"]
    no_auth = f["pa_required"] * (1 - f["has_auth"])
    return {
        "eligibility": soft * (1 + 24 * f["lapsed"]) * (1 + 3 * unverified + 1.5 * f["stale"]),
        "authorization": soft * (0.08 + 2.0 * f["pa_required"] + 25 * no_auth),
        "coding": soft
        * (0.3 + 20 * f["gp_missing"] + 20 * f["invalid_modifier"] + 6 * f["dx_mismatch"]),
        "medical_necessity": soft * (0.2 + 3 * f["clinical_review"] + 12 * f["dx_mismatch"]),
        "documentation": soft
        * doc_risk
        * (1 + 1.5 * f["has_59"])
        * (1 + 1.5 * f["clinical_review"])
        * (1 + 0.3 * replacement),
        "duplicate": soft * (0.3 + 2 * replacement + 30 * f["replacement_no_original"]),
        "coordination_of_benefits": soft * (0.2 + 15 * f["other_coverage"]),
        "non_covered": soft * (0.1 + 30 * f["non_covered"] + 25 * f["at_missing"]),
        "bundling": soft * (0.1 + 25 * f["mod25_missing"] + 25 * f["bundle_missing"]),
        "other": soft * (0.3 + 40 * f["credential_gap"]),
    }


def calibrate_scales(
    shapes: dict[str, np.ndarray], timely: np.ndarray, payer_type: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per payer type, the scale of each mechanism that brings the population to the targets.

    Timely filing is not scaled: past the limit a claim is denied, whatever the target says.
    The soft mechanisms share what remains of the payer type's target rate in the target mix.
    A mechanism's share of denials is E[p · p_m / sum_k p_k] (what labels will show); each round
    rescales every mechanism towards its own target share, which absorbs both the compounding of
    mechanisms and the cap at MAX_P on concentrated hazards.
    """
    scales: dict[str, dict[str, float]] = {}
    for ptype in np.unique(payer_type):
        rows = payer_type == ptype
        mix = targets.reason_mix(ptype)
        total_soft = sum(mix[m] for m in shapes)
        rate = targets.DENIAL_RATE_BY_PAYER_TYPE[ptype]
        t_rows, h = timely[rows], {m: shapes[m][rows] for m in shapes}
        scale = {m: rate * mix[m] / total_soft / max(h[m].mean(), 1e-12) for m in shapes}
        for _ in range(8):
            p = {m: np.minimum(scale[m] * h[m], MAX_P) for m in shapes}
            total = t_rows + sum(p.values())
            p_any = 1 - (1 - t_rows) * np.prod([1 - v for v in p.values()], axis=0)
            weight = np.divide(p_any, total, out=np.zeros_like(total), where=total > 0)
            soft_mass = max(rate - (weight * t_rows).mean(), 1e-4)
            for m in shapes:
                achieved = max((weight * p[m]).mean(), 1e-12)
                scale[m] *= (soft_mass * mix[m] / total_soft / achieved) ** 0.9
        scales[str(ptype)] = scale
    return scales


def mechanism_probabilities(
    shapes: dict[str, np.ndarray],
    timely: np.ndarray,
    payer_type: np.ndarray,
    scales: dict[str, dict[str, float]],
) -> dict[str, np.ndarray]:
    """Per claim, the probability of each mechanism under the population's ``scales``."""
    probs = {m: np.zeros_like(timely) for m in shapes}
    probs["timely_filing"] = timely
    for ptype, scale in scales.items():
        rows = payer_type == ptype
        for m in shapes:
            probs[m][rows] = np.minimum(scale[m] * shapes[m][rows], MAX_P)
    return probs


def denial_probabilities(
    world: World, d: pd.DataFrame, scales: dict[str, dict[str, float]] | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, float]]]:
    """The true P(denied) of each claim with drivers ``d``, P(reason | denied), and the scales
    (calibrated on ``d`` itself unless given: a changed claim keeps the world it was drawn in)."""
    ptype = world.payers["payer_type"].to_numpy()[d["payer"].to_numpy()]
    timely = np.where(d["late"].to_numpy(), 0.95, 0.0005)
    shapes = hazard_shapes(d, world)
    scales = scales if scales is not None else calibrate_scales(shapes, timely, ptype)
    probs = mechanism_probabilities(shapes, timely, ptype, scales)
    pm = np.stack([probs[c] for c in DENIAL_CATEGORIES], axis=1)
    return 1 - np.prod(1 - pm, axis=1), pm / pm.sum(axis=1, keepdims=True), scales


def _draw_choice(
    options: tuple[tuple[str, float], ...], size: int, rng: np.random.Generator
) -> np.ndarray:
    codes, weights = zip(*options, strict=True)
    return np.array(codes, dtype=object)[
        rng.choice(len(codes), size=size, p=np.array(weights) / sum(weights))
    ]


def _overturn_logit_shift(logit: np.ndarray, weight: np.ndarray, target: float) -> float:
    """The intercept shift that makes the weighted mean overturn probability hit ``target``."""
    lo, hi = -6.0, 6.0
    for _ in range(40):
        mid = (lo + hi) / 2
        mean = np.average(1 / (1 + np.exp(-(logit + mid))), weights=weight)
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return (lo + hi) / 2


def draw_outcomes(
    world: World,
    claims: pd.DataFrame,
    lines: pd.DataFrame,
    d: pd.DataFrame,
    rng: np.random.Generator,
    scales: dict[str, dict[str, float]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Adjudicate every claim; return remits, adjustments, remarks, appeals and truth.

    ``scales`` (``denial_probabilities``): the world's calibration, when these claims are one
    month of it; by default they are calibrated on themselves."""
    cfg, payers, prov = world.config, world.payers, world.providers
    n = len(claims)
    payer = d["payer"].to_numpy()
    ptype = payers["payer_type"].to_numpy()[payer]
    cats = list(DENIAL_CATEGORIES)
    p_denial, q, _ = denial_probabilities(world, d, scales)

    denied = rng.random(n) < p_denial
    cat_idx = (q.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, len(cats) - 1)
    category = np.where(denied, np.array(cats, dtype=object)[cat_idx], None)

    # amounts ----------------------------------------------------------------------------------
    line_claim = np.repeat(np.arange(n), lines.groupby("claim_id", sort=False).size().to_numpy())
    line_charge = lines["line_charge"].to_numpy()
    ratio = payers["allowed_ratio"].to_numpy()[payer][line_claim]
    allowed_line = np.round(
        line_charge * np.minimum(ratio * rng.lognormal(0, 0.08, len(line_charge)), 1.0), 2
    )
    allowed = np.round(np.bincount(line_claim, weights=allowed_line, minlength=n), 2)
    share = payers["patient_share"].to_numpy()[payer] * rng.uniform(0.5, 1.5, n)
    patient_resp = np.round(np.minimum(allowed * share, allowed), 2)
    recoverable = np.round(allowed - patient_resp, 2)

    # remittances --------------------------------------------------------------------------------
    adjudication = payers["adjudication_days"].to_numpy()[payer]
    remit_day = d["submitted"].to_numpy() + np.maximum(
        1, np.round(rng.lognormal(np.log(adjudication), 0.35))
    ).astype(int)
    window = payers["appeal_window_days"].to_numpy()[payer]
    has_remit = remit_day < cfg.end_day
    claim_id = claims["claim_id"].to_numpy()
    remit_id = pd.Series(claim_id).str.replace("C", "R", n=1).to_numpy()
    pcn = pd.Series(rng.integers(0, 10**9, n)).astype("str").str.zfill(9).radd("PCN").to_numpy()
    total = claims["total_charge"].to_numpy()
    remits = pd.DataFrame(
        {
            "remit_id": remit_id,
            "claim_id": claim_id,
            "payer_id": claims["payer_id"].to_numpy(),
            "payer_claim_control_number": pcn,
            "claim_status_code": "1",
            "remit_date": _dates(remit_day),
            "charge_amount": total,
            "paid_amount": np.where(denied, 0.0, recoverable),
            "patient_responsibility": np.where(denied, 0.0, patient_resp),
        }
    )

    adjustments = _adjustments(
        claims,
        lines,
        line_claim,
        denied,
        category,
        allowed_line,
        patient_resp,
        ptype,
        remit_id,
        rng,
    )
    remarks = _remarks(denied, category, ptype, claim_id, remit_id, line_claim, rng)

    # appeals ----------------------------------------------------------------------------------
    strict = payers["strictness"].to_numpy()[payer]
    doc_risk = prov["doc_risk"].to_numpy()[d["provider"]]
    base = np.array([OVERTURN_BASE[c] for c in cats])
    logit_cat = (
        np.log(base / (1 - base))[None, :]
        + (
            -0.6 * np.log(strict)
            - 0.5 * np.log(doc_risk)
            - 0.15 * np.log10(np.maximum(total, 1) / 1000)
        )[:, None]
    )
    logit_cat[:, cats.index("authorization")] += 1.0 * d["has_auth"].to_numpy()
    logit_cat[:, cats.index("eligibility")] += 0.6 * d["verified"].to_numpy()
    appeal_f = np.array([APPEAL_FACTOR.get(c, 1.0) for c in cats])
    propensity = prov["appeal_propensity"].to_numpy()[d["provider"]] * (
        0.6 + 0.2 * np.clip(np.log10(np.maximum(total, 1) / 100), 0, 2)
    )
    appeal_raw = propensity * appeal_f[cat_idx]
    scale = targets.APPEAL_SHARE / appeal_raw[denied].mean() if denied.any() else 1.0
    p_appeal = np.minimum(appeal_raw * scale, 0.95)
    appealed = denied & (rng.random(n) < p_appeal)
    chosen = logit_cat[np.arange(n), cat_idx]
    shift = (
        _overturn_logit_shift(chosen[appealed], np.ones(appealed.sum()), targets.OVERTURN_RATE)
        if appealed.any()
        else 0.0
    )
    p_over_cat = 1 / (1 + np.exp(-(logit_cat + shift)))
    medicare_timely = ptype == "medicare"
    p_over_cat[medicare_timely, cats.index("timely_filing")] = 0.005  # CO-29: not appealable
    p_overturn = np.where(denied, p_over_cat[np.arange(n), cat_idx], (q * p_over_cat).sum(axis=1))

    appeals, reprocessed = _appeals(
        cfg.end_day, appealed, p_overturn, remit_day, window, recoverable, total, claim_id, rng
    )
    if len(reprocessed):
        remits, adjustments = _add_reprocessed(remits, adjustments, reprocessed)

    keep = has_remit
    kept_remits = set(remit_id[keep])
    adj_keep = adjustments["remit_id"].isin(kept_remits)
    rem_keep = remarks["remit_id"].isin(kept_remits)
    first_remits = remits.iloc[:n][keep]
    remits = pd.concat([first_remits, remits.iloc[n:]], ignore_index=True)
    appeals = appeals[appeals["claim_id"].isin(first_remits["claim_id"])].reset_index(drop=True)

    truth = pd.DataFrame(
        {
            "claim_id": claim_id,
            "denial_probability": p_denial,
            "category": category,
            **{f"p_{c}": q[:, i] for i, c in enumerate(cats)},
            "overturn_probability": p_overturn,
            "recoverable_amount": recoverable,
            "appeal_deadline": _dates(remit_day + window),
            "scenario_flag": d["scenario_flag"],
        }
    )
    return {
        "remits": remits,
        "remit_adjustments": adjustments[adj_keep].reset_index(drop=True),
        "remit_remarks": remarks[rem_keep].reset_index(drop=True),
        "appeals": appeals,
        "truth": truth,
    }


def _dates(days: np.ndarray) -> np.ndarray:
    return (np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")).astype(
        "datetime64[s]"
    )


def _adjustments(
    claims: pd.DataFrame,
    lines: pd.DataFrame,
    line_claim: np.ndarray,
    denied: np.ndarray,
    category: np.ndarray,
    allowed_line: np.ndarray,
    patient_resp: np.ndarray,
    ptype: np.ndarray,
    remit_id: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """CAS rows that balance every remit: charge = paid + sum of adjustments."""
    n = len(claims)
    claim_id = claims["claim_id"].to_numpy()
    line_charge = lines["line_charge"].to_numpy()
    line_no = lines["line_number"].to_numpy()
    # denial reason codes, one per denied claim
    carc = np.empty(n, dtype=object)
    for cat, options in CARC_CHOICES.items():
        rows = category == cat
        carc[rows] = _draw_choice(options, int(rows.sum()), rng)
    group = np.where(carc == "18", "OA", "CO")
    line_level = np.isin(category, LINE_LEVEL)
    frames = []
    # denied, claim-level reason: one row for the whole charge
    rows = denied & ~line_level
    frames.append(
        pd.DataFrame(
            {
                "remit_id": remit_id[rows],
                "claim_id": claim_id[rows],
                "line_number": None,
                "group_code": group[rows],
                "carc": carc[rows],
                "amount": claims["total_charge"].to_numpy()[rows],
            }
        )
    )
    # denied, line-level reason: every line adjusted in full
    lrows = (denied & line_level)[line_claim]
    frames.append(
        pd.DataFrame(
            {
                "remit_id": remit_id[line_claim][lrows],
                "claim_id": claim_id[line_claim][lrows],
                "line_number": line_no[lrows],
                "group_code": group[line_claim][lrows],
                "carc": carc[line_claim][lrows],
                "amount": line_charge[lrows],
            }
        )
    )
    # paid: contractual write-down per line, patient share at claim level
    prow = ~denied[line_claim]
    writedown = np.round(line_charge - allowed_line, 2)
    prow_w = prow & (writedown > 0)
    frames.append(
        pd.DataFrame(
            {
                "remit_id": remit_id[line_claim][prow_w],
                "claim_id": claim_id[line_claim][prow_w],
                "line_number": line_no[prow_w],
                "group_code": "CO",
                "carc": "45",
                "amount": writedown[prow_w],
            }
        )
    )
    paid_pr = ~denied & (patient_resp > 0)
    pr_carc = np.where(
        ptype == "medicare_advantage",
        "3",
        np.where((ptype == "commercial") & (rng.random(n) < 0.35), "1", "2"),
    )
    frames.append(
        pd.DataFrame(
            {
                "remit_id": remit_id[paid_pr],
                "claim_id": claim_id[paid_pr],
                "line_number": None,
                "group_code": "PR",
                "carc": pr_carc[paid_pr],
                "amount": patient_resp[paid_pr],
            }
        )
    )
    adj = pd.concat(frames, ignore_index=True)
    adj["line_number"] = adj["line_number"].astype("Int64")
    return adj.sort_values(
        ["remit_id", "line_number"], kind="stable", na_position="first"
    ).reset_index(drop=True)


def _remarks(
    denied: np.ndarray,
    category: np.ndarray,
    ptype: np.ndarray,
    claim_id: np.ndarray,
    remit_id: np.ndarray,
    line_claim: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    rarc = pd.Series(category).map(RARC_FOR).to_numpy()
    # Coverage-determination and no-appeal-rights remarks are Medicare's vocabulary.
    medicare_only = np.isin(category, ("medical_necessity", "timely_filing"))
    keep = denied & pd.notna(rarc) & (rng.random(len(denied)) < 0.8)
    keep &= ~medicare_only | np.isin(ptype, ("medicare", "medicare_advantage"))
    line_level = np.isin(category, LINE_LEVEL)
    return pd.DataFrame(
        {
            "remit_id": remit_id[keep],
            "claim_id": claim_id[keep],
            "line_number": pd.array(np.where(line_level[keep], 1, None).tolist(), dtype="Int64"),
            "rarc": rarc[keep],
        }
    )


def _appeals(
    end_day: int,
    appealed: np.ndarray,
    p_overturn: np.ndarray,
    remit_day: np.ndarray,
    window: np.ndarray,
    recoverable: np.ndarray,
    total: np.ndarray,
    claim_id: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level-1 appeals (and some level-2 after an upheld first level), as of ``end_day``."""
    idx = np.flatnonzero(appealed)
    m = len(idx)
    late = rng.random(m) < 0.06
    frac = np.where(late, rng.uniform(1.0, 1.5, m), rng.beta(2.0, 5.0, m))
    appeal_day = remit_day[idx] + np.maximum(1, np.round(window[idx] * frac)).astype(int)
    p = p_overturn[idx] * np.where(late, 0.1, 1.0)
    won = rng.random(m) < p
    resolve_day = appeal_day + np.maximum(5, np.round(rng.lognormal(np.log(45), 0.6, m))).astype(
        int
    )
    # Upheld, sizeable first-level appeals go to a second level a third of the time.
    second = ~won & (total[idx] > 1000) & (rng.random(m) < 0.33)
    appeal2 = resolve_day + rng.integers(10, 50, m)
    won2 = rng.random(m) < p * 0.5
    resolve2 = appeal2 + np.maximum(10, np.round(rng.lognormal(np.log(60), 0.5, m))).astype(int)
    recovered = np.round(recoverable[idx] * rng.uniform(0.85, 1.0, m), 2)

    def frame(
        rows: np.ndarray, level: int, a_day: np.ndarray, r_day: np.ndarray, win: np.ndarray
    ) -> pd.DataFrame:
        pending = r_day >= end_day
        return pd.DataFrame(
            {
                "claim_id": claim_id[idx][rows],
                "appeal_date": _dates(a_day),
                "level": level,
                "outcome": np.where(pending, "pending", np.where(win, "overturned", "upheld")),
                "recovered_amount": np.where(pending, np.nan, np.where(win, recovered[rows], 0.0)),
                "resolved_date": np.where(pending, np.datetime64("NaT", "s"), _dates(r_day)),
                "_resolve_day": r_day,
                "_won": win & ~pending,
                "_amount": recovered[rows],
            }
        )

    first = np.ones(m, dtype=bool) & (appeal_day < end_day)
    sec = second & (resolve_day < end_day) & (appeal2 < end_day)
    table = pd.concat(
        [
            frame(first, 1, appeal_day[first], resolve_day[first], won[first]),
            frame(sec, 2, appeal2[sec], resolve2[sec], won2[sec]),
        ],
        ignore_index=True,
    ).sort_values(["appeal_date", "claim_id", "level"], kind="stable")
    table = table.reset_index(drop=True)
    table.insert(
        0, "appeal_id", pd.Series(np.arange(1, len(table) + 1)).astype("str").str.zfill(8).radd("A")
    )
    paid_back = table[table["_won"] & (table["_resolve_day"] + 7 < end_day)]
    reprocessed = pd.DataFrame(
        {
            "claim_id": paid_back["claim_id"].to_numpy(),
            "remit_day": paid_back["_resolve_day"].to_numpy() + 7,
            "paid": paid_back["_amount"].to_numpy(),
        }
    )
    return table.drop(columns=["_resolve_day", "_won", "_amount"]), reprocessed


def _add_reprocessed(
    remits: pd.DataFrame, adjustments: pd.DataFrame, reprocessed: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A won appeal brings a second remittance that pays the claim."""
    first = remits.set_index("claim_id").loc[reprocessed["claim_id"]]
    remit_id = first["remit_id"].to_numpy() + "-2"
    charge = first["charge_amount"].to_numpy()
    paid = reprocessed["paid"].to_numpy()
    new = pd.DataFrame(
        {
            "remit_id": remit_id,
            "claim_id": reprocessed["claim_id"].to_numpy(),
            "payer_id": first["payer_id"].to_numpy(),
            "payer_claim_control_number": first["payer_claim_control_number"].to_numpy(),
            "claim_status_code": "1",
            "remit_date": _dates(reprocessed["remit_day"].to_numpy()),
            "charge_amount": charge,
            "paid_amount": paid,
            "patient_responsibility": 0.0,
        }
    )
    writedown = np.round(charge - paid, 2)
    adj = pd.DataFrame(
        {
            "remit_id": remit_id,
            "claim_id": new["claim_id"].to_numpy(),
            "line_number": pd.array([pd.NA] * len(new), dtype="Int64"),
            "group_code": "CO",
            "carc": "45",
            "amount": writedown,
        }
    )
    adj = adj[writedown > 0]
    return (
        pd.concat([remits, new], ignore_index=True),
        pd.concat([adjustments, adj], ignore_index=True),
    )
