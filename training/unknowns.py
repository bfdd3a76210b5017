"""Scoring a claim some of whose inputs are unknown, without pretending they are absent.

An 837 does not carry the date eligibility was checked: that lives in the practice-management
system. Fed to the model as empty, it reads "never checked", a strong denial signal, and the
same claims scored from their 837s instead of their tables came out 26 % riskier with eligibility
as the likeliest reason for most. Instead, each unknown input is *marginalised*: the claim is
scored once with the values of each of ``DONORS`` training claims in the features that read it
(``features.registry.reading``), and the scores are averaged. The spread says how much the score
may move once the input is known; a model trained without the input (from X12 alone) shows
none.

The donors are drawn from the whole training window, not from claims like this one: the average
is the population's, which is what "unknown" means when nothing else is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.registry import FEATURE_NAMES, reading

#: Training claims whose values stand in for an unknown input.
DONORS = 32


@dataclass(frozen=True)
class Donors:
    """Feature rows of ``DONORS`` training claims, drawn once at fit."""

    rows: np.ndarray  # (DONORS, n_features)

    @classmethod
    def draw(cls, x_train: np.ndarray, seed: int = 0) -> Donors:
        pick = np.random.default_rng(seed).choice(len(x_train), size=DONORS, replace=True)
        return cls(x_train[pick].copy())

    def fill(self, x: np.ndarray, unknown: Sequence[str]) -> np.ndarray:
        """``x`` once per donor, the features reading ``unknown`` columns taken from the donor:
        shape (DONORS, n, n_features)."""
        columns = affected(unknown)
        out = np.repeat(x[None, :, :], len(self.rows), axis=0)
        out[:, :, columns] = self.rows[:, None, columns]
        return out


def affected(unknown: Sequence[str]) -> list[int]:
    """Indices of the features that read any of the ``unknown`` contract columns."""
    names = {n for column in unknown for n in reading(column)}
    return [i for i, n in enumerate(FEATURE_NAMES) if n in names]


@dataclass(frozen=True)
class Marginal:
    """Scores averaged over the donors, and their spread."""

    probability: np.ndarray  # (n,)
    low: np.ndarray
    high: np.ndarray
    categories: np.ndarray  # (n, n_categories): P(category | denied), denial-weighted


def marginalise(model, x: np.ndarray, unknown: Sequence[str]) -> Marginal:
    """Denial and category probabilities of ``x`` with ``unknown`` inputs marginalised."""
    filled = model.donors.fill(x, unknown)
    k, n, f = filled.shape
    flat = filled.reshape(k * n, f)
    p = model.denial_probability(flat).reshape(k, n)
    cats = model.category_probabilities(flat).reshape(k, n, -1)
    weights = p / np.maximum(p.sum(axis=0), 1e-12)
    return Marginal(
        p.mean(axis=0), p.min(axis=0), p.max(axis=0), (weights[..., None] * cats).sum(0)
    )


def marginal_contributions(model, x: np.ndarray, unknown: Sequence[str]) -> np.ndarray:
    """SHAP contributions averaged over the donors (SHAP values add up, so their mean explains
    the mean raw score), with the unknown inputs' own pushes set to zero: they are not facts of
    this claim and must not become its factors."""
    filled = model.donors.fill(x, unknown)
    k, n, f = filled.shape
    contributions = model.denial_contributions(filled.reshape(k * n, f)).reshape(k, n, -1)
    mean = contributions.mean(axis=0)
    mean[:, affected(unknown)] = 0.0
    return mean
