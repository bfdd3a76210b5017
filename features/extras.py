"""Custom claim features (``x_...`` columns): their names, their types and how values are read.

A column is typed once, by what it holds: booleans (or the words true/false, yes/no) are
``bool``, numbers ``float``, anything else ``string``. The pipeline learns the names and types
at fit (``FeaturePipeline.extras_``) and the model then expects exactly those, so a claim sent
to score names each in its ``extra`` object with a value of the trained type, or leaves it out
(unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.contract import EXTRA_NAME, EXTRA_PREFIX, FALSE_WORDS, TRUE_WORDS


def extra_names(columns: Iterable[object]) -> list[str]:
    """The custom feature columns among ``columns``, in order."""
    return [c for c in columns if isinstance(c, str) and re.fullmatch(EXTRA_NAME, c)]


def looks_extra(column: object) -> bool:
    """Named like a custom feature, whether or not the name is well formed."""
    return isinstance(column, str) and column.startswith(EXTRA_PREFIX)


def kind_of(values: pd.Series) -> str:
    """bool, float or string: what a column of custom values holds."""
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_numeric_dtype(values):
        return "float"
    text = values.dropna().astype(str).str.strip().str.lower()
    text = text[text != ""]
    if len(text) and text.isin(TRUE_WORDS | FALSE_WORDS).all():
        return "bool"
    if len(text) and pd.to_numeric(text, errors="coerce").notna().all():
        return "float"
    return "string"


def typed(values: pd.Series, kind: str) -> pd.Series:
    """Values as their kind: bool → nullable boolean, float → float64, string → object."""
    if kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.astype("boolean")
        word = values.astype(object).map(lambda v: str(v).strip().lower() if v == v else "")
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[word.isin(TRUE_WORDS)] = True
        out[word.isin(FALSE_WORDS)] = False
        return out
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.astype(object).where(values.notna(), None)


def as_numbers(values: Any, kind: str) -> np.ndarray:
    """A custom column as the model reads it: bool 1/0, float as is, NaN when unknown (string
    columns are encoded as levels by the pipeline instead)."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(np.atleast_1d(values)))
    return typed(series, kind).astype("float64").to_numpy(dtype=float, na_value=np.nan)


def check_extra(extra: Mapping[str, Any], trained: Mapping[str, str]) -> list[tuple[str, str]]:
    """Problems of one claim's ``extra`` object against the model's custom features, as
    (field, message): a name the model was not trained with, or a value of the wrong type."""
    problems = []
    for name, value in extra.items():
        kind = trained.get(name)
        if kind is None:
            known = ", ".join(trained) or "none"
            problems.append(
                (f"extra.{name}", f"the model was not trained with {name!r} (it knows: {known})")
            )
        elif value is not None and not _fits(value, kind):
            problems.append((f"extra.{name}", f"expected a {kind}, got {value!r}"))
    return problems


def _fits(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)
