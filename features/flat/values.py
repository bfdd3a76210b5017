"""Cells of a flat export as people type them → the contract's values.

Pure functions over a column of text (a ``pandas.Series`` of str, empty cells as ``""``). Each
returns the parsed values and a mask of the cells it could not read, so that the caller can name
every one (file, line, column, value); nothing is guessed silently. Month-only dates are the one
deliberate widening: they become the first day of their month and are returned flagged.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.contract import DATE_DTYPE, FALSE_WORDS, TRUE_WORDS

Parsed = tuple[pd.Series, pd.Series]  # (values, unreadable mask)

_MONEY_JUNK = re.compile(r"[$,\s]|USD", re.IGNORECASE)
_EMPTY = {"", "-", "n/a", "na", "null", "none"}
#: Exports also tick a box with an X.
_TRUE = TRUE_WORDS | {"x"}
_SEX = {"f": "F", "female": "F", "m": "M", "male": "M", "u": "U", "unknown": "U", "": None}


def blank(text: pd.Series) -> pd.Series:
    """True where a cell says nothing (empty, a dash, n/a)."""
    return text.str.strip().str.lower().isin(_EMPTY)


def money(text: pd.Series) -> Parsed:
    """``$1,234.50``, ``1234.5``, ``(12.00)`` (negative) and ``-12`` → float; blank → NaN."""
    empty = blank(text)
    cleaned = text.str.replace(_MONEY_JUNK, "", regex=True)
    negative = cleaned.str.fullmatch(r"\(.*\)")
    cleaned = cleaned.str.strip("()")
    values = pd.to_numeric(cleaned.where(~empty), errors="coerce")
    values = values.where(~negative, -values)
    return values.astype("float64"), values.isna() & ~empty


def number(text: pd.Series) -> Parsed:
    """A plain number (units, an age, a custom numeric column); thousands separators allowed."""
    empty = blank(text)
    values = pd.to_numeric(text.str.replace(",", "").str.strip().where(~empty), errors="coerce")
    return values.astype("float64"), values.isna() & ~empty


def dates(text: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates in the first of ``formats`` that reads each cell → (values, unreadable, month_only).

    A format without a day (``%Y-%m``, ``%m/%Y``, ``%b %Y``) reads a month: the value is its
    first day and the cell is flagged, so the import can say how many dates were widened."""
    empty = blank(text)
    values = pd.Series(pd.NaT, index=text.index, dtype=DATE_DTYPE)
    month_only = pd.Series(False, index=text.index)
    stripped = text.str.strip()
    for fmt in formats:
        todo = values.isna() & ~empty
        if not todo.any():
            break
        read = pd.to_datetime(stripped[todo], format=fmt, errors="coerce")
        got = read.notna()
        values.loc[read.index[got]] = read[got].astype(DATE_DTYPE)
        if "%d" not in fmt and "%j" not in fmt:
            month_only.loc[read.index[got]] = True
    return values, values.isna() & ~empty, month_only


def flags(text: pd.Series) -> Parsed:
    """Yes/no in the words exports use (yes, Y, true, 1, X / no, N, false, 0) → boolean."""
    word = text.str.strip().str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[word.isin(_TRUE)] = True
    values[word.isin(FALSE_WORDS)] = False
    return values, values.isna() & ~blank(text)


def sexes(text: pd.Series) -> Parsed:
    """F/M/U, Female/Male/Unknown (any case) → F, M, U."""
    word = text.str.strip().str.lower()
    values = word.map(_SEX)
    return values.astype(object).where(values.notna(), None), values.isna() & (word != "")


def diagnoses(text: pd.Series) -> pd.Series:
    """ICD-10 lists as exports write them (``M54.50, M99.03``; ``;`` or spaces) → ``M5450|M9903``.

    The contract checks each code afterwards; this only removes dots and unifies separators."""
    codes = text.str.upper().str.replace(".", "", regex=False).str.split(r"[,;|\s]+", regex=True)
    joined = codes.map(lambda parts: "|".join(p for p in parts if p))
    return joined.where(joined != "", None)


def codes(text: pd.Series) -> pd.Series:
    """A code column (CPT, modifier, POS, NPI): trimmed, upper case, blank → None."""
    values = text.str.strip().str.upper()
    return values.where(~blank(text), None)


def identifiers(text: pd.Series) -> pd.Series:
    """An identifier column (claim number, patient id): trimmed, blank → None."""
    values = text.str.strip()
    return values.where(~blank(text), None)


def adjustment_codes(text: pd.Series) -> pd.Series:
    """CARC cells (``CO-197``, ``CO197``, ``197, 16``, ``PR-1``) → lists of ``GROUP-CARC``.

    A bare code is contractual (CO), as most denials are. A cell that holds no code → []."""

    def split(cell: str) -> list[str]:
        out = []
        for part in re.split(r"[,;|\s]+", cell.strip().upper()):
            if not part:
                continue
            found = re.fullmatch(r"(CO|PR|OA|PI|CR)[-\s]?(\w{1,3})", part)
            out.append(f"{found[1]}-{found[2]}" if found else f"CO-{part}")
        return out

    return text.map(split)


def years_between(born: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years from ``born`` to ``on`` (an age at the date of service); NaN when unknown."""
    b, o = born.dt, on.dt
    years = o.year - b.year - ((o.month < b.month) | ((o.month == b.month) & (o.day < b.day)))
    return years.astype("float64").where(born.notna() & on.notna(), np.nan)
