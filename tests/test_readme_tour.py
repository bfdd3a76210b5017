"""The README's tour, run as it stands (at smaller sizes): each command exits 0 and writes the
files it says it writes, so the README cannot drift from the code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Commands the tour shows that start a server or need a terminal: checked to exist, not run.
NOT_RUN = ("source ", "mlflow ui")


def tour() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## A short tour", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [
        line.split("  #")[0].split(" #")[0].strip() for line in block.splitlines() if line.strip()
    ]


def smaller(command: str) -> list[str]:
    """The command with sizes a test can afford: 2,000 to 6,000 claims, 2 tuning trials."""
    args = shlex.split(command)
    for i, a in enumerate(args[:-1]):
        if a == "--claims":
            args[i + 1] = str(min(max(int(args[i + 1]) // 4, 2_000), 6_000))
        elif a == "--trials":
            args[i + 1] = "2"
    return args


def written(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--out", "--json")]


def test_the_tour_lists_what_the_readme_promises():
    commands = tour()
    assert commands[0].startswith("source ") and commands[-1] == "claimrisk --help"
    assert sum(c.startswith("claimrisk ") for c in commands) >= 14


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path):
    bindir = Path(sys.executable).parent
    # a store of the tour's own, as a newcomer's fresh clone has: ./mlruns in the folder
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"}
    (tmp_path / "mlruns").mkdir()
    for command in tour():
        if command.startswith(NOT_RUN):
            continue
        args = smaller(command)
        args[0] = str(bindir / args[0])
        run = subprocess.run(
            args, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
        )
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        for path in written(args):
            assert (tmp_path / path).exists(), f"{command} did not write {path}"
        if args[1] == "tune" and "nothing written" not in run.stdout:
            assert (tmp_path / "models" / "params.json").exists()
    assert re.search(
        r"claimrisk \d",
        subprocess.run(
            [str(bindir / "claimrisk"), "--version"], capture_output=True, text=True
        ).stdout,
    )
