"""The contract is self-consistent and its rendered documentation is current."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from features.contract import TABLES, TRUTH
from features.docs import BEGIN, END, render_contract_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_examples_match_their_own_patterns():
    for table in (*TABLES.values(), TRUTH):
        for f in table.fields:
            if f.pattern and f.example:
                assert re.fullmatch(f.pattern, f.example), f"{table.name}.{f.name}"


def test_references_and_keys_name_real_columns():
    for table in TABLES.values():
        assert set(table.key) <= set(table.columns)
        for ref in table.references:
            assert ref.column in table.columns
            assert ref.target in TABLES[ref.table].columns


def test_generated_tables_have_exactly_the_contract_dtypes(small_world):
    tables, _ = small_world
    for name, table in TABLES.items():
        frame = tables[name]
        assert list(frame.columns) == table.columns
        for f in table.fields:
            assert frame[f.name].dtype == pd.Series(dtype=f.pandas_dtype).dtype, (name, f.name)


def test_contract_doc_is_current():
    on_disk = (DOCS / "data-contract.md").read_text()
    assert on_disk == render_contract_markdown() + "\n", "run `make docs` and commit the result"


def test_synthetic_data_doc_carries_a_measured_calibration_table():
    text = (DOCS / "synthetic-data.md").read_text()
    table = text[text.index(BEGIN) : text.index(END)]
    assert "Measured with `claimrisk docs" in table
    assert table.count("| yes |") >= 20 and "**no**" not in table


def test_features_doc_is_current_and_lists_every_feature():
    from features.docs import render_features_markdown
    from features.registry import FEATURE_NAMES

    on_disk = (DOCS / "features.md").read_text()
    assert on_disk == render_features_markdown() + "\n", "run `make docs` and commit the result"
    for name in FEATURE_NAMES:
        assert f"`{name}`" in on_disk
