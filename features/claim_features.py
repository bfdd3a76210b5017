"""Features of the claim itself: what the 837 says, before any history is consulted.

Pure numpy over column arrays (``Columns``), so the same code serves a million training rows and
the one claim an API request carries. Lines are tied to claims by ``line_claim`` (the row index
of each line's claim). Line facts are aggregated to the claim without losing the riskiest line:
flags are "any line", the primary line is the highest-charge one, and history features (see
``history.py``) take the maximum over lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features import rules
from features.codes import TAXONOMY_SPECIALTY, icd10_chapter, procedure_family
from features.contract import Table

Columns = dict[str, np.ndarray]
MODIFIER_COLUMNS = ("modifier_1", "modifier_2", "modifier_3", "modifier_4")


def is_missing(values: np.ndarray) -> np.ndarray:
    """Elementwise ``is None`` for object arrays (how ``as_columns`` marks a missing string)."""
    return np.equal(values, None)


class FeatureInputError(ValueError):
    """Claims handed to the pipeline lack a column it needs, or tie lines to no claim."""


def strings(values: Any) -> np.ndarray:
    """Object array of str, with None for anything missing or blank."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        # a typed text column holds only str and NA: blanks are found without a Python loop
        if _repetitive(values):
            return _shared_strings(values)
        arr = values.to_numpy(dtype=object, na_value=None)
        arr[(values.str.len() == 0).to_numpy(dtype=bool, na_value=False)] = None
        return arr
    if isinstance(values, pd.Series):
        arr = values.to_numpy(dtype=object, na_value=None)
    else:
        arr = np.array(values, dtype=object).reshape(-1)
    return np.array([v if isinstance(v, str) and v else None for v in arr], dtype=object)


def _repetitive(values: pd.Series, sample: int = 4096) -> bool:
    """Whether a long text column repeats a few values (a payer, a code) rather than naming each
    row (a claim id), judged from its first rows."""
    return len(values) > sample and values.iloc[:sample].nunique() < sample // 8


def _shared_strings(values: pd.Series) -> np.ndarray:
    """``strings`` of a repetitive column, each distinct value one shared str object.

    A million rows of a payer id as separate str objects take ~60 MB; as pointers to 13 shared
    ones, 8 MB. Factorizing costs less than making the objects.
    """
    codes, uniques = pd.factorize(values)
    pool = np.array([u or None for u in uniques.tolist()] + [None], dtype=object)
    return pool[codes]  # code -1 (missing) picks the trailing None


def _days(values: Any) -> np.ndarray:
    """Days since 1970-01-01 as float, NaN where missing. Accepts datetimes or ISO strings."""
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        arr = values.to_numpy(dtype="datetime64[D]")
    else:
        raw = np.array(values, dtype=object).reshape(-1)
        arr = np.array(
            [
                np.datetime64(v, "D")
                if v is not None and v == v and v != ""
                else np.datetime64("NaT")
                for v in raw
            ],
            dtype="datetime64[D]",
        )
    out = arr.astype("int64").astype(float)
    out[np.isnat(arr)] = np.nan
    return out


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None and value != "" else np.nan
    except (TypeError, ValueError):
        return np.nan


def _numbers(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.array(
        [_number(v) for v in np.array(values, dtype=object).reshape(-1).tolist()], dtype=float
    )


# True/False also match 1/0 (equal hashes).
_FLAGS = {True: 1.0, False: 0.0, "true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


def _flags(values: Any) -> np.ndarray:
    """Booleans as 1.0/0.0 (NaN when missing); accepts bools, 0/1 and 'true'/'false'."""
    if isinstance(values, pd.Series) and pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    raw = np.array(values, dtype=object).reshape(-1).tolist()
    return np.array(
        [_FLAGS.get(v.lower() if isinstance(v, str) else v, np.nan) for v in raw], dtype=float
    )


def as_columns(data: pd.DataFrame | Mapping[str, Any], table: Table) -> Columns:
    """The contract columns of ``table`` as numpy arrays, whatever shape the input came in.

    Strings become object arrays (None when missing), dates float days since 1970 (NaN when
    missing), numbers and booleans float. A required column that is absent is an error naming it.
    """
    out: Columns = {}
    length = len(data) if isinstance(data, pd.DataFrame) else None
    for f in table.fields:
        if f.name not in data:
            if f.required:
                raise FeatureInputError(
                    f"{table.name} lacks required column {f.name!r} ({f.description})"
                )
            if length is None:
                first = next(iter(data.values()), [])
                length = len(np.array(first, dtype=object).reshape(-1))
            out[f.name] = (
                np.full(length, np.nan)
                if f.kind in ("int", "float", "date", "bool")
                else np.full(length, None, dtype=object)
            )
            continue
        values = data[f.name]
        if f.kind == "string":
            out[f.name] = strings(values)
        elif f.kind == "date":
            out[f.name] = _days(values)
        elif f.kind == "bool":
            out[f.name] = _flags(values)
        else:
            out[f.name] = _numbers(values)
    return out


class CodeCache:
    """Memoised code → family/chapter/specialty lookups.

    The vectorised code functions cost about a millisecond per call whatever the input size;
    caching per code makes a single claim cost microseconds once its codes have been seen.
    """

    def __init__(self) -> None:
        self._maps: dict[str, dict[str | None, str]] = {}

    def lookup(
        self, name: str, values: np.ndarray, fn: Callable[[pd.Series], pd.Series]
    ) -> np.ndarray:
        if len(values) > 2_000:  # a batch: look up each distinct value once
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            return self._each(name, np.asarray(uniques, dtype=object), fn)[codes]
        return self._each(name, values, fn)

    def _each(
        self, name: str, values: np.ndarray, fn: Callable[[pd.Series], pd.Series]
    ) -> np.ndarray:
        cache = self._maps.setdefault(name, {})
        missing = {v for v in values.tolist() if v not in cache}
        if missing:
            keys = list(missing)
            cache.update(zip(keys, fn(pd.Series(keys, dtype=object)).tolist(), strict=True))
        return np.array([cache[v] for v in values.tolist()], dtype=object)


def _specialty_of(taxonomy: pd.Series) -> pd.Series:
    return taxonomy.map(lambda t: TAXONOMY_SPECIALTY.get(t, t) if isinstance(t, str) else None)


def _member(values: np.ndarray, choices: tuple[str, ...]) -> np.ndarray:
    """``np.isin`` without its fixed cost (~7 µs) on the handful of values of one claim."""
    if values.size > 256:
        return np.isin(values, choices)
    pool = frozenset(choices)
    flat = values.ravel().tolist()
    return np.fromiter((v in pool for v in flat), dtype=bool, count=len(flat)).reshape(values.shape)


def _per_claim_any(flag: np.ndarray, line_claim: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(line_claim, weights=flag.astype(float), minlength=n) > 0


def line_entities(lines: Columns, cache: CodeCache) -> Columns:
    """Per-line keys shared by claim features and history: code, family, modifier set."""
    code = lines["procedure_code"].copy()
    revenue = lines["revenue_code"]
    no_code = is_missing(code)
    code[no_code] = [f"REV{r}" if r is not None else None for r in revenue[no_code].tolist()]
    mods = (
        np.stack([lines[c] for c in MODIFIER_COLUMNS], axis=1)
        if len(code)
        else np.empty((0, 4), dtype=object)
    )
    # most lines carry no modifier: join only the rows that have one
    some = ~is_missing(mods).all(axis=1)
    modset = np.full(len(code), "", dtype=object)
    modset[some] = ["+".join(sorted(m for m in row if m)) for row in mods[some].tolist()]
    return {
        "line_code": code,
        "line_family": cache.lookup("family", code, procedure_family),
        "mods": np.where(is_missing(mods), "", mods),
        "modset": modset,
    }


def primary_line(lines: Columns, line_claim: np.ndarray, n: int) -> np.ndarray:
    """Index of each claim's highest-charge line (first on ties), -1 for a claim without lines."""
    out = np.full(n, -1, dtype=np.int64)
    if len(line_claim):
        order = np.lexsort((lines["line_number"], -np.nan_to_num(lines["line_charge"]), line_claim))
        claims_sorted = line_claim[order]
        first = np.flatnonzero(np.r_[True, claims_sorted[1:] != claims_sorted[:-1]])
        out[claims_sorted[first]] = order[first]
    return out


def claim_entities(
    claims: Columns,
    lines: Columns,
    ents: Columns,
    line_claim: np.ndarray,
    primary: np.ndarray,
    cache: CodeCache,
) -> Columns:
    """Per-claim categorical keys (strings) used both as features and as history keys."""
    provider = np.where(
        is_missing(claims["rendering_npi"]),
        claims["billing_npi"],
        claims["rendering_npi"],
    )
    dx = claims["diagnosis_codes"].tolist()
    primary_dx = np.array([d.split("|", 1)[0] if d else None for d in dx], dtype=object)
    has_primary = primary >= 0
    pick = np.where(has_primary, primary, 0)

    def from_line(values: np.ndarray) -> np.ndarray:
        if not len(values):
            return np.full(len(primary), None, dtype=object)
        return np.where(has_primary, values[pick], None)

    return {
        "payer_id": claims["payer_id"],
        "provider_npi": provider,
        "specialty": cache.lookup("specialty", claims["provider_taxonomy"], _specialty_of),
        "claim_type": claims["claim_type"],
        "place_of_service": claims["place_of_service"],
        "frequency_code": claims["frequency_code"],
        "primary_procedure": from_line(ents["line_code"]),
        "primary_procedure_family": from_line(ents["line_family"]),
        "primary_diagnosis": primary_dx,
        "primary_diagnosis_chapter": cache.lookup("chapter", primary_dx, icd10_chapter),
        "patient_sex": claims["patient_sex"],
        "patient_id": claims["patient_id"],
    }


def claim_numbers(
    claims: Columns,
    lines: Columns,
    ents: Columns,
    line_claim: np.ndarray,
    filing_limit: np.ndarray,
    typical: dict[str, float],
) -> Columns:
    """Numeric claim features (see ``registry.CLAIM_FEATURES``)."""
    n = len(claims["claim_id"])
    mods, code, family = ents["mods"], ents["line_code"], ents["line_family"]

    def any_line(flag: np.ndarray) -> np.ndarray:
        return _per_claim_any(flag, line_claim, n).astype(float)

    # modifiers as codes of their few distinct values: each test below is then a lookup
    mod_codes, mod_values = pd.factorize(mods.ravel())
    mod_codes = mod_codes.reshape(mods.shape)

    def has_mod(*values: str) -> np.ndarray:
        return _member(mod_values, values)[mod_codes].any(axis=1)

    def claim_has(codes: tuple[str, ...]) -> np.ndarray:
        return _per_claim_any(_member(code, codes), line_claim, n)[line_claim]

    units = np.nan_to_num(lines["units"])
    unit_typical = np.array([typical.get(c, np.nan) for c in code.tolist()], dtype=float)
    expected = np.bincount(line_claim, weights=np.nan_to_num(unit_typical * units), minlength=n)
    known = np.bincount(line_claim, weights=~np.isnan(unit_typical), minlength=n) > 0
    total = claims["total_charge"]
    em = family == "evaluation_management"
    therapy = family == "physical_medicine"
    distinct = has_mod(*rules.DISTINCT_MODIFIERS)
    ncci = np.zeros(len(code), dtype=bool)
    for col2, col1 in rules.BUNDLED_PAIRS:
        ncci |= (code == col2) & claim_has((col1,)) & ~distinct
    lag = claims["submission_date"] - claims["service_date_to"]
    day = claims["submission_date"]
    dates = (
        day.astype("datetime64[D]")
        if not np.isnan(day).any()
        else np.array([np.datetime64(int(d), "D") if d == d else np.datetime64("NaT") for d in day])
    )
    freq = claims["frequency_code"]
    correction = _member(freq, ("7", "8"))
    dx = claims["diagnosis_codes"].tolist()
    return {
        "total_charge": total,
        "charge_vs_typical": np.where(
            known & (expected > 0), total / np.where(expected > 0, expected, 1), np.nan
        ),
        "n_lines": np.bincount(line_claim, minlength=n).astype(float),
        "total_units": np.bincount(line_claim, weights=units, minlength=n),
        "max_line_units": _per_claim_max(units, line_claim, n),
        "n_diagnoses": np.array([d.count("|") + 1 if d else 0 for d in dx], dtype=float),
        "n_modifiers": np.bincount(
            line_claim, weights=(mods != "").sum(axis=1) if len(mods) else np.zeros(0), minlength=n
        ),
        "mod_25": any_line(has_mod("25")),
        "mod_59": any_line(has_mod("59")),
        "mod_x": any_line(has_mod("XE", "XP", "XS", "XU")),
        "mod_repeat": any_line(has_mod("76", "77", "91")),
        "mod_therapy": any_line(has_mod(*rules.THERAPY_MODIFIERS)),
        "mod_at": any_line(has_mod("AT")),
        "mod_component": any_line(has_mod("26", "TC")),
        "mod_telehealth": any_line(has_mod("95", "GT")),
        "mod_laterality": any_line(has_mod("RT", "LT")),
        "em_minor_procedure_without_25": any_line(
            em & ~has_mod("25") & claim_has(rules.MINOR_PROCEDURES)
        ),
        "therapy_without_modifier": any_line(therapy & ~has_mod(*rules.THERAPY_MODIFIERS)),
        "ncci_pair_without_distinct_modifier": any_line(ncci),
        "patient_age": claims["patient_age"],
        "service_days": claims["service_date_to"] - claims["service_date_from"] + 1,
        "submission_lag_days": lag,
        "days_to_filing_limit": filing_limit - lag,
        "prior_auth_present": (~is_missing(claims["prior_auth_number"])).astype(float),
        "eligibility_verified": (~np.isnan(claims["eligibility_verified_date"])).astype(float),
        "eligibility_days_before_service": claims["service_date_from"]
        - claims["eligibility_verified_date"],
        "other_coverage": claims["other_coverage"],
        "is_replacement": (freq == "7").astype(float),
        "is_void": (freq == "8").astype(float),
        "correction_without_original": (
            correction & is_missing(claims["original_claim_id"])
        ).astype(float),
        "submission_month": (dates.astype("datetime64[M]").astype("int64") % 12 + 1).astype(float),
        "submission_weekday": ((day + 3) % 7),  # 1970-01-01 was a Thursday; Monday = 0
    }


def _per_claim_max(values: np.ndarray, line_claim: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(values):
        np.fmax.at(out, line_claim, values)
    return out
