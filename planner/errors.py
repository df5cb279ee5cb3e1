"""The planner's error taxonomy; the command line maps each class to an exit code once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (e.g. ``orders[3] (O004)`` or ``row 7``), which field, why."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


class InputError(ValueError):
    """The scenario (or an uploaded table) is malformed; carries every problem found. Exit code 2."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid input")
