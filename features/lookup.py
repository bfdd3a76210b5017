"""Lookups on large text columns, computed by Arrow: membership, first position, a stable sort.

pandas 3 keeps text in Arrow but answers ``isin``, ``map`` onto a text index and multi-column
``sort_values`` through Python objects or a categorical per key; on a million claim ids those
are most of validation's and labelling's time. Arrow's hash tables and sort do the same work
several times faster, on the same buffers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_text(values: pd.Series | np.ndarray) -> pa.Array:
    """A text column as an Arrow string array (None, NaN and NA are null)."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def isin(values: pd.Series, known: pd.Series) -> pd.Series:
    """``values.isin(known)`` for text columns; missing values are never members."""
    hit = pc.is_in(arrow_text(values), value_set=arrow_text(known), skip_nulls=True)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index)


def first_position(values: pd.Series | np.ndarray, keys: pd.Series) -> np.ndarray:
    """The row of ``keys`` where each value first occurs (-1: absent or missing): what ``map``
    onto the first row of each id gives, without building a pandas index."""
    at = pc.index_in(arrow_text(values), value_set=arrow_text(keys), skip_nulls=True)
    return at.fill_null(-1).to_numpy(zero_copy_only=False)


def take(values: np.ndarray, at: np.ndarray, missing: object) -> np.ndarray:
    """``values[at]`` where ``at`` is a position, ``missing`` where it is -1 (as
    ``first_position`` gives): safe when ``values`` is empty, e.g. the claims of an 835-only
    ingest."""
    out = np.full(len(at), missing, dtype=values.dtype)
    hit = at >= 0
    out[hit] = values[at[hit]]
    return out


def stable_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Row positions sorting ``frame`` by ``columns`` ascending, ties in row order, missing
    last: ``sort_values(columns, kind="stable")``'s order."""
    table = pa.table({c: pa.array(frame[c], from_pandas=True) for c in columns})
    keys = [(c, "ascending", "at_end") for c in columns]
    return pc.sort_indices(table, sort_keys=keys).to_numpy()
