"""What ``t2t data check`` says: the :class:`CheckReport` and the words of its lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CheckReport", "dose_words", "fmt", "plural", "series_name"]


def fmt(x: float) -> str:
    return f"{x:.3g}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def dose_words(dose: str) -> str:
    return f"{dose} dose"


def series_name(patient, kernel, dose, label) -> str:
    return f"{patient} {label} {kernel} {dose_words(dose)}"


@dataclass
class CheckReport:
    """Result of :func:`check`.

    Attributes
    ----------
    manifest : str
        Manifest name.
    root : pathlib.Path
        The folder checked.
    problems : list of str
        One plain-words line per thing missing or wrong; empty when complete.
    notes : list of str
        Things worth knowing that are not failures (extra patients, subset downloads).
    expected : int
        Number of series the manifest asks for (training series of a real TCIA download,
        where any subset is fine, count as found ones; RPLHR-CT: thin/thick case pairs).
    present : int
        How many of those were found.
    correct : int
        How many of those passed every header check.
    unit : str
        What is counted: "series", or "case pairs" (RPLHR-CT).
    variant : str
        A known partial variant of the data set that was found (e.g. the authors' subset).
    """

    manifest: str
    root: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expected: int = 0
    present: int = 0
    correct: int = 0
    unit: str = "series"
    variant: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is missing or wrong."""
        return not self.problems

    @property
    def summary(self) -> str:
        """One line: counts and COMPLETE / INCOMPLETE."""
        verdict = "COMPLETE" if self.ok else f"INCOMPLETE ({len(self.problems)} problem{'s' * (len(self.problems) != 1)})"
        variant = f" ({self.variant})" if self.variant else ""
        return (
            f"summary: {self.present} of {self.expected} expected {self.unit} present{variant}, "
            f"{self.correct} correct -- {verdict}"
        )

    def lines(self) -> list[str]:
        """The report as lines: header, problems, notes, summary."""
        out = [f"checking {self.root} against manifest {self.manifest}"]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        out.append(self.summary)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())
