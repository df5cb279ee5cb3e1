"""The planner's commands: ``fangang plan`` and ``fangang check`` (work in progress)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="fangang: plan the coaches that bring workers back to the park.")
