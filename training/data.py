"""From the training matrix to model inputs: time windows, row sets and the numeric matrix.

Headline numbers come from time splits, never random ones: a model is trained on older claims,
early-stopped and calibrated on a later window, and reported on the most recent window, the way
it will be used (on claims newer than anything it saw).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from features.contract import DENIAL_CATEGORIES
from features.registry import CATEGORICAL, FEATURE_NAMES

#: Months of submissions in the report and validation windows (the rest is training).
REPORT_MONTHS = 3
VALID_MONTHS = 2
#: Recovery rows (decided appeals) are few and arrive late; their windows are shares of them,
#: ordered by denial date: the most recent 20 % report, the 15 % before validate.
RECOVERY_REPORT_SHARE = 0.20
RECOVERY_VALID_SHARE = 0.15


def recovery_features(names: Sequence[str] = FEATURE_NAMES) -> tuple[str, ...]:
    """The recovery model's inputs: the claim's features (a pipeline's names) plus the denial's
    category."""
    return (*names, "denial_category")


@dataclass(frozen=True)
class Windows:
    """Submission-date windows: train < valid_start <= valid < report_start <= report <= end."""

    start: pd.Timestamp
    valid_start: pd.Timestamp
    report_start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def from_dates(
        cls,
        submission: pd.Series,
        report_months: int = REPORT_MONTHS,
        valid_months: int = VALID_MONTHS,
    ) -> Windows:
        end = submission.max().normalize()
        report_start = end - pd.DateOffset(months=report_months) + pd.Timedelta(days=1)
        valid_start = report_start - pd.DateOffset(months=valid_months)
        return cls(submission.min().normalize(), valid_start, report_start, end)

    def assign(self, submission: pd.Series) -> np.ndarray:
        """'train' / 'valid' / 'report' per row."""
        return np.select(
            [submission < self.valid_start, submission < self.report_start],
            ["train", "valid"],
            "report",
        )

    def as_dict(self) -> dict[str, str]:
        return {k: f"{v:%Y-%m-%d}" for k, v in asdict(self).items()}


def feature_matrix(
    matrix: pd.DataFrame,
    names: Sequence[str] = FEATURE_NAMES,
    categorical: Collection[str] = CATEGORICAL,
) -> np.ndarray:
    """The feature columns as floats, categoricals as level codes and NaN for missing.

    Exactly what ``FeaturePipeline.transform_matrix`` gives at serving time (``names`` and
    ``categorical`` are the pipeline's: the registry's features and any custom ones).
    """
    columns = []
    for name in names:
        col = matrix[name]
        if name in categorical:
            codes = col.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns)


def category_codes(categories: np.ndarray | pd.Series) -> np.ndarray:
    """Denial category names → their index in ``DENIAL_CATEGORIES`` (unknown → NaN)."""
    index = {c: float(i) for i, c in enumerate(DENIAL_CATEGORIES)}
    return np.array([index.get(c, np.nan) for c in np.asarray(categories, dtype=object)])


def recovery_matrix(features: np.ndarray, categories: np.ndarray | pd.Series) -> np.ndarray:
    return np.column_stack([features, category_codes(categories)])


def recovery_windows(denial_date: pd.Series) -> np.ndarray:
    """'train' / 'valid' / 'report' for decided appeals by the date of the denial."""
    rank = denial_date.rank(method="first", pct=True).to_numpy()
    return np.select(
        [
            rank <= 1 - RECOVERY_REPORT_SHARE - RECOVERY_VALID_SHARE,
            rank <= 1 - RECOVERY_REPORT_SHARE,
        ],
        ["train", "valid"],
        "report",
    )
