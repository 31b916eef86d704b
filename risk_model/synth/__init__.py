"""Synthetic linked population with known ground truth.

``generate`` writes a landing zone shaped like the real UK extracts (council gazetteer, EPC
register, social housing register and Awaab's Law damp data, GP registrations, HES-shaped
admissions, ECDS-shaped A&E, deaths, national data opt-outs, IMD) and a ``truth/`` folder that
only evaluation and tests may read. See ``docs/synthetic-data.md`` for the ground-truth model.
"""

from __future__ import annotations

from risk_model.synth.config import SynthConfig
from risk_model.synth.run import SynthResult, generate

__all__ = ["SynthConfig", "SynthResult", "generate"]
