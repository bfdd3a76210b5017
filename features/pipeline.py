"""The fitted feature pipeline: one ``transform`` for training rows and for a claim over HTTP.

``FeaturePipeline.fit(tables)`` learns what features need from history: category levels (rare
ones folded, unseen ones become missing at serving), typical per-unit charges, payer limits, and a
*history snapshot* (compacted event logs, see ``history.py``) as of its cutoff. It is saved inside
the model bundle, so a model can never be served with features built another way.

``build_training_matrix(tables)`` fits a pipeline and builds one row per claim with point-in-time
history computed from the *full* event logs, through the same private ``_compute`` that
``transform`` runs on the snapshot. For claims submitted on or after the cutoff the two give the
same numbers by construction; ``tests/test_pipeline.py`` proves it claim by claim.

Refreshing the snapshot with newer remits, without retraining: ``pipeline.refresh(tables)``
rebuilds the event logs up to the new data's as-of date and keeps the learnt levels and typical
charges, so the model's inputs keep their meaning while history moves on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd

from features.claim_features import (
    CodeCache,
    FeatureInputError,
    as_columns,
    claim_entities,
    claim_numbers,
    line_entities,
    primary_line,
    strings,
)
from features.codes import initial_outcomes
from features.contract import CLAIM_LINES, CLAIMS
from features.eligibility import eligibility_features
from features.extras import as_numbers, extra_names, kind_of
from features.history import (
    EventLog,
    KeyCodes,
    Lookups,
    build_logs,
    encode,
    history_features,
    key_events,
    vocabularies,
)
from features.labels import LabelFacts, build_labels
from features.lookup import first_position, take
from features.registry import CATEGORICAL, FEATURE_NAMES

OTHER = "__other__"
#: What a payer the pipeline never saw looks like: type, filing limit and appeal window unknown.
_UNKNOWN_PAYER = (None, np.nan, np.nan)


#: The tables a parse reads; nothing after it does (``FeaturePipeline._fit`` lets them go).
_PARSED_TABLES = ("claims", "claim_lines", "eligibility")


def _days_or_nan(value: object) -> float:
    """A payer's limit in days, NaN when the payer table leaves it unknown."""
    return np.nan if value is None or pd.isna(value) else float(value)


@dataclass
class _Parsed:
    """Claims and lines as arrays, with what every feature needs derived once."""

    claims: dict[str, np.ndarray]
    lines: dict[str, np.ndarray]
    line_claim: np.ndarray
    primary: np.ndarray
    line_ents: dict[str, np.ndarray]
    claim_ents: dict[str, np.ndarray]
    extras: dict[str, np.ndarray]  # the custom x_ columns the claims carried, as given
    eligibility: dict[str, np.ndarray]  # features.eligibility: the latest response's reading
    key_codes: KeyCodes | None = None  # set by FeaturePipeline._codes_of

    def take(self, rows: np.ndarray) -> _Parsed:
        """The claims at positions ``rows`` (sorted) with their lines, everything re-indexed."""
        keep_line = np.isin(self.line_claim, rows)
        new_index = np.full(len(self.claims["claim_id"]), -1, dtype=np.int64)
        new_index[rows] = np.arange(len(rows))
        old_line = np.flatnonzero(keep_line)
        line_index = np.full(len(self.line_claim), -1, dtype=np.int64)
        line_index[old_line] = np.arange(len(old_line))
        primary = self.primary[rows]
        return _Parsed(
            {k: v[rows] for k, v in self.claims.items()},
            {k: v[keep_line] for k, v in self.lines.items()},
            new_index[self.line_claim[keep_line]],
            np.where(primary >= 0, line_index[np.maximum(primary, 0)], -1),
            {k: v[keep_line] for k, v in self.line_ents.items()},
            {k: v[rows] for k, v in self.claim_ents.items()},
            {k: v[rows] for k, v in self.extras.items()},
            {k: v[rows] for k, v in self.eligibility.items()},
        )


@dataclass(frozen=True)
class Encoded:
    """Claims as the models see them, with the codes explanations and warnings name."""

    matrix: np.ndarray
    payer: np.ndarray
    procedure: np.ndarray  # the primary (highest-charge) line's code
    diagnosis: np.ndarray  # the first diagnosis code
    unseen: list[list[str]]


def _seen_codes(parsed: _Parsed) -> dict[str, set[str]]:
    """Every code seen at fit, by the role it plays."""

    def distinct(values: np.ndarray) -> set:
        return set(pd.unique(values).tolist()) - {None}

    lists = distinct(parsed.claims["diagnosis_codes"])  # claims repeat lists: split each once
    return {
        "payer_id": distinct(parsed.claims["payer_id"]),
        "provider_npi": distinct(parsed.claim_ents["provider_npi"]),
        "procedure_code": distinct(parsed.lines["procedure_code"]),
        "diagnosis_code": {code for codes in lists for code in codes.split("|") if code},
    }


def _payer_facts(payers: pd.DataFrame) -> dict[str, tuple[str | None, float, float]]:
    """Per payer: its type, timely-filing limit and appeal window (NaN where unknown)."""
    return {
        row.payer_id: (
            row.payer_type if isinstance(row.payer_type, str) else None,
            _days_or_nan(row.timely_filing_days),
            _days_or_nan(row.appeal_window_days),
        )
        for row in payers.itertuples(index=False)
    }


def _by_code(codes: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """The known (non-NaN) ``values`` of each code."""
    ok = ~np.isnan(values) & pd.notna(codes)
    grouped = pd.Series(values[ok]).groupby(pd.Series(codes[ok], dtype=object))
    return {code: group.to_numpy() for code, group in grouped}


@dataclass
class FitStats:
    """What a pipeline learns from claims (besides history), as sums a partition contributes.

    Levels are counts, codes are sets and typical charges keep every per-unit charge by code, so
    merging the statistics of any split of the claims gives exactly those of the whole: the exact
    median needs the values, and a code's values are few next to the claims."""

    extras: dict[str, str]  # custom column → kind
    levels: dict[str, pd.Series]  # categorical feature → value counts
    seen: dict[str, set[str]]  # role → codes seen
    per_unit: dict[str, np.ndarray]  # procedure/revenue code → per-unit charges

    @staticmethod
    def merge(stats: list[FitStats]) -> FitStats:
        """One set of statistics from partitions' (each custom column of one kind in all)."""
        extras: dict[str, str] = {}
        for s in stats:
            for name, kind in s.extras.items():
                if extras.setdefault(name, kind) != kind:
                    raise FeatureInputError(
                        f"custom column {name} reads as {extras[name]} in one part of the data "
                        f"and as {kind} in another; write it one way throughout"
                    )
        names = {n for s in stats for n in s.levels}
        levels = {
            n: pd.concat([s.levels[n] for s in stats if n in s.levels]).groupby(level=0).sum()
            for n in names
        }
        seen = {role: set().union(*(s.seen[role] for s in stats)) for role in stats[0].seen}
        codes = {c for s in stats for c in s.per_unit}
        per_unit = {
            c: np.sort(np.concatenate([s.per_unit[c] for s in stats if c in s.per_unit]))
            for c in codes
        }
        return FitStats(extras, levels, seen, per_unit)


def first_pass(
    tables: dict[str, pd.DataFrame], claim_ids: np.ndarray, outcome: pd.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each claim's first-pass outcome (the contract's denial rule): remit day (NaN: none yet),
    denied, and the denial's category. ``outcome``: the tables' ``initial_outcomes`` when the
    caller has them already."""
    if outcome is None:
        outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])
    at = first_position(claim_ids, outcome["claim_id"])  # a claim has one first-pass outcome
    day = outcome["remit_date"].to_numpy(dtype="datetime64[D]")
    remit_day = take(np.where(np.isnat(day), np.nan, day.astype("int64")), at, np.nan)
    denied = take(outcome["denied"].fillna(False).to_numpy(dtype=bool), at, False)
    return remit_day, denied, take(outcome["denial_category"].to_numpy(dtype=object), at, None)


def cutoff_day_of(remit_day: np.ndarray, cutoff: Any) -> int:
    """The history cutoff as days since 1970: ``cutoff`` if given, else the day after the last
    remit."""
    if cutoff is not None:
        return int(np.datetime64(pd.Timestamp(cutoff).date(), "D").astype("int64"))
    return int(np.nanmax(remit_day)) + 1 if np.isfinite(remit_day).any() else 0


def known_entities(parsed: _Parsed, remit_day: np.ndarray) -> dict[str, np.ndarray]:
    """The entity columns of the claims whose outcome is known (what key code books hold)."""
    known = ~np.isnan(remit_day)
    return {
        **{k: v[known] for k, v in parsed.claim_ents.items()},
        **{k: v[known[parsed.line_claim]] for k, v in parsed.line_ents.items()},
    }


class FeaturePipeline:
    """Claims (contract shape) → model features, with history as of a cutoff.

    Parameters are stored unchanged; learnt state ends in ``_`` (scikit-learn's convention).

    Parameters
    ----------
    min_level_count:
        A categorical level seen fewer times at fit is folded into ``__other__``.
    smoothing:
        Pseudo-count pulling history rates towards the (point-in-time) global rate.
    window_days:
        Length of the recent windows (``*_90d`` features).
    prior_weight, prior_rate:
        The global rate itself starts at ``prior_rate`` and gives way to observed outcomes after
        about ``prior_weight`` of them.
    """

    def __init__(
        self,
        min_level_count: int = 10,
        smoothing: float = 20.0,
        window_days: int = 90,
        prior_weight: float = 200.0,
        prior_rate: float = 0.12,
    ) -> None:
        self.min_level_count = min_level_count
        self.smoothing = smoothing
        self.window_days = window_days
        self.prior_weight = prior_weight
        self.prior_rate = prior_rate

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, tables: dict[str, pd.DataFrame], cutoff: Any = None) -> Self:
        """Learn levels, typical charges, payers and the history snapshot as of ``cutoff``.

        ``cutoff`` (a date) bounds what history is known: remits dated on or after it are
        ignored. It defaults to the day after the last remit in ``tables``.
        """
        self._fit(dict(tables), cutoff)
        return self

    def _fit(
        self, tables: dict[str, pd.DataFrame], cutoff: Any, outcome: pd.DataFrame | None = None
    ) -> tuple[_Parsed, dict[str, EventLog]]:
        """Fit; return the parsed claims and the full (uncompacted) logs, which the training
        matrix reads. Takes the claims, lines and eligibility out of ``tables`` once they are
        parsed (a dict of the caller's that holds the only references frees them)."""
        parsed = self._prepare(tables)
        for name in _PARSED_TABLES:
            tables.pop(name, None)
        self.learn(tables["payers"], [self._stats(parsed)])
        return parsed, self._fit_history(tables, parsed, cutoff, outcome)

    def fit_stats(self, tables: dict[str, pd.DataFrame]) -> FitStats:
        """What fitting learns from these claims, in a form that partitions add up
        (``features.monthly`` fits a pipeline month by month from them)."""
        return self._stats(self._prepare(tables))

    def _prepare(self, tables: dict[str, pd.DataFrame]) -> _Parsed:
        """The claims parsed as fitting reads them: custom columns and payers as these tables
        give them."""
        self._codes = CodeCache()
        claims = tables["claims"]
        self.extras_ = {name: kind_of(claims[name]) for name in extra_names(claims.columns)}
        self.payers_ = _payer_facts(tables["payers"])
        return self._parse_tables(tables)

    def _stats(self, parsed: _Parsed) -> FitStats:
        values = self._categorical_values(parsed)
        units = np.where(parsed.lines["units"] > 0, parsed.lines["units"], np.nan)
        return FitStats(
            extras=self.extras_,
            levels={
                n: pd.Series(values[n], dtype=object).value_counts()
                for n in self.categorical_features
            },
            seen=_seen_codes(parsed),
            per_unit=_by_code(parsed.line_ents["line_code"], parsed.lines["line_charge"] / units),
        )

    def learn(self, payers: pd.DataFrame, stats: list[FitStats]) -> None:
        """Set levels, codes seen and typical charges from ``stats`` (one per partition)."""
        merged = FitStats.merge(stats)
        self._codes = CodeCache()
        self.extras_ = merged.extras
        self.payers_ = _payer_facts(payers)
        self.levels_, self.categories_ = self._learn_levels(merged.levels)
        self.seen_ = merged.seen
        self.typical_charge_ = {
            code: float(np.median(v)) for code, v in merged.per_unit.items() if len(v)
        }

    def refresh(self, tables: dict[str, pd.DataFrame], cutoff: Any = None) -> Self:
        """Replace the history snapshot with one built from ``tables``; keep everything else."""
        self._check_fitted()
        self._fit_history(tables, self._parse_tables(tables), cutoff)
        return self

    def _fit_history(
        self,
        tables: dict[str, pd.DataFrame],
        parsed: _Parsed,
        cutoff: Any,
        outcome: pd.DataFrame | None = None,
    ) -> dict[str, EventLog]:
        remit_day, denied, category = first_pass(tables, parsed.claims["claim_id"], outcome)
        cutoff_day = cutoff_day_of(remit_day, cutoff)
        remit_day[remit_day >= cutoff_day] = np.nan  # not known yet at the cutoff
        self.vocab_ = vocabularies(known_entities(parsed, remit_day))
        logs = build_logs(self._key_events(parsed, remit_day, denied, category))
        self.cutoff_ = pd.Timestamp(cutoff_day, unit="D")
        self.history_ = {
            name: log.compact(cutoff_day, self.window_days) for name, log in logs.items()
        }
        return logs

    def _key_events(
        self, parsed: _Parsed, remit_day: np.ndarray, denied: np.ndarray, category: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The claims' outcomes as events of every history key, coded with ``vocab_``."""
        return key_events(self._codes_of(parsed), parsed.line_claim, remit_day, denied, category)

    def _codes_of(self, parsed: _Parsed) -> KeyCodes:
        """``parsed``'s history key codes in ``vocab_``, kept on it: the training matrix looks
        up the very claims whose events fitting just built."""
        if parsed.key_codes is None or parsed.key_codes.vocab is not self.vocab_:
            parsed.key_codes = KeyCodes(
                self.vocab_, parsed.claim_ents, parsed.line_ents, parsed.line_claim
            )
        return parsed.key_codes

    def _learn_levels(
        self, counts: dict[str, pd.Series]
    ) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
        """Per categorical feature: value → code (rare values share ``__other__``), and names."""
        levels, names = {}, {}
        for name in self.categorical_features:
            count = counts[name]
            frequent = sorted(count[count >= self.min_level_count].index)
            rare = count[count < self.min_level_count].index
            levels[name] = {level: i for i, level in enumerate(frequent)}
            levels[name].update({level: len(frequent) for level in rare})
            names[name] = frequent + ([OTHER] if len(rare) else [])
        return levels, names

    # -- transforming --------------------------------------------------------------------------

    def transform(
        self,
        claims: pd.DataFrame | dict,
        lines: pd.DataFrame | dict,
        eligibility: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Features of claims in the contract's shape (header + lines), history from the snapshot.

        ``eligibility`` holds the responses on file (contract shape); each claim reads the latest
        for its patient and payer checked by its submission. Categorical features come back as
        pandas categoricals (LightGBM keeps their levels); unseen payers, codes and providers are
        missing, never mistaken for another level.
        """
        self._check_fitted()
        return self._frame(self._compute(self._parse(claims, lines, eligibility), self.history_))

    def transform_matrix(
        self,
        claims: pd.DataFrame | dict,
        lines: pd.DataFrame | dict,
        eligibility: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """The same features as a float matrix (categoricals as level codes, NaN = missing).

        What serving feeds the boosters: building a DataFrame costs more than the features.
        """
        self._check_fitted()
        computed = self._compute(self._parse(claims, lines, eligibility), self.history_)
        return np.column_stack([computed[name] for name in self.feature_names])

    def encode(
        self,
        claims: pd.DataFrame | dict,
        lines: pd.DataFrame | dict,
        eligibility: pd.DataFrame | None = None,
    ) -> Encoded:
        """What scoring needs from claims: the matrix, the codes it rests on, the unseen codes."""
        self._check_fitted()
        parsed = self._parse(claims, lines, eligibility)
        computed = self._compute(parsed, self.history_)
        return Encoded(
            matrix=np.column_stack([computed[name] for name in self.feature_names]),
            payer=parsed.claims["payer_id"],
            procedure=parsed.claim_ents["primary_procedure"],
            diagnosis=parsed.claim_ents["primary_diagnosis"],
            unseen=self._unseen(parsed),
        )

    def _unseen(self, parsed: _Parsed) -> list[list[str]]:
        """Per claim, each code the model never saw in the role it plays here (any line for a
        procedure, any position for a diagnosis): scored, but with less to go on."""
        out: list[list[str]] = [[] for _ in parsed.claims["claim_id"]]
        for role, values in (
            ("payer_id", parsed.claims["payer_id"]),
            ("provider_npi", parsed.claim_ents["provider_npi"]),
        ):
            for i, v in enumerate(values.tolist()):
                if v is not None and v not in self.seen_[role]:
                    out[i].append(f"{role}={v}")
        for i, codes in enumerate(parsed.claims["diagnosis_codes"].tolist()):
            for code in (codes or "").split("|"):
                if code and code not in self.seen_["diagnosis_code"]:
                    out[i].append(f"diagnosis_code={code}")
        lines = parsed.lines["procedure_code"].tolist()
        for claim, code in zip(parsed.line_claim.tolist(), lines, strict=True):
            label = f"procedure_code={code}"
            unseen = code is not None and code not in self.seen_["procedure_code"]
            if unseen and label not in out[claim]:
                out[claim].append(label)
        return out

    def appeal_window_days(self, payer_ids: np.ndarray) -> np.ndarray:
        """Each payer's appeal window in days as learnt at fit (NaN for a payer never seen)."""
        return np.array([self.payers_.get(p, _UNKNOWN_PAYER)[2] for p in payer_ids], dtype=float)

    def point_in_time_matrix(
        self,
        tables: dict[str, pd.DataFrame],
        rows: np.ndarray | None = None,
        outcome: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Features of every claim in ``tables`` (or of the claims at positions ``rows``),
        history as known at each one's submission.

        Keeps this pipeline's learnt levels and typical charges (a model's inputs keep their
        meaning) but takes history from ``tables`` claim by claim, as the training matrix does.
        This is how a fitted model is evaluated fairly on data newer than its snapshot: with the
        snapshot alone, claims after the cutoff would see no newer history, and claims before it
        would see outcomes from their future. ``outcome``: the tables' ``initial_outcomes``
        when the caller has them already (the monitor does).
        """
        self._check_fitted()
        clone = copy.copy(self)  # _fit_history replaces attributes; self keeps its snapshot
        parsed = clone._parse_tables(tables)
        logs = clone._fit_history(tables, parsed, None, outcome)  # every claim's outcome
        if rows is not None:
            parsed = parsed.take(np.sort(np.asarray(rows, dtype=np.int64)))
        computed, claims = clone._claim_part(parsed)
        del parsed  # the claims' text is not needed for their history
        computed.update(clone._history_part(claims, logs))
        return np.column_stack([computed[name] for name in self.feature_names])

    @property
    def custom_features(self) -> dict[str, str]:
        """The custom x_ columns learnt at fit → their kind (none for a pipeline pickled before
        custom features existed)."""
        return getattr(self, "extras_", {})

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The model's inputs: the registry's features, then the custom ones learnt at fit."""
        return (*FEATURE_NAMES, *self.custom_features)

    @property
    def categorical_features(self) -> tuple[str, ...]:
        """The inputs read as levels: the registry's categoricals and the string custom ones."""
        custom = self.custom_features
        return (*CATEGORICAL, *(n for n, kind in custom.items() if kind == "string"))

    def get_feature_names_out(self) -> np.ndarray:
        return np.array(self.feature_names, dtype=object)

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise RuntimeError("FeaturePipeline is not fitted; call fit(tables) first")

    def _parse_tables(self, tables: dict[str, pd.DataFrame]) -> _Parsed:
        return self._parse(tables["claims"], tables["claim_lines"], tables.get("eligibility"))

    def _parse(
        self,
        claims: pd.DataFrame | dict,
        lines: pd.DataFrame | dict,
        eligibility: pd.DataFrame | None = None,
    ) -> _Parsed:
        c = as_columns(claims, CLAIMS)
        ln = as_columns(lines, CLAIM_LINES)
        line_claim = encode(
            ln["claim_id"], {cid: i for i, cid in enumerate(c["claim_id"].tolist())}
        )
        if (line_claim < 0).any():
            orphans = sorted(set(ln["claim_id"][line_claim < 0].tolist()), key=str)[:5]
            raise FeatureInputError(
                f"claim_lines refer to claims that are not in the batch: "
                f"{orphans}; send each claim's header with its lines"
            )
        primary = primary_line(ln, line_claim, len(c["claim_id"]))
        line_ents = line_entities(ln, self._codes)
        claim_ents = claim_entities(c, ln, line_ents, line_claim, primary, self._codes)
        return _Parsed(
            c,
            ln,
            line_claim,
            primary,
            line_ents,
            claim_ents,
            self._extras(claims),
            eligibility_features(c, eligibility),
        )

    def _extras(self, claims: pd.DataFrame | dict) -> dict[str, np.ndarray]:
        """The custom columns the model knows, as given (absent → unknown for every claim)."""
        n = len(np.atleast_1d(claims["claim_id"]))
        out = {}
        for name, kind in self.custom_features.items():
            values = claims[name] if name in claims else [None] * n
            out[name] = strings(values) if kind == "string" else as_numbers(values, kind)
        return out

    def _categorical_values(self, parsed: _Parsed) -> dict[str, np.ndarray]:
        """Every input that may be categorical, by name, before encoding into levels."""
        types = {"payer_type": self._payer_types(parsed)}
        return {**parsed.claim_ents, **types, **parsed.extras, **parsed.eligibility}

    def _payer_types(self, parsed: _Parsed) -> np.ndarray:
        return np.array(
            [self.payers_.get(p, _UNKNOWN_PAYER)[0] for p in parsed.claims["payer_id"].tolist()],
            dtype=object,
        )

    def _compute(self, parsed: _Parsed, logs: dict[str, EventLog]) -> dict[str, np.ndarray]:
        out, claims = self._claim_part(parsed)
        out.update(self._history_part(claims, logs))
        return out

    def _claim_part(self, parsed: _Parsed) -> tuple[dict[str, np.ndarray], Lookups]:
        """The features of the claims themselves, and what their history features will read.

        Two steps so that a caller holding the only reference to ``parsed`` can drop it (its
        text) before the history features are made."""
        limit = np.array(
            [self.payers_.get(p, _UNKNOWN_PAYER)[1] for p in parsed.claims["payer_id"].tolist()],
            dtype=float,
        )
        out: dict[str, np.ndarray] = {}
        values = self._categorical_values(parsed)
        for name in self.categorical_features:
            codes = encode(values[name], self.levels_[name]).astype(float)
            codes[codes < 0] = np.nan
            out[name] = codes
        out.update(
            claim_numbers(
                parsed.claims,
                parsed.lines,
                parsed.line_ents,
                parsed.line_claim,
                limit,
                self.typical_charge_,
            )
        )
        out.update({k: v for k, v in parsed.eligibility.items() if k not in self.levels_})
        for name, kind in self.custom_features.items():
            if kind != "string":
                out[name] = parsed.extras[name]
        codes = self._codes_of(parsed).settled()
        day = parsed.claims["submission_date"]
        return out, Lookups(codes, parsed.line_claim, parsed.primary, day)

    def _history_part(self, claims: Lookups, logs: dict[str, EventLog]) -> dict[str, np.ndarray]:
        return history_features(
            logs, claims, self.smoothing, self.window_days, self.prior_weight, self.prior_rate
        )

    def _frame(self, computed: dict[str, np.ndarray]) -> pd.DataFrame:
        columns = {}
        for name in self.feature_names:
            values = computed[name]
            if name in self.levels_:
                codes = np.where(np.isnan(values), -1, values).astype(np.int64)
                columns[name] = pd.Categorical.from_codes(codes, categories=self.categories_[name])
            else:
                columns[name] = np.asarray(values, dtype=np.float64)
        return pd.DataFrame(columns, copy=False)  # the columns as computed: no 2-D block copy


def build_training_matrix(
    tables: dict[str, pd.DataFrame],
    cutoff: Any = None,
    pipeline: FeaturePipeline | None = None,
) -> tuple[pd.DataFrame, FeaturePipeline]:
    """Fit a pipeline on ``tables`` and build its training matrix.

    One row per claim: ``claim_id``, ``submission_date``, the features (history point in time,
    from remits dated strictly before each claim's submission and before ``cutoff``), the labels
    (``label_*``) and the worklist facts (remit date, appeal deadline, denied amount).
    ``tables`` is left as it was; ``take_training_matrix`` builds from a dict it may empty.
    """
    return take_training_matrix(dict(tables), cutoff, pipeline)


def take_training_matrix(
    tables: dict[str, pd.DataFrame],
    cutoff: Any = None,
    pipeline: FeaturePipeline | None = None,
) -> tuple[pd.DataFrame, FeaturePipeline]:
    """``build_training_matrix``, taking each table out of ``tables`` once it has been read for
    the last time: a caller whose dict holds the only references (``claimrisk features``) holds
    no raw table while the features are made (0.7 GiB of the peak at 1M claims)."""
    pipeline = pipeline or FeaturePipeline()
    outcome = initial_outcomes(tables["remits"], tables["remit_adjustments"])  # history & labels
    head, labels = _head(tables), build_labels(tables, None, outcome)
    for name in ("remits", "remit_adjustments", "remit_remarks", "appeals"):
        tables.pop(name, None)
    parsed, full_logs = pipeline._fit(tables, cutoff, outcome)
    computed, claims = pipeline._claim_part(parsed)
    del parsed  # the claims' text is not needed for their history
    computed.update(pipeline._history_part(claims, full_logs))
    del claims, full_logs
    return _joined(head, pipeline._frame(computed), labels), pipeline


def training_rows(
    tables: dict[str, pd.DataFrame],
    features: pd.DataFrame,
    facts: LabelFacts | None = None,
    outcome: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The training matrix's columns: claim id, submission date, features, labels and the
    worklist's facts."""
    return _joined(_head(tables), features, build_labels(tables, facts, outcome))


def _head(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return tables["claims"][["claim_id", "submission_date"]].reset_index(drop=True)


def _joined(head: pd.DataFrame, features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([head, features, labels.drop(columns="claim_id")], axis=1)
