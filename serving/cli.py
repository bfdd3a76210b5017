"""The ``claimrisk`` command: one CLI over data, training and serving.

It lives in ``serving`` because dependencies point one way (serving → training → features):
the root can import every layer's commands, no layer imports the root.
"""

from __future__ import annotations

import typer

from features import cli as features_cli
from training import cli as training_cli

app = typer.Typer(
    name="claimrisk",
    help="Predict, explain and recover US healthcare claim denials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
features_cli.register(app)
training_cli.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
