"""Execute the notebooks on a small generated world and save them with their outputs.

``make notebooks`` (``python notebooks/execute.py``): so a reader sees the tables and plots on
GitHub without running anything. Synthetic data only: the world is generated here.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from features.contract import TRUTH
    from features.generate import WorldConfig, generate
    from features.io import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = HERE.parent / "data" / "notebook-world"  # git-ignored; named relative to the root
        tables, truth = generate(WorldConfig(n_claims=20_000, seed=11))
        write_dataset(tables, data, extra={"truth": (TRUTH, truth)})
        os.environ["CLAIMRISK_DATA"] = "data/notebook-world"
        os.environ.pop("CLAIMRISK_MODEL", None)  # notebook 02 trains its own and says so
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        for name in ("01-explore-claims.ipynb", "02-model-report.ipynb"):
            path = HERE / name
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
            ).execute()
            nbformat.write(nb, path)
            print(f"executed and saved {path}")


if __name__ == "__main__":
    main()
