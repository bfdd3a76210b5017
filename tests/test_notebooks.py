"""The notebooks run, top to bottom, on generated data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str) -> list[dict]:
    """Run a notebook top to bottom in a real kernel; return its outputs, none an error."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


@pytest.mark.slow
def test_explore_claims_notebook_runs(small_dataset_dir, monkeypatch):
    monkeypatch.setenv("CLAIMRISK_DATA", str(small_dataset_dir))
    outputs = _execute("01-explore-claims.ipynb")
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "first-pass denial rate" in text


@pytest.mark.slow
def test_model_report_notebook_trains_and_renders(monkeypatch):
    monkeypatch.delenv("CLAIMRISK_MODEL", raising=False)
    outputs = _execute("02-model-report.ipynb")
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "model vs oracle on the report window" in text
    rendered = "\n".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "oracle" in rendered and "denial ROC AUC" in rendered
