"""Orchestrates a synth run: build the area, simulate it, render the extracts, write atomically.

Outputs are built in a staging folder inside the workspace and moved into place only when
complete, so a failed or interrupted run leaves the previous ``landing/`` and ``truth/`` as
they were.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from risk_model.codes import ETHNIC_GROUP_OF
from risk_model.config import Workspace
from risk_model.synth.config import (
    ETHNIC_CATEGORIES,
    LTC_CONDITIONS,
    OUTCOMES,
    TENURES,
    SynthConfig,
)
from risk_model.synth.records import Rendered, render_all
from risk_model.synth.simulate import (
    DEATH_EFFECTS,
    EFFECTS,
    SEASON_AMPLITUDE,
    WINTER_WEIGHT,
    History,
    simulate,
)
from risk_model.synth.world import HOUSEHOLD_TYPES, NEVER, World, build_world

__all__ = ["SynthResult", "generate"]

log = logging.getLogger(__name__)

_RISK_SCHEMA = pa.schema(
    [("person_id", pa.int32()), ("month", pa.date32())]
    + [(f"p_{o}", pa.float32()) for o in OUTCOMES]
    + [("p_emergency", pa.float32())]
)


@dataclass
class SynthResult:
    """What a synth run wrote.

    Attributes
    ----------
    landing : dict of str to int
        Rows per landing file (file name to row count).
    truth : dict of str to int
        Rows per truth table.
    residents, months, seed : int
        The run's size and seed.
    format : str
        Landing file format.
    people : int
        Distinct people who lived in the area at some time in the period.
    seconds : float
        Wall time of the run.
    """

    landing: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)
    residents: int = 0
    months: int = 0
    seed: int = 0
    format: str = "csv"
    people: int = 0
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
    ConfigError
        If the population would need more NHS numbers than the never-issued range holds.
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    workspace.check_can_write([workspace.landing, workspace.truth], overwrite=overwrite,
                              step="synth")
    result = SynthResult(residents=config.residents, months=config.months, seed=config.seed,
                         format=config.format)
    with workspace.staging("synth") as stage:
        landing, truth = stage / "landing", stage / "truth"
        landing.mkdir()
        truth.mkdir()
        say(f"building an area of {config.residents:,} residents")
        world = build_world(config)
        say(f"simulating {config.months} months")
        risk_rows = 0
        # probabilities are nearly all distinct: dictionary-encoding them costs time and space
        with pq.ParquetWriter(truth / "monthly_risk.parquet", _RISK_SCHEMA, compression="zstd",
                              use_dictionary=["month"]) as writer:

            def on_month(t: int, first_day: int, people: npt.NDArray[np.int64],
                         p: npt.NDArray[np.float64]) -> None:
                nonlocal risk_rows
                p_any = 1 - np.prod(1 - p, axis=1)
                cols = [pa.array(people.astype(np.int32)),
                        pa.array(np.full(people.size, first_day, dtype=np.int32), pa.date32())]
                cols += [pa.array(p[:, j].astype(np.float32)) for j in range(len(OUTCOMES))]
                cols.append(pa.array(p_any.astype(np.float32)))
                writer.write_table(pa.Table.from_arrays(cols, schema=_RISK_SCHEMA))
                risk_rows += people.size

            history = simulate(world, on_month=on_month, progress=say)
        result.truth["monthly_risk"] = risk_rows
        say("rendering the extracts")
        rendered = render_all(world, history)
        say(f"writing {len(rendered)} landing files ({config.format})")
        for r in rendered:
            name = f"{r.name}.{config.format}"
            _write(r.frame, landing / name, config.format)
            result.landing[name] = len(r.frame)
        say("writing the ground truth")
        result.truth |= _write_truth(world, history, rendered, truth, config)
        result.people = int(world.n_people)
        result.seconds = round(time.perf_counter() - t0, 2)
        manifest = {"generator": "risk_model.synth", "config": config.model_dump(),
                    "landing": result.landing, "truth": result.truth, "people": result.people}
        (truth / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        workspace.publish(truth, workspace.truth)
        workspace.publish(landing, workspace.landing)
    log.info("synth wrote %d landing files in %.1f s", len(result.landing), result.seconds)
    return result


def _write(df: pd.DataFrame, path: Path, fmt: str = "parquet") -> int:
    """Write one table as CSV or Parquet; return its row count."""
    if fmt == "csv":
        df.to_csv(path, index=False, lineterminator="\n")
    else:
        table = pa.Table.from_pandas(df, preserve_index=False)
        # a column that happens to be empty in a run is still a text column, not type "null"
        schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                            for f in table.schema], metadata=table.schema.metadata)
        pq.write_table(table.cast(schema), path, compression="zstd")
    return len(df)


def _write_truth(w: World, h: History, rendered: list[Rendered], folder: Path,
                 cfg: SynthConfig) -> dict[str, int]:
    n = w.n_people
    out: dict[str, int] = {}
    idx = np.arange(n)
    dob = w.p_dob[:n].astype("datetime64[D]")
    onset = w.p_ltc_onset[:n]
    persons = pd.DataFrame({
        "person_id": idx.astype(np.int32),
        "sex": np.where(w.p_sex[:n] == 0, "F", "M"),
        "birth_month": np.datetime_as_string(dob, unit="M"),
        "ethnic_category": np.array(list(ETHNIC_CATEGORIES))[w.p_eth[:n]],
        "ethnic_group": [ETHNIC_GROUP_OF[c] for c in np.array(list(ETHNIC_CATEGORIES))[
            w.p_eth[:n]]],
        "household_id": w.p_household[:n],
        "entry_month": w.p_entry[:n],
        "exit_month": np.where(w.p_exit[:n] == NEVER, -1, w.p_exit[:n]),
        "exit_reason": np.array(["", "died", "moved_away"])[w.p_exit_reason[:n]],
        "opt_out_month": np.where(w.p_optout[:n] == NEVER, -999, w.p_optout[:n]),
        "frailty_latent": w.p_frailty[:n].astype(np.float32),
        **{f"onset_month_{c}": np.where(onset[:, j] == NEVER, -999, onset[:, j])
           for j, c in enumerate(LTC_CONDITIONS)},
    })
    out["persons"] = _write(persons, folder / "persons.parquet")
    nh = w.n_households
    households = pd.DataFrame({
        "household_id": np.arange(nh),
        "household_type": np.array(HOUSEHOLD_TYPES)[w.hh_type[:nh]],
        "couple": w.hh_couple[:nh],
    })
    out["households"] = _write(households, folder / "households.parquet")
    res_to = h.cat("res_to")
    residence = pd.DataFrame({
        "person_id": h.cat("res_person").astype(np.int32),
        "uprn": w.uprn[h.cat("res_home")],
        "from_date": h.cat("res_from").astype("datetime64[D]"),
        "to_date": np.where(res_to < 0, np.datetime64("NaT"), res_to.astype("datetime64[D]")),
    }).sort_values(["person_id", "from_date"], kind="stable")
    out["residence"] = _write(residence, folder / "residence.parquet")
    homes = pd.DataFrame({
        "uprn": w.uprn,
        "tenure": np.array(TENURES)[w.home_tenure],
        "lsoa_code": w.lsoa_code[w.home_lsoa],
        "imd_decile": w.lsoa_decile[w.home_lsoa],
        "sap": w.home_sap,
        "bedrooms": w.home_bedrooms,
        "excess_cold": w.home_sap < 33.52,
        "falls_on_stairs_hazard": w.home_stairs_hazard,
        "falls_on_level_hazard": w.home_level_hazard,
        "adapted_by_end": w.home_adapted,
    })
    out["homes"] = _write(homes, folder / "homes.parquet")
    out["damp_intervals"] = _write(_damp_intervals(w, h), folder /
                                           "damp_intervals.parquet")
    out["events"] = _write(_events(h), folder / "events.parquet")
    ident, errs = [], []
    for r in rendered:
        rows = np.arange(1, len(r.frame) + 1)
        ident.append(pd.DataFrame({
            "source": r.name,
            "row_number": rows,
            # an NHS number is never copied out of the landing zone, not even into the truth
            "record_key": (pd.array([pd.NA] * rows.size, dtype="string")
                           if r.key == "NHS_NUMBER"
                           else pd.array(r.frame[r.key].astype(str), dtype="string")),
            "person_id": pd.array(r.person, dtype="Int64") if r.person is not None
            else pd.array([pd.NA] * rows.size, dtype="Int64"),
            "uprn": pd.array(r.uprn, dtype="Int64") if r.uprn is not None
            else pd.array([pd.NA] * rows.size, dtype="Int64"),
        }))
        for kind, mask in sorted(r.errors.items()):
            hit = np.flatnonzero(mask)
            errs.append(pd.DataFrame({"source": r.name, "row_number": rows[hit],
                                      "error": kind}))
    out["record_identity"] = _write(pd.concat(ident, ignore_index=True),
                                            folder / "record_identity.parquet")
    out["record_errors"] = _write(pd.concat(errs, ignore_index=True),
                                          folder / "record_errors.parquet")
    effects = {
        "description": "Hazard ratios of the ground-truth model; see docs/synthetic-data.md",
        "admission_causes": EFFECTS,
        "seasonal_amplitude": SEASON_AMPLITUDE,
        "winter_weight_by_calendar_month": WINTER_WEIGHT.tolist(),
        "deaths": DEATH_EFFECTS,
        "deprivation_ratio_most_vs_least_deprived_quintile": cfg.admissions.deprivation_ratio,
        "calibration": h.calibration,
    }
    (folder / "effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n")
    return out


def _damp_intervals(w: World, h: History) -> pd.DataFrame:
    home, day, state = h.cat("damp_home"), h.cat("damp_day"), h.cat("damp_state")
    order = np.lexsort((day, home))
    home, day, state = home[order], day[order], state[order]
    starts = np.flatnonzero(state)
    # the next change of the same home ends the interval
    nxt = starts + 1
    has_end = (nxt < home.size)
    has_end[has_end] = home[nxt[has_end]] == home[starts[has_end]]
    end = np.where(has_end, day[np.minimum(nxt, home.size - 1)], -1)
    return pd.DataFrame({
        "uprn": w.uprn[home[starts]],
        "from_date": day[starts].astype("datetime64[D]"),
        "to_date": np.where(end < 0, np.datetime64("NaT"), end.astype("datetime64[D]")),
    })


def _events(h: History) -> pd.DataFrame:
    kinds = np.array([f"emergency_{o}" for o in OUTCOMES] + ["elective", "maternity"])
    parts = [
        pd.DataFrame({"person_id": h.cat("adm_person"), "date": h.cat("adm_day"),
                      "event": kinds[h.cat("adm_kind")]}),
        pd.DataFrame({"person_id": h.cat("fall_person"), "date": h.cat("fall_day"),
                      "event": np.where(h.cat("fall_admitted").astype(bool), "fall_admitted",
                                        "fall_not_admitted")}),
        pd.DataFrame({"person_id": h.cat("ae_person"), "date": h.cat("ae_day"),
                      "event": "ae_not_admitted"}),
        pd.DataFrame({"person_id": h.cat("death_person"), "date": h.cat("death_day"),
                      "event": "death"}),
    ]
    ev = pd.concat(parts, ignore_index=True)
    ev["person_id"] = ev["person_id"].astype(np.int32)
    ev["date"] = ev["date"].to_numpy().astype("datetime64[D]")
    return ev.sort_values(["person_id", "date", "event"], kind="stable").reset_index(drop=True)
