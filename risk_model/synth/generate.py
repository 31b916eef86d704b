"""Orchestrates the synthetic population: build, simulate, render records, write atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from risk_model.config import Workspace
from risk_model.synth.config import SynthConfig

__all__ = ["SynthResult", "generate"]


@dataclass
class SynthResult:
    """What a synth run wrote.

    Attributes
    ----------
    landing : dict of str to int
        Rows per landing file (file name to row count).
    truth : dict of str to int
        Rows per truth file.
    """

    landing: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)
    residents: int = 0
    months: int = 0
    seed: int = 0
    format: str = "csv"
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready summary."""
        return asdict(self)


def generate(
    config: SynthConfig,
    workspace: Workspace,
    *,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SynthResult:
    """Write a synthetic landing zone and its ground truth into ``workspace``.

    Parameters
    ----------
    config : SynthConfig
        Size, period, seed and realism figures.
    workspace : Workspace
        Where ``landing/`` and ``truth/`` are written.
    overwrite : bool, default False
        Replace existing ``landing/`` and ``truth/``; without it an existing one is an error.
    progress : callable, optional
        Called with a short description as each stage starts.

    Returns
    -------
    SynthResult
        Row counts per file.

    Raises
    ------
    OutputExistsError
        If ``landing/`` or ``truth/`` already has files and ``overwrite`` is false.
    """
    raise NotImplementedError
