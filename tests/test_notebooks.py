"""The notebooks run, top to bottom, on the data they are told to read, and never on other data.

The kernel runs in ``notebooks/`` (as Jupyter does), so the paths given here are relative to the
repository root, as a user following the README types them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _execute(name: str) -> list[dict]:
    """Run a notebook top to bottom in a real kernel; return its outputs, none an error."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def _text(outputs: list[dict]) -> str:
    return "\n".join(o.get("text", "") for o in outputs)


def _from_root(path: Path) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.slow
def test_explore_claims_notebook_reads_the_data_it_is_given(small_dataset_dir, monkeypatch):
    monkeypatch.setenv("CLAIMRISK_DATA", _from_root(small_dataset_dir))  # relative, from the root
    outputs = _execute("01-explore-claims.ipynb")
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    text = _text(outputs)
    assert "first-pass denial rate" in text and "6,000 claims" in text
    assert "SYNTHETIC" not in text


def test_a_path_that_does_not_exist_is_an_error_not_synthetic_data(monkeypatch):
    monkeypatch.setenv("CLAIMRISK_DATA", "data/no-such-folder")
    with pytest.raises(CellExecutionError, match="data/no-such-folder does not exist"):
        _execute("01-explore-claims.ipynb")


@pytest.mark.slow
def test_model_report_notebook_reads_a_registered_model(trained, monkeypatch):
    _, uri = trained
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("CLAIMRISK_MODEL", trained[0].model_uri)
    outputs = _execute("02-model-report.ipynb")
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = _text(outputs)
    assert "model vs oracle on the report window" in text and "TRAINED HERE" not in text
    rendered = "\n".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "oracle" in rendered and "denial ROC AUC" in rendered


def test_the_committed_notebooks_carry_their_outputs():
    for name in ("01-explore-claims.ipynb", "02-model-report.ipynb"):
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs for c in code), f"{name}: run `make notebooks` and commit it"
        assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
