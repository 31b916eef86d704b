"""Generate a synthetic area for a benchmark, past the NHS number range when asked.

The never-issued NHS number range holds 909,090 valid numbers, so the generator refuses areas
above about 700k residents over 48 months. To measure goals set at 1M residents anyway,
``extend=True`` pads the pool, in the calling process only, with 999-range numbers whose check
digit is wrong: they can never be a real patient's, the code path is the one a real run takes,
and the product itself still refuses such a run. Ingest quarantines rows carrying those numbers
(rule ``nhs_number_check_digit``), which is the path a real extract's bad numbers take too.
"""

from __future__ import annotations

import sys

import numpy as np

from risk_model.config import Workspace
from risk_model.synth import SynthConfig, SynthResult, generate, world


def _extended_pool(valid):
    def extended(seed: int) -> np.ndarray:
        good = valid(seed)
        prefixes = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
        bad = prefixes * 10 + (prefixes % 10 + 1) % 10  # wrong digit for most prefixes
        bad = np.setdiff1d(bad, good)
        return np.concatenate([good, bad[: 2 * good.size]])

    return extended


def generate_area(residents: int, months: int, fmt: str, root: str, *,
                  extend: bool) -> SynthResult:
    """Generate an area into the workspace ``root``; see the module docstring for ``extend``."""
    if extend:
        world.nhs_pool = _extended_pool(world.nhs_pool)
        world.NHS_POOL_SIZE = 3 * world.NHS_POOL_SIZE
    cfg = SynthConfig(residents=residents, months=months, seed=1, format=fmt)
    return generate(cfg, Workspace.at(root))


if __name__ == "__main__":  # python benchmarks/_area.py RESIDENTS MONTHS FORMAT ROOT
    n = int(sys.argv[1])
    result = generate_area(n, int(sys.argv[2]), sys.argv[3], sys.argv[4], extend=n > 700_000)
    print(sum(result.landing.values()), "landing rows")
