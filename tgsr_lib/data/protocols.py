"""The 12 cross-database experiments of the paper (Tables I and II).

TYPE-I experiments (Exp.1-6) transfer between the SMIC subsets, TYPE-II experiments
(Exp.7-12) between CASME II and the SMIC subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Database names as used by :mod:`tgsr_lib.data.datasets` and in the paper's table.
DATABASES = ("CASME2", "SMIC_HS", "SMIC_VIS", "SMIC_NIR")

#: The paper's one-letter abbreviations (H->V etc.).
SHORT = {"SMIC_HS": "H", "SMIC_VIS": "V", "SMIC_NIR": "N", "CASME2": "C"}


@dataclass(frozen=True)
class Experiment:
    """One source -> target experiment of the paper."""

    number: int
    protocol: str  # "I" or "II"
    source: str
    target: str

    @property
    def name(self) -> str:
        """Display name as in the paper, e.g. ``"H->V"``."""
        return f"{SHORT[self.source]}->{SHORT[self.target]}"

    @property
    def label(self) -> str:
        """``"Exp.5 (V->N)"``."""
        return f"Exp.{self.number} ({self.name})"


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(1, "I", "SMIC_HS", "SMIC_VIS"),
    Experiment(2, "I", "SMIC_VIS", "SMIC_HS"),
    Experiment(3, "I", "SMIC_HS", "SMIC_NIR"),
    Experiment(4, "I", "SMIC_NIR", "SMIC_HS"),
    Experiment(5, "I", "SMIC_VIS", "SMIC_NIR"),
    Experiment(6, "I", "SMIC_NIR", "SMIC_VIS"),
    Experiment(7, "II", "CASME2", "SMIC_HS"),
    Experiment(8, "II", "SMIC_HS", "CASME2"),
    Experiment(9, "II", "CASME2", "SMIC_VIS"),
    Experiment(10, "II", "SMIC_VIS", "CASME2"),
    Experiment(11, "II", "CASME2", "SMIC_NIR"),
    Experiment(12, "II", "SMIC_NIR", "CASME2"),
)

#: Experiments whose features are public (no SMIC_HS involved).
COMPUTABLE = (5, 6, 9, 10, 11, 12)


def get_experiment(number: int) -> Experiment:
    """Return experiment ``number`` (1..12)."""
    for exp in EXPERIMENTS:
        if exp.number == int(number):
            return exp
    raise ValueError(f"unknown experiment {number!r}: the paper has experiments 1..12")


def find_experiment(source: str, target: str) -> Experiment | None:
    """The experiment with this source and target, or None if the paper has none."""
    for exp in EXPERIMENTS:
        if exp.source == source and exp.target == target:
            return exp
    return None


def parse_experiments(spec: str) -> list[Experiment]:
    """Parse ``"5,6,9"``, ``"5-8"`` or ``"all"`` (all 12) or ``"computable"``."""
    spec = spec.strip().lower()
    if spec == "all":
        return list(EXPERIMENTS)
    if spec == "computable":
        return [get_experiment(n) for n in COMPUTABLE]
    out: list[Experiment] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(s) for s in part.split("-"))
                out.extend(get_experiment(n) for n in range(a, b + 1))
            else:
                out.append(get_experiment(int(part)))
        except ValueError as err:
            raise ValueError(
                f"bad experiment list {spec!r}: use numbers 1..12 like '5,6,9', a range '5-8', "
                f"'computable' or 'all' ({err})"
            ) from None
    if not out:
        raise ValueError(f"empty experiment list {spec!r}")
    return out
