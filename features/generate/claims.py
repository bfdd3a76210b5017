"""Draw claims and their lines: what each provider bills, how carefully, and when.

Everything is vectorised over claims (loops run over specialties, templates or modifier rules,
never over claims) so that a million claims take seconds. Alongside the contract tables this
module returns ``drivers``: per-claim facts the outcome model needs, some visible in the claim
(a missing modifier), some hidden (a lapsed coverage the office did not catch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import rules
from features.codes import icd10_chapter
from features.generate import catalog
from features.generate.world import (
    GOVERNMENT_TYPES,
    POLICY_CHANGE_CODES,
    POLICY_CHANGE_PAYER,
    World,
)


@dataclass(frozen=True)
class Templates:
    """Every specialty's visit templates flattened into arrays."""

    specialty: np.ndarray  # [template]
    weight: np.ndarray  # [template]
    line_start: np.ndarray  # [template] first row in the line arrays
    line_count: np.ndarray  # [template]
    code: np.ndarray  # [template line] procedure code or ""
    revenue: np.ndarray  # [template line] revenue code or ""
    inpatient: np.ndarray  # [template] has a room-and-board line
    dx_pool: np.ndarray  # [template, k] primary-diagnosis candidates ("" padded)
    dx_pool_size: np.ndarray  # [template]
    accepted: list[frozenset[str]]  # [template] chapters the primary procedure accepts


def build_templates() -> Templates:
    specialty, weight, start, count, inpatient, pools, accepted = [], [], [], [], [], [], []
    code, revenue = [], []
    for s_idx, spec in enumerate(catalog.SPECIALTIES):
        chapters = dict(zip(spec.diagnoses, icd10_chapter(pd.Series(spec.diagnoses)), strict=True))
        for lines, w in spec.visits:
            specialty.append(s_idx)
            weight.append(w)
            start.append(len(code))
            count.append(len(lines))
            parsed = [item.split(":") if ":" in item else ["", item] for item in lines]
            revenue += [r for r, _ in parsed]
            code += [c for _, c in parsed]
            inpatient.append(any(r == "0120" for r, _ in parsed))
            primary = next((c for _, c in parsed if c and catalog.PROCEDURES[c].dx_chapters), "")
            ok = frozenset(catalog.PROCEDURES[primary].dx_chapters) if primary else frozenset()
            pool = [d for d in spec.diagnoses if not ok or chapters[d] in ok] or list(
                spec.diagnoses
            )
            pools.append(pool)
            accepted.append(ok)
    width = max(len(p) for p in pools)
    dx_pool = np.array([p + [""] * (width - len(p)) for p in pools], dtype=object)
    return Templates(
        np.array(specialty),
        np.array(weight),
        np.array(start),
        np.array(count),
        np.array(code, dtype=object),
        np.array(revenue, dtype=object),
        np.array(inpatient),
        dx_pool,
        np.array([len(p) for p in pools]),
        accepted,
    )


def _choose_templates(
    spec_of_claim: np.ndarray, t: Templates, rng: np.random.Generator
) -> np.ndarray:
    template = np.empty(len(spec_of_claim), dtype=np.int64)
    for s in np.unique(spec_of_claim):
        rows = np.flatnonzero(spec_of_claim == s)
        options = np.flatnonzero(t.specialty == s)
        p = t.weight[options] / t.weight[options].sum()
        template[rows] = rng.choice(options, size=len(rows), p=p)
    return template


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return pd.Series(numbers).astype("str").str.zfill(width).radd(prefix)


def _any_per_claim(values: np.ndarray, line_starts: np.ndarray) -> np.ndarray:
    return np.maximum.reduceat(values.astype(np.int8), line_starts).astype(bool)


def draw_claims(
    world: World,
    rng: np.random.Generator,
    n: int | None = None,
    days: tuple[int, int] | None = None,
    first_id: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (claims, claim_lines, drivers); claims are ordered by submission date.

    By default the world's ``n_claims`` over its whole window; a month of it (``generate.
    by_month``) is ``n`` claims submitted on ``days`` [first, end), numbered from ``first_id``."""
    cfg, payers, prov, pats = world.config, world.payers, world.providers, world.patients
    n = cfg.n_claims if n is None else n
    first_day, end_day = days or (cfg.start_day, cfg.end_day)
    templates = build_templates()

    # who, when ---------------------------------------------------------------------------
    patient = rng.integers(0, len(pats), n)
    provider = pats["provider"].to_numpy()[patient]
    payer = pats["payer"].to_numpy()[patient]
    ptype = payers["payer_type"].to_numpy()[payer]
    limit = payers["timely_filing_days"].to_numpy()[payer]
    submitted = np.sort(rng.integers(first_day, end_day, n))
    lag = np.round(rng.lognormal(np.log(prov["lag_median"].to_numpy()[provider]), 0.7)).astype(int)
    tail = rng.random(n) < prov["late_tail"].to_numpy()[provider]
    lag = np.where(tail, rng.integers(45, 420, n), lag)
    template = _choose_templates(prov["specialty"].to_numpy()[provider], templates, rng)
    inpatient = templates.inpatient[template]
    stay = np.where(inpatient, np.clip(np.round(rng.lognormal(np.log(3), 0.5, n)), 1, 12), 1)
    service_to = submitted - lag
    service_from = service_to - (stay - 1).astype(int)

    # lines -------------------------------------------------------------------------------
    counts = templates.line_count[template]
    claim_of_line = np.repeat(np.arange(n), counts)
    line_starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(len(claim_of_line)) - line_starts[claim_of_line]
    tl_row = templates.line_start[template][claim_of_line] + within
    line_code = templates.code[tl_row]
    line_rev = templates.revenue[tl_row]
    code_idx = world.codes.get_indexer(line_code)
    has_code = code_idx >= 0
    specs = [catalog.PROCEDURES.get(c) for c in world.codes]
    unit_lo = np.array([s.units[0] for s in specs])
    unit_hi = np.array([s.units[1] for s in specs])
    base_charge = np.array([s.charge for s in specs])
    ci = np.where(has_code, code_idx, 0)
    units = np.where(has_code, rng.integers(unit_lo[ci], unit_hi[ci] + 1), 1).astype(float)
    room = line_rev == "0120"
    units = np.where(room, stay[claim_of_line], units)
    unit_charge = np.where(room, catalog.ROOM_AND_BOARD_PER_DAY, base_charge[ci])
    line_provider = provider[claim_of_line]
    charge = (
        unit_charge
        * units
        * prov["charge_mult"].to_numpy()[line_provider]
        * rng.lognormal(0.0, 0.12, len(units))
    )
    charge = np.round(charge, 2)

    # prior authorization -------------------------------------------------------------------
    line_payer = payer[claim_of_line]
    pa_line = has_code & world.pa_required[line_payer, ci]
    scenario_line = np.zeros_like(pa_line)
    if cfg.scenario == "payer-policy-change":
        change_payer = int(np.flatnonzero(payers["payer_id"] == POLICY_CHANGE_PAYER)[0])
        scenario_line = (
            (line_payer == change_payer)
            & np.isin(line_code, POLICY_CHANGE_CODES)
            & (service_from[claim_of_line] >= world.policy_change_day)
        )
    pa_required = _any_per_claim(pa_line | scenario_line, line_starts)
    scenario_flag = _any_per_claim(scenario_line, line_starts)
    compliance = prov["auth_compliance"].to_numpy()[provider]
    # Under the scenario, offices learn about the new rule over a couple of months.
    new_only = scenario_flag & ~_any_per_claim(pa_line, line_starts)
    days_since = np.maximum(service_from - world.policy_change_day, 0)
    compliance = np.where(new_only, compliance * (1 - np.exp(-days_since / 60.0)), compliance)
    has_auth = np.where(pa_required, rng.random(n) < compliance, rng.random(n) < 0.03)

    # eligibility ---------------------------------------------------------------------------
    verified = rng.random(n) < prov["elig_check_rate"].to_numpy()[provider]
    lead = np.round(rng.lognormal(np.log(prov["elig_lead_median"].to_numpy()[provider]), 0.8))
    verified_day = service_from - lead.astype(int)
    lapse_day = pats["lapse_day"].to_numpy()[patient]
    lapsed = service_from >= lapse_day
    # A fresh check made after the lapse shows it; the office fixes coverage before billing.
    caught = verified & (lead <= 30) & (verified_day >= lapse_day)
    lapsed &= ~caught

    # modifiers -----------------------------------------------------------------------------
    err = prov["error_rate"].to_numpy()[provider]
    err_l = err[claim_of_line]
    gov_l = np.isin(ptype[claim_of_line], GOVERNMENT_TYPES)
    medicare_l = np.isin(ptype[claim_of_line], ("medicare", "medicare_advantage"))
    flag = {
        k: np.array([getattr(s, k) for s in specs])[ci] & has_code
        for k in ("therapy", "chiro_manipulation", "em")
    }
    mods = np.full((4, len(units)), None, dtype=object)
    slot = np.zeros(len(units), dtype=np.int64)

    def put(mask: np.ndarray, value: np.ndarray | str) -> None:
        mask = mask & (slot < 4)
        values = np.broadcast_to(np.asarray(value, dtype=object), mask.shape)
        mods[slot[mask], np.flatnonzero(mask)] = values[mask]
        slot[mask] += 1

    def claim_has(codes: tuple[str, ...]) -> np.ndarray:
        return _any_per_claim(np.isin(line_code, codes), line_starts)[claim_of_line]

    slip = rng.random(len(units)) < err_l
    needs_25 = flag["em"] & claim_has(rules.MINOR_PROCEDURES)
    put(needs_25 & ~slip, "25")
    needs_distinct = np.zeros(len(units), dtype=bool)
    for col2, col1 in rules.BUNDLED_PAIRS:
        needs_distinct |= (line_code == col2) & claim_has((col1,))
    distinct = np.where(rng.random(len(units)) < 0.7, "59", "XU")
    put(needs_distinct & ~slip, distinct)
    overuse = ~needs_distinct & (
        rng.random(len(units)) < prov["modifier59_overuse"].to_numpy()[line_provider]
    )
    put(overuse, "59")
    gp = flag["therapy"] & np.where(gov_l, ~slip, rng.random(len(units)) < 0.5)
    put(gp, "GP")
    needs_at = flag["chiro_manipulation"] & medicare_l
    put(needs_at & ~slip, "AT")
    telehealth_pos = {"02", "10"}
    spec_of_line = prov["specialty"].to_numpy()[line_provider]
    place = _draw_place(prov["specialty"].to_numpy()[provider], inpatient, rng)
    put(np.isin(place[claim_of_line], list(telehealth_pos)), "95")
    lateral = np.isin(line_code, rules.LATERAL_CODES)
    put(lateral, np.where(rng.random(len(units)) < 0.5, "RT", "LT"))
    # An invalid modifier: 26 (professional component) on a code that has none.
    invalid_claim = rng.random(n) < err * 0.25
    no_pc = flag["em"] | flag["therapy"] | np.isin(line_code, ("36415", "80053", "85025"))
    invalid = (within == 0) & invalid_claim[claim_of_line] & no_pc
    put(invalid, "26")

    # diagnoses -----------------------------------------------------------------------------
    pick = (rng.random(n) * templates.dx_pool_size[template]).astype(int)
    primary = templates.dx_pool[template, pick]
    mismatch = rng.random(n) < err * 0.6
    wrong = np.array(catalog.MISMATCH_DIAGNOSES, dtype=object)[rng.integers(0, 3, n)]
    primary = np.where(mismatch, wrong, primary)
    chapter = icd10_chapter(pd.Series(primary)).to_numpy()
    chapters, chapter_idx = np.unique(chapter, return_inverse=True)
    accepts = np.array([[not ok or c in ok for c in chapters] for ok in templates.accepted])
    dx_mismatch = ~accepts[template, chapter_idx]
    spec_of_claim = prov["specialty"].to_numpy()[provider]
    spec_pool = [np.array(s.diagnoses, dtype=object) for s in catalog.SPECIALTIES]
    n_extra = rng.choice(3, size=n, p=[0.35, 0.4, 0.25])
    dx_text = pd.Series(primary, dtype="str")
    for k in range(2):
        extra = np.empty(n, dtype=object)
        for s, pool in enumerate(spec_pool):
            rows = spec_of_claim == s
            extra[rows] = pool[rng.integers(0, len(pool), rows.sum())]
        extra_s = pd.Series(extra, dtype="str")
        take = (n_extra > k) & ~_contains_code(dx_text, extra_s)
        dx_text = dx_text.where(~take, dx_text + "|" + extra_s)
    n_dx = dx_text.str.count(r"\|").to_numpy() + 1

    # line pointers: institutional lines carry none
    institutional = templates.specialty[template] == _hospital_index()
    two = (n_dx[claim_of_line] > 1) & (rng.random(len(units)) < 0.5)
    pointers = np.where(two, "1:2", "1").astype(object)
    pointers[institutional[claim_of_line]] = None

    # non-covered, late, duplicates, credentialing -------------------------------------------
    excluded_l = has_code & world.excluded[line_payer, ci]
    chiro = _specialty_index("chiropractic")
    chiro_rule = (
        (spec_of_line == chiro)
        & (ptype[claim_of_line] == "medicare")
        & has_code
        & ~flag["chiro_manipulation"]
    )
    non_covered = _any_per_claim(excluded_l | chiro_rule, line_starts)
    late = lag > limit
    freq = rng.choice(np.array(["1", "7", "8"]), size=n, p=[0.967, 0.03, 0.003])
    has_original = np.where(freq == "7", rng.random(n) < 0.85, freq == "8")
    original = np.where(has_original, _ids("PCN", rng.integers(0, 10**9, n), 9).to_numpy(), None)

    total = np.round(np.bincount(claim_of_line, weights=charge, minlength=n), 2)
    review = np.array([s.clinical_review for s in specs])[ci] * has_code
    claim_ids = _ids("C", np.arange(first_id, first_id + n), 9)
    npi = prov["npi"].to_numpy()[provider]
    billing = prov["billing_npi"].to_numpy()[provider]
    day = np.datetime64("1970-01-01", "D")

    def dates(days: np.ndarray) -> np.ndarray:
        return (day + days.astype("timedelta64[D]")).astype("datetime64[s]")

    claims = pd.DataFrame(
        {
            "claim_id": claim_ids,
            "patient_id": pats["patient_id"].to_numpy()[patient],
            "payer_id": payers["payer_id"].to_numpy()[payer],
            "billing_npi": billing,
            "rendering_npi": np.where(npi == billing, None, npi),
            "provider_taxonomy": np.array([s.taxonomy for s in catalog.SPECIALTIES])[spec_of_claim],
            "claim_type": np.where(institutional, "institutional", "professional"),
            "place_of_service": place,
            "frequency_code": freq,
            "original_claim_id": original,
            "service_date_from": dates(service_from),
            "service_date_to": dates(service_to),
            "submission_date": dates(submitted),
            "total_charge": total,
            "diagnosis_codes": dx_text.to_numpy(),
            "patient_age": pats["age"].to_numpy()[patient],
            "patient_sex": pats["sex"].to_numpy()[patient],
            "prior_auth_number": np.where(has_auth, _ids("PA", rng.integers(0, 10**7, n), 7), None),
            "eligibility_verified_date": np.where(
                verified, dates(verified_day), np.datetime64("NaT", "s")
            ),
            "other_coverage": pats["other_coverage"].to_numpy()[patient],
        }
    )
    lines = pd.DataFrame(
        {
            "claim_id": claim_ids.to_numpy()[claim_of_line],
            "line_number": within + 1,
            "procedure_code": np.where(has_code, line_code, None),
            **{f"modifier_{k + 1}": mods[k] for k in range(4)},
            "units": units,
            "line_charge": charge,
            "diagnosis_pointers": pointers,
            "revenue_code": np.where(line_rev == "", None, line_rev),
        }
    )
    gp_missing = _any_per_claim(flag["therapy"] & gov_l & ~gp, line_starts)
    drivers = pd.DataFrame(
        {
            "payer": payer,
            "provider": provider,
            "patient": patient,
            "template": template,
            "lag": lag,
            "late": late,
            "stay": stay,
            "pa_required": pa_required,
            "has_auth": has_auth,
            "scenario_flag": scenario_flag,
            "verified": verified,
            "checked_day": verified_day,
            "stale": verified & (lead > 30),
            "lapsed": lapsed,
            "lapse_day": lapse_day,
            "gp_missing": gp_missing,
            "at_missing": _any_per_claim(needs_at & slip, line_starts),
            "mod25_missing": _any_per_claim(needs_25 & slip, line_starts),
            "bundle_missing": _any_per_claim(needs_distinct & slip, line_starts),
            "invalid_modifier": _any_per_claim(invalid, line_starts),
            "has_59": _any_per_claim(
                overuse | (needs_distinct & ~slip & (distinct == "59")), line_starts
            ),
            "dx_mismatch": dx_mismatch,
            "non_covered": non_covered,
            "replacement_no_original": (freq == "7") & ~has_original,
            "frequency": freq,
            "credential_gap": world.credential_gap[provider, payer],
            "other_coverage": claims["other_coverage"].to_numpy(),
            "clinical_review": np.maximum.reduceat(review, line_starts),
            "charge": total,
            "institutional": institutional,
            "inpatient": inpatient,
            "submitted": submitted,
        }
    )
    return claims, lines, drivers


def _contains_code(dx_text: pd.Series, code: pd.Series) -> np.ndarray:
    """Whether each '|'-joined diagnosis list already holds the given code."""
    parts = dx_text.str.split("|", expand=True)
    hit = np.zeros(len(dx_text), dtype=bool)
    for col in parts.columns:
        hit |= (parts[col] == code).fillna(False).to_numpy()
    return hit


def _specialty_index(name: str) -> int:
    return next(i for i, s in enumerate(catalog.SPECIALTIES) if s.name == name)


def _hospital_index() -> int:
    return next(i for i, s in enumerate(catalog.SPECIALTIES) if s.institutional)


def _draw_place(
    spec_of_claim: np.ndarray, inpatient: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    place = np.empty(len(spec_of_claim), dtype=object)
    for s, spec in enumerate(catalog.SPECIALTIES):
        rows = np.flatnonzero(spec_of_claim == s)
        codes, weights = zip(*spec.places, strict=True)
        w = np.array(weights) / sum(weights)
        place[rows] = np.array(codes, dtype=object)[rng.choice(len(codes), size=len(rows), p=w)]
    # Institutional claims carry the facility type: 11 hospital inpatient, 13 outpatient.
    hospital = spec_of_claim == _hospital_index()
    place[hospital] = np.where(inpatient[hospital], "11", "13")
    return place
