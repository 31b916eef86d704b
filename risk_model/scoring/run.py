"""``risk-model score --month YYYY-MM``: the monthly run that makes each patch's list.

For the month (its last day is the as-of date, as in training), with the model version that
holds the alias (default ``champion``) in the MLflow registry:

1. **checks** that the catalogue still defines every feature the model uses as it did when the
   model learned (a removed, renamed or retyped feature, or changed category levels, is an
   error naming it), and that the month's frame matches the model's MLflow signature;
2. **builds the features** as of the month's end (the same catalogue SQL as training) for
   everyone in the population on that day: the dead, the deregistered and the opted-out are
   not in it, and opt-outs are checked again here;
3. **scores** everyone: calibrated risk, housing-attributable risk, the priority the model's
   spec asks for (risk, attributable or a blend), rank overall and within the patch, and a risk
   band (:mod:`~risk_model.scoring.lists`);
4. **makes the lists**: each patch's residents in priority order up to its capacity
   (:mod:`~risk_model.scoring.patches`; capacities an administrator set in the review app,
   :func:`risk_model.review.store.capacity_overrides`, override ``settings.yaml``), leaving
   out residents an officer recorded an action for in the hold-back window
   (:func:`risk_model.review.store.recent_actions`); exact SHAP reasons in plain English for
   everyone listed, for officers and for analysts;
5. **compares** with the previous month's lists (new, up, down, same; who left and why) and the
   month with the model's training reference (:func:`~risk_model.scoring.drift.drift`): the
   run says whether the lists can be trusted;
6. **writes**, all or nothing: the warehouse tables ``scores`` (everyone), ``lists``,
   ``list_leavers`` and ``scoring_runs``; ``<workspace>/lists/YYYY-MM/`` with one Parquet and
   one CSV per patch (pseudonymised id, tenancy reference, UPRN, band, ranks, movement and the
   officer's reasons; no other identifier), the month's ``summary.json`` and ``drift.json``;
   and an MLflow run (experiment ``scoring``) with the model version, counts, drift figures
   and charts. A month already scored is refused unless ``overwrite``; the warehouse and the
   folder change together in one transaction, so a failure leaves the previous state;
7. **publishes** the lists to the review app's database
   (:func:`risk_model.review.lists.publish_month`), which officers' pages read.

Counts in the summary that say something about people's lives (who died, moved, opted out, was
helped) follow the workspace's small-number rule; list sizes are set by capacity and are shown.

On the Spark engine (``engine="spark"``) the same run reads the lake's tables: the snapshot is
the same catalogue SQL translated to Spark SQL, and the per-resident work (risk through
``mlflow.pyfunc.spark_udf``, attributable risk, reasons, drift counts) is done in the executors
by :class:`risk_model.spark.scoring.SparkMonth`, with the same functions; the lists, the
summary and the month's folder are made here as on DuckDB. The tables go to the lake's outputs
(``scores/month=YYYY-MM/``...) together with the folder, all or nothing; the review app, which
reads the DuckDB warehouse, is not published to.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule, rule_for, suppress_count
from risk_model.engine import connect, engine_name, table_names
from risk_model.errors import ConfigError, DataError, OutputExistsError
from risk_model.features.catalogue import Catalogue, load_catalogue
from risk_model.modelling.frame import FeatureSchema, lightgbm_frame, read_model_frame
from risk_model.scoring.lists import LEFT_WHY, movement, rank, select
from risk_model.scoring.patches import NO_PATCH, assign_patches

__all__ = ["EXPERIMENT", "LISTS_TABLE", "SCORES_TABLE", "ScoreResult", "month_end", "score"]

log = logging.getLogger(__name__)

EXPERIMENT = "scoring"
SCORES_TABLE = "scores"
LISTS_TABLE = "lists"
LEAVERS_TABLE = "list_leavers"
RUNS_TABLE = "scoring_runs"
REASONS_TABLE = "resident_reasons"

_TABLES = {
    SCORES_TABLE: """month VARCHAR, model VARCHAR, model_version VARCHAR, person_id VARCHAR,
        tenancy_ref VARCHAR, uprn BIGINT, patch VARCHAR, risk DOUBLE, risk_band VARCHAR,
        rank_overall BIGINT, rank_in_patch BIGINT, attributable_risk DOUBLE, priority DOUBLE,
        held_back_action VARCHAR, on_list BOOLEAN""",
    LISTS_TABLE: """month VARCHAR, model VARCHAR, model_version VARCHAR, patch VARCHAR,
        position BIGINT, person_id VARCHAR, tenancy_ref VARCHAR, uprn BIGINT, risk DOUBLE,
        risk_band VARCHAR, rank_overall BIGINT, rank_in_patch BIGINT,
        attributable_risk DOUBLE, priority DOUBLE, movement VARCHAR, previous_position BIGINT,
        movement_note VARCHAR, reasons_officer VARCHAR[], reasons_analyst VARCHAR[]""",
    LEAVERS_TABLE: """month VARCHAR, patch VARCHAR, person_id VARCHAR,
        previous_position BIGINT, why VARCHAR, why_text VARCHAR""",
    REASONS_TABLE: """month VARCHAR, person_id VARCHAR, reasons_officer VARCHAR[],
        reasons_analyst VARCHAR[]""",
    RUNS_TABLE: """month VARCHAR, run_id VARCHAR, model VARCHAR, model_version VARCHAR,
        alias VARCHAR, as_of DATE, scored_at TIMESTAMP, trusted BOOLEAN, mlflow_run_id VARCHAR,
        summary VARCHAR""",
}

#: The columns of each patch's file, for the housing team: the pseudonymised id, tenancy
#: reference and UPRN are its only identifiers; the band and ranks, not the risk itself (the
#: warehouse holds that, for analysts); then the officer's reasons (``reason_1``...).
FILE_COLUMNS = ["position", "person_id", "tenancy_ref", "uprn", "risk_band", "rank_in_patch",
                "rank_overall", "attributable_risk", "movement", "previous_position",
                "movement_note"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: The opt-outs, left out of the month's frame on Spark (the population already leaves them out).
_OPTED_OUT_SQL = "SELECT nhs_pseudo FROM national_data_opt_outs WHERE nhs_pseudo IS NOT NULL"
#: The roles reasons are worded for: column suffix -> catalogue role.
_ROLES = {"officer": "housing_officer", "analyst": "analyst"}
#: Who gets reasons: the listed only (default), or every resident scored.
REASONS_FOR = ("listed", "everyone")


@dataclass(frozen=True)
class ScoreResult:
    """What a scoring run did (``--json`` prints :meth:`to_dict`)."""

    month: str
    model: str
    version: str
    alias: str
    as_of: date
    counts: dict[str, Any]
    patches: list[dict[str, Any]]
    left: dict[str, Any]
    drift: dict[str, Any]
    outputs: dict[str, str]
    mlflow_run_id: str
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {"month": self.month, "model": self.model, "version": self.version,
                "alias": self.alias, "as_of": self.as_of.isoformat(), "counts": self.counts,
                "patches": self.patches, "left": self.left, "drift": self.drift,
                "outputs": self.outputs, "mlflow_run_id": self.mlflow_run_id,
                "seconds": self.seconds, "timings": self.timings}


def month_end(month: str) -> date:
    """Return the last day of a ``YYYY-MM`` month (the scoring as-of date).

    Raises
    ------
    ConfigError
        If ``month`` is not ``YYYY-MM``.

    Examples
    --------
    >>> month_end("2025-02")
    datetime.date(2025, 2, 28)
    """
    found = _MONTH.match(month or "")
    if not found or not 1 <= int(found[2]) <= 12:
        raise ConfigError(f"--month must be a month as YYYY-MM, got {month!r}",
                          hint="e.g. --month 2025-03 scores as of 31 March 2025")
    year, number = int(found[1]), int(found[2])
    return date(year, number, calendar.monthrange(year, number)[1])


def _model_ref(model: str | None, default: str, alias: str) -> tuple[str, str]:
    """``NAME[@alias]`` as (name, alias)."""
    if not model:
        return default, alias
    name, _, given = model.partition("@")
    if not name or (_ and not given):
        raise ConfigError(f"--model must be NAME or NAME@alias, got {model!r}",
                          hint="e.g. --model emergency_admission_12m@champion")
    return name, given or alias


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in _TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def _check_catalogue(schema: FeatureSchema, catalogue: Catalogue, where: str) -> None:
    """Refuse a catalogue that no longer defines the model's features as it learned them."""
    problems = []
    for entry in schema.entries:
        name = entry["name"]
        feature = catalogue.features.get(name)
        if feature is None:
            problems.append(f"{name!r} is not in the catalogue (removed or renamed)")
        elif feature.type != entry["type"]:
            problems.append(f"{name!r} is now a {feature.type}; the model learned a "
                            f"{entry['type']}")
        elif feature.type == "category" and list(feature.values) != list(entry["values"]):
            added = sorted(set(feature.values) - set(entry["values"]))
            gone = sorted(set(entry["values"]) - set(feature.values))
            problems.append(f"{name!r} has other categories than the model learned"
                            + (f" (new: {', '.join(added)})" if added else "")
                            + (f" (gone: {', '.join(gone)})" if gone else ""))
    if problems:
        raise DataError(f"{where} cannot score with the current catalogue: "
                        + "; ".join(problems),
                        hint="restore those definitions in features/, or train, audit and "
                             "promote a version on the current catalogue")


def _check_signature(model: Any, frame: pd.DataFrame, where: str) -> None:
    """Check the month's frame against the model's MLflow signature (names and types)."""
    inputs = model.metadata.get_input_schema()
    if inputs is None:
        raise DataError(f"{where} has no input signature to check the features against",
                        hint="train the model again: every version registered by "
                             "`risk-model train` has one")
    missing, wrong = [], []
    for spec in inputs.inputs:
        name, kind = spec.name, str(spec.type).rsplit(".", 1)[-1].lower()
        if name not in frame.columns:
            missing.append(name)
        elif kind in ("double", "float", "long", "integer") and \
                not pd.api.types.is_numeric_dtype(frame[name]):
            wrong.append(f"{name} ({frame[name].dtype}, the model takes {kind})")
        elif kind == "string" and not (pd.api.types.is_object_dtype(frame[name])
                                       or pd.api.types.is_string_dtype(frame[name])):
            wrong.append(f"{name} ({frame[name].dtype}, the model takes {kind})")
    if missing or wrong:
        raise DataError(f"{where}: the month's features do not match the model's signature: "
                        + (f"missing {', '.join(missing)}" if missing else "")
                        + ("; " if missing and wrong else "")
                        + (f"wrong type {', '.join(wrong)}" if wrong else ""),
                        hint="build features with the catalogue the model was trained on")


def _people(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """Who is in the snapshot, with their home, area and landlord (same order)."""
    return con.execute(f"""
        SELECT s.person_id, p.uprn, p.tenancy_ref, p.lsoa_code, p.ward_code, i.ward_name,
               t.landlord
        FROM {table} s
        JOIN population p USING (person_id)
        LEFT JOIN (SELECT DISTINCT lsoa_code, ward_name FROM lsoa_imd) i USING (lsoa_code)
        LEFT JOIN (SELECT tenancy_ref, any_value(landlord) AS landlord FROM tenancies
                   GROUP BY tenancy_ref) t USING (tenancy_ref)
        ORDER BY s.person_id""").to_arrow_table().to_pandas()


def _previous(con: duckdb.DuckDBPyConnection, month: str) -> tuple[str | None, pd.DataFrame]:
    row = con.execute(f"SELECT max(month) FROM {RUNS_TABLE} WHERE month < ?",
                      [month]).fetchone() if RUNS_TABLE in table_names(con) else None
    if row is None or row[0] is None:
        return None, pd.DataFrame(columns=["person_id", "patch", "position"])
    return row[0], con.execute(f"SELECT person_id, patch, position FROM {LISTS_TABLE} "
                               "WHERE month = ? ORDER BY patch, position", [row[0]]).df()


def _died(con: duckdb.DuckDBPyConnection, people: list[str], cutoff: date) -> set[str]:
    """Of ``people``, who died before the cut-off."""
    if not people:
        return set()
    con.register("__asked", pd.DataFrame({"person_id": people}))
    try:
        return {r[0] for r in con.execute(
            "SELECT DISTINCT nhs_pseudo FROM deaths JOIN __asked ON nhs_pseudo = person_id "
            "WHERE date_of_death < ?", [cutoff]).fetchall()}
    finally:
        con.unregister("__asked")


def _opted_out(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT DISTINCT nhs_pseudo FROM national_data_opt_outs "
                                      "WHERE nhs_pseudo IS NOT NULL").fetchall()}


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "patch"
    slug, i = base, 2
    while slug in taken:
        slug, i = f"{base}-{i}", i + 1
    taken.add(slug)
    return slug


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append a frame to a warehouse table by column name (nothing for an empty frame)."""
    if frame.empty:
        return
    con.register("__rows", frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
    finally:
        con.unregister("__rows")


def score(workspace: Workspace, month: str, *, model: str | None = None,
          overwrite: bool = False, reasons_for: str = "listed",
          progress: Callable[[str], None] | None = None,
          engine: str | None = None) -> ScoreResult:
    """Score everyone as of a month's end and make each patch's prioritised list.

    Parameters
    ----------
    workspace : Workspace
        The workspace: its warehouse (ingested, linked), MLflow registry and settings.
    month : str
        ``YYYY-MM``.
    model : str, optional
        ``NAME`` or ``NAME@alias``; default ``scoring.model`` at ``scoring.alias`` from the
        workspace's settings (``emergency_admission_12m@champion``).
    overwrite : bool, optional
        Replace the month's lists if it was scored before.
    reasons_for : {"listed", "everyone"}, optional
        Reasons for the listed residents only (LightGBM's exact TreeSHAP), or for every
        resident scored (the same exact values by
        :func:`risk_model.modelling.treeshap.exact_shap`), written to the warehouse table
        ``resident_reasons`` for analysts and for anyone who asks why they were or were not
        offered help.
    progress : callable, optional
        Called with a short message at each stage.
    engine : {"duckdb", "spark"}, optional
        Where the month is scored and written (default: the workspace's ``engine``
        setting).

    Returns
    -------
    ScoreResult
        Counts, the lists by patch, who left, the drift verdict and where everything went.

    Raises
    ------
    ConfigError
        A bad month or model reference, no version with the alias, bad settings, or Spark
        asked for and not installed.
    OutputExistsError
        If the month was scored before and ``overwrite`` is false.
    DataError
        If the warehouse is not ready, or the catalogue or the month's features do not match
        what the model learned.
    """
    from risk_model.modelling.spec import spec_named

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    clock = [t0]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        timings[stage] = round(now - clock[0], 2)
        clock[0] = now

    note = progress or (lambda message: log.debug("score: %s", message))
    if reasons_for not in REASONS_FOR:
        raise ConfigError(f"--reasons-for must be listed or everyone, got {reasons_for!r}")
    month_end(month)  # a bad month fails before anything is opened
    sc = workspace.settings().scoring
    name, alias = _model_ref(model, sc.model, sc.alias)
    spec = spec_named(name)
    engine = engine_name(workspace, engine)
    if engine == "spark":
        with connect(workspace, "spark") as con:
            return _score(workspace, month, con=con, name=name, alias=alias, spec=spec,
                          overwrite=overwrite, reasons_for=reasons_for, note=note, lap=lap,
                          t0=t0, timings=timings)
    if not workspace.warehouse.exists():
        raise DataError(f"no warehouse at {workspace.warehouse}",
                        hint="run `risk-model ingest` and `risk-model link` first")
    return _score(workspace, month, con=None, name=name, alias=alias, spec=spec,
                  overwrite=overwrite, reasons_for=reasons_for, note=note, lap=lap, t0=t0,
                  timings=timings)


def _score(workspace: Workspace, month: str, *, con: Any, name: str, alias: str, spec: Any,
           overwrite: bool, reasons_for: str, note: Callable[[str], None],
           lap: Callable[[str], None], t0: float, timings: dict[str, float]) -> ScoreResult:
    """:func:`score` on DuckDB (``con`` None) or on a Spark connection."""
    from risk_model.features.snapshot import build_snapshot
    from risk_model.modelling.explain import attributable_risk, priority, reasons, shap_values
    from risk_model.review.store import capacity_overrides, recent_actions
    from risk_model.scoring.drift import drift, drift_from_counts
    from risk_model.tracking import alias_version, load_pyfunc

    as_of = month_end(month)
    settings = workspace.settings()
    sc = settings.scoring
    rule = rule_for(workspace)
    target = workspace.lists / month
    if con is None:
        with duckdb.connect(str(workspace.warehouse)) as duck:
            _ensure_tables(duck)
            done = duck.execute(f"SELECT count(*) FROM {RUNS_TABLE} WHERE month = ?",
                                [month]).fetchone()
    else:
        done = con.execute(f"SELECT count(*) FROM {RUNS_TABLE} WHERE month = ?", [month]
                           ).fetchone() if RUNS_TABLE in table_names(con) else None
    if not overwrite and ((done and done[0]) or (target.exists() and any(target.iterdir()))):
        raise OutputExistsError(f"{month} has been scored already ({target})",
                                hint="pass --overwrite to score it again and replace its lists")

    note(f"loading {name}@{alias} from the registry")
    version = alias_version(workspace, name, alias)
    if version is None:
        raise ConfigError(f"no version of {name!r} holds the alias {alias!r}",
                          hint=f"train, audit and promote one: `risk-model train {name}`, "
                               f"`risk-model audit {name}`, `risk-model promote {name} N`")
    where = f"{name} version {version}"
    registered = load_pyfunc(workspace, f"models:/{name}/{version}")
    py = registered.unwrap_python_model()
    schema: FeatureSchema = py.schema
    catalogue = load_catalogue()
    _check_catalogue(schema, catalogue, where)
    lap("load_model")

    note(f"building features as of {as_of}")
    month_frame: Any = None  # the Spark engine's frame (SparkMonth); DuckDB's is `frame`
    with (contextlib.nullcontext(con) if con is not None
          else duckdb.connect(str(workspace.warehouse))) as wh:
        build_snapshot(wh, catalogue, as_of, features=schema.names, table="score_snapshot")
        people = _people(wh, "score_snapshot")
        opted = _opted_out(wh)
        previous_month, previous = _previous(wh, month)
        died_before = _died(wh, previous["person_id"].tolist(), as_of)
        if con is None:
            person_id, frame = read_model_frame(wh, as_of, schema, table="score_snapshot")
        else:
            from risk_model.spark.scoring import SparkMonth

            month_frame = SparkMonth(con, "score_snapshot", py, exclude=_OPTED_OUT_SQL)
            person_id, frame = people["person_id"], None
    # pseudonyms and codes as plain objects: membership tests against hundreds of thousands of
    # them are hash lookups, not the per-value conversions of Arrow-backed strings
    person_id = person_id.astype(object)
    people = people.astype({c: object for c in ("person_id", "tenancy_ref", "lsoa_code",
                                                "ward_code", "ward_name", "landlord")})
    previous = previous.astype({"person_id": object, "patch": object})
    if not person_id.equals(people["person_id"]):
        raise DataError("the snapshot and its population disagree on who is in it",
                        hint="run `risk-model link` again; person_homes may be stale")
    keep = ~person_id.isin(opted).to_numpy()
    removed = int((~keep).sum())
    if removed:  # the population already leaves them out; a second lock
        log.warning("score: %d opted-out people were in the population; left out", removed)
        people = people[keep].reset_index(drop=True)
        if frame is not None:  # on Spark the month's frame leaves them out in its SQL
            frame = frame[keep].reset_index(drop=True)
    if people.empty:
        raise DataError(f"nobody is in the population as of {as_of}",
                        hint="check the month is within the warehouse's data")
    _check_signature(registered, frame if frame is not None else month_frame.empty_frame(),
                     where)
    lap("features")

    note(f"scoring {len(people):,} residents")
    if month_frame is None:
        raw = py.booster.predict(lightgbm_frame(frame, schema), raw_score=True)
        risk = np.clip(py.calibration(raw), 0.0, 1.0)
        attributable = attributable_risk(
            lambda f: np.clip(py.calibration(py.booster.predict(lightgbm_frame(f, schema),
                                                                raw_score=True)), 0.0, 1.0),
            frame, schema.entries, risk=risk)
    else:
        predicted = month_frame.predict(workspace, f"models:/{name}/{version}")
        if not predicted["person_id"].astype(object).equals(people["person_id"]):
            raise DataError("the month's frame and its population disagree on who is in it",
                            hint="run `risk-model link` again; person_homes may be stale")
        risk = predicted["risk"].to_numpy(dtype=float)
        attributable = predicted["attributable_risk"].to_numpy(dtype=float)
    prio = priority(risk, attributable, spec.priority.rank_by, spec.priority.blend_weight)
    lap("predict")

    note("making the lists")
    patch, capacity = assign_patches(people, settings.patches)
    capacity.update({p: c for p, c in capacity_overrides(workspace).items() if p in capacity})
    since = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC) \
        - timedelta(days=sc.hold_back_days)
    until = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
    actions = recent_actions(workspace, since, until, actions=sc.hold_back_actions) \
        if sc.hold_back_days else pd.DataFrame(columns=["person_id", "action", "recorded_at"])
    held = people["person_id"].map(actions.set_index("person_id")["action"]) \
        if len(actions) else pd.Series(None, index=people.index, dtype=object)
    scored = pd.DataFrame({
        "person_id": people["person_id"], "tenancy_ref": people["tenancy_ref"],
        "uprn": people["uprn"].astype("Int64"), "patch": patch.to_numpy(), "risk": risk,
        "attributable_risk": attributable, "priority": prio,
        "held_back_action": held.astype(object).where(held.notna(), None).to_numpy(),
    })
    scored["held_back"] = scored["held_back_action"].notna()
    ranked = rank(scored, sc.bands)
    listed = select(ranked, capacity)
    status = ranked.set_index("person_id")[["patch", "held_back_action", "rank_in_patch"]]
    status = status.reindex(previous["person_id"].unique()) if len(previous) else status.iloc[:0]
    status["scored"] = status.index.isin(ranked["person_id"])
    status["home_known"] = status.index.isin(people.loc[people["uprn"].notna(), "person_id"])
    status["died"] = status.index.isin(list(died_before))
    status["opted_out"] = status.index.isin(list(opted))  # every opt-out, read once above
    listed, leavers = movement(listed, previous if previous_month else None, status, capacity)
    lap("lists")

    everyone_reasons: Any = None
    if month_frame is not None:  # in the executors, by the same functions
        note(f"explaining {'all residents' if reasons_for == 'everyone' else 'the listed'} "
             "on Spark")
        listed_ids = listed["person_id"].tolist()
        if reasons_for == "everyone":
            everyone_reasons = month_frame.reasons(None, top=sc.reasons, method="fast")
            said = everyone_reasons.join(con.frame(pd.DataFrame({"person_id": listed_ids}),
                                                   "person_id string"), "person_id", "left_semi")
        else:
            said = month_frame.reasons(listed_ids, top=sc.reasons)
        by_person = said.toPandas().set_index("person_id")
        for short in _ROLES:
            listed[f"reasons_{short}"] = [list(r) for r in by_person.loc[
                listed["person_id"], f"reasons_{short}"]]
    elif reasons_for == "everyone":  # exact values for all, by the fast algorithm
        note(f"explaining all {len(frame):,} residents (exact SHAP)")
        explanation = shap_values(py.booster, frame, schema, method="fast")
        everyone_reasons = pd.DataFrame({"person_id": people["person_id"], **{
            f"reasons_{short}": reasons(explanation, frame, schema.entries, role=role,
                                        top=sc.reasons)
            for short, role in _ROLES.items()}})
        by_person = everyone_reasons.set_index("person_id")
        for short in _ROLES:
            listed[f"reasons_{short}"] = by_person.loc[listed["person_id"],
                                                       f"reasons_{short}"].tolist()
    else:
        note(f"explaining {len(listed):,} listed residents")
        rows = people.index[people["person_id"].isin(listed["person_id"])]
        order = pd.Series(np.arange(len(rows)), index=people.loc[rows, "person_id"].to_numpy())
        sub = frame.loc[rows].reset_index(drop=True)
        explanation = shap_values(py.booster, sub, schema)
        at = order.reindex(listed["person_id"]).to_numpy()
        for short, role in _ROLES.items():
            said = reasons(explanation, sub, schema.entries, role=role, top=sc.reasons)
            listed[f"reasons_{short}"] = [said[i] for i in at]
    lap("reasons")

    note("checking drift against the training reference")
    if py.drift_reference is None:
        drifted: dict[str, Any] = {"trusted": None, "alerts": [], "watch": [],
                                   "summary": f"{where} has no drift reference bundled (it "
                                   "was registered before they were): drift not checked"}
    elif month_frame is not None:  # counted in the executors, compared here
        drifted = drift_from_counts(py.drift_reference,
                                    month_frame.drift_counts(py.drift_reference),
                                    threshold=sc.drift_threshold, warn=sc.drift_warn,
                                    missing_rise=sc.missing_rise)
    else:
        drifted = drift(py.drift_reference, frame, risk, threshold=sc.drift_threshold,
                        warn=sc.drift_warn, missing_rise=sc.missing_rise)
    lap("drift")

    counts = {
        "scored": len(ranked), "in_no_patch": int((ranked["patch"] == NO_PATCH).sum()),
        "held_back": suppress_count(int(ranked["held_back"].sum()), rule),
        "listed": len(listed), "patches": len(capacity), "capacity": int(sum(capacity.values())),
        "opted_out_left_out": suppress_count(removed, rule),
    }
    patches = _by_patch(ranked, listed, leavers, capacity, rule)
    left = {why: suppress_count(int((leavers["why"] == why).sum()), rule) for why in LEFT_WHY}
    stamp = datetime.now(UTC).replace(tzinfo=None)
    run_id = stamp.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    drift_brief = {k: drifted.get(k) for k in ("trusted", "summary", "alerts", "watch")}
    summary = {
        "month": month, "as_of": as_of.isoformat(), "run_id": run_id, "model": name,
        "version": version, "alias": alias, "priority": spec.priority.model_dump(),
        "previous_month": previous_month, "counts": counts, "patches": patches,
        "left": {"counts": left, "meaning": LEFT_WHY}, "drift": drift_brief,
        "hold_back": {"days": sc.hold_back_days, "actions": list(sc.hold_back_actions)},
        "reasons_for": reasons_for,
        "bands": sc.bands, "suppression": {**rule.to_dict(), "description": rule.describe()},
    }

    note("writing the lists, the warehouse tables and the MLflow run")
    mlflow_run_id = _write(workspace, month=month,
                           target=target, summary=summary, drifted=drifted, listed=listed,
                           ranked=ranked, leavers=leavers, name=name, version=version,
                           alias=alias, as_of=as_of, stamp=stamp,
                           profile=py.drift_reference, everyone=everyone_reasons, con=con)
    if month_frame is not None:
        month_frame.close()
    lap("write")
    outputs = {"lists": str(target), "summary": str(target / "summary.json"),
               "drift": str(target / "drift.json"),
               "warehouse": str(workspace.warehouse) if con is None else con.lake.outputs,
               "review": _publish(workspace, month) if con is None else
               "not published: the review app reads the DuckDB warehouse, and this month "
               "was scored on Spark (its lists are in the lake's outputs)"}
    lap("publish")
    return ScoreResult(month=month, model=name, version=version, alias=alias, as_of=as_of,
                       counts=counts, patches=patches, left=left, drift=drift_brief,
                       outputs=outputs, mlflow_run_id=mlflow_run_id,
                       seconds=round(time.perf_counter() - t0, 2), timings=timings)


def _publish(workspace: Workspace, month: str) -> str:
    """Put the month's lists in the review app's database; say what happened.

    The warehouse and the files are the record: a review database that cannot be reached
    (say PostgreSQL is down) does not undo the month, and ``risk-model review publish --month``
    puts the lists there later.
    """
    from risk_model.review.lists import publish_month

    try:
        entries = publish_month(workspace, month)
    except Exception as exc:  # any failure here leaves the month itself intact
        log.warning("score: the lists of %s are not in the review app yet (%s: %s); run "
                    "`risk-model review publish --month %s`", month, type(exc).__name__, exc,
                    month)
        return f"not published ({type(exc).__name__}); run risk-model review publish " \
               f"--month {month}"
    return f"{entries} list entries published to the review app"


def _by_patch(ranked: pd.DataFrame, listed: pd.DataFrame, leavers: pd.DataFrame,
              capacity: dict[str, int], rule: SuppressionRule) -> list[dict[str, Any]]:
    residents = ranked.groupby("patch").size()
    held = ranked[ranked["held_back"]].groupby("patch").size()
    sizes = listed.groupby("patch").size()
    moves = listed.groupby(["patch", "movement"]).size()
    gone = leavers.groupby("patch").size()
    out = []
    for name in sorted(capacity):
        row: dict[str, Any] = {"patch": name, "capacity": capacity[name],
                               "residents": int(residents.get(name, 0)),
                               "held_back": suppress_count(int(held.get(name, 0)), rule),
                               "listed": int(sizes.get(name, 0))}
        for kind in ("new", "up", "down", "same"):
            row[kind] = int(moves.get((name, kind), 0))
        row["left"] = int(gone.get(name, 0))
        out.append(row)
    return out


def _write(workspace: Workspace, *, month: str, target: Path,
           summary: dict[str, Any], drifted: dict[str, Any], listed: pd.DataFrame,
           ranked: pd.DataFrame, leavers: pd.DataFrame, name: str, version: str, alias: str,
           as_of: date, stamp: datetime, profile: dict[str, Any] | None,
           everyone: Any, con: Any = None) -> str:
    """Write every output of the month, all or nothing; return the MLflow run id."""
    from risk_model.scoring.charts import drift_figures
    from risk_model.tracking import start_run

    tag = {"month": month, "model": name, "model_version": version}
    with workspace.staging("score") as stage:
        folder = stage / month
        folder.mkdir()
        files: dict[str, str] = {}
        taken: set[str] = set()
        for patch_name in [p["patch"] for p in summary["patches"]]:
            rows = listed[listed["patch"] == patch_name]
            slug = _slug(patch_name, taken)
            out = rows[FILE_COLUMNS].copy()
            out["attributable_risk"] = out["attributable_risk"].round(4)
            for i in range(_reason_columns(listed)):
                out[f"reason_{i + 1}"] = [r[i] if len(r) > i else "" for r in
                                          rows["reasons_officer"]]
            out.to_parquet(folder / f"{slug}.parquet", index=False)
            out.to_csv(folder / f"{slug}.csv", index=False)
            files[patch_name] = slug
        summary["files"] = {p: {"parquet": f"{s}.parquet", "csv": f"{s}.csv"}
                            for p, s in files.items()}
        (folder / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
        (folder / "drift.json").write_text(json.dumps(drifted, indent=1, default=str))
        figures = drift_figures(drifted, profile)

        with start_run(workspace, EXPERIMENT, run_name=month,
                       tags={"risk_model.step": "score", "risk_model.month": month,
                             "risk_model.model": name, "risk_model.model_version": version,
                             "risk_model.trusted": str(drifted.get("trusted"))}) as run:
            run.log_params({"month": month, "as_of": as_of.isoformat(), "model": name,
                            "model_version": version, "alias": alias,
                            "hold_back": summary["hold_back"], "bands": summary["bands"],
                            "priority": summary["priority"]})
            counts = {k: v for k, v in summary["counts"].items() if isinstance(v, int)}
            metrics: dict[str, Any] = {"counts": counts}
            if drifted.get("score"):
                metrics["drift"] = {
                    "score_psi": drifted["score"]["psi"],
                    "alerts": len(drifted["alerts"]), "watch": len(drifted["watch"]),
                    "psi": {n: r["psi"] for n, r in drifted["features"].items()},
                    "missing_share": {n: r["missing_share"]
                                      for n, r in drifted["features"].items()}}
            run.log_metrics(metrics)
            run.log_artifact(folder / "summary.json", "scoring")
            run.log_artifact(folder / "drift.json", "scoring")
            for file, fig in figures.items():
                run.log_figure(fig, f"plots/{file}")
            _close(figures)
            summary_row = pd.DataFrame([{
                "month": month, "run_id": summary["run_id"], "model": name,
                "model_version": version, "alias": alias, "as_of": as_of, "scored_at": stamp,
                "trusted": drifted.get("trusted"), "mlflow_run_id": run.run_id,
                "summary": json.dumps(summary, default=str)}])
            commit = _commit if con is None else functools.partial(_commit_lake, con)
            commit(workspace.warehouse, month, folder, target, {
                SCORES_TABLE: ranked.assign(**tag, on_list=ranked["person_id"].isin(
                    listed["person_id"])).drop(columns=["held_back"]),
                LISTS_TABLE: listed.assign(**tag).drop(columns=["held_back",
                                                                "held_back_action"]),
                LEAVERS_TABLE: leavers.assign(month=month),
                REASONS_TABLE: everyone if everyone is not None and con is not None else (
                    everyone if everyone is not None else pd.DataFrame(
                        columns=["person_id", "reasons_officer", "reasons_analyst"])
                ).assign(month=month),
                RUNS_TABLE: summary_row})
            return run.run_id


def _reason_columns(listed: pd.DataFrame) -> int:
    """How many reason columns the patch files get (the most any listed resident has)."""
    if listed.empty:
        return 0
    return int(max((len(r) for r in listed["reasons_officer"]), default=0))


def _commit(con_path: Path, month: str, folder: Path, target: Path,
            tables: dict[str, pd.DataFrame]) -> None:
    """Replace the month in the warehouse and in ``lists/`` together, or change neither."""
    aside: Path | None = None
    placed = False
    with duckdb.connect(str(con_path)) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for table, frame in tables.items():
                con.execute(f"DELETE FROM {table} WHERE month = ?", [month])
                _insert(con, table, frame)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                aside = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
                target.rename(aside)
            folder.rename(target)
            placed = True
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if placed:
                target.rename(folder)  # back to staging, removed with it
            if aside is not None:
                aside.rename(target)
            raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _commit_lake(con: Any, _warehouse: Path, month: str, folder: Path, target: Path,
                 tables: dict[str, Any]) -> None:
    """:func:`_commit` on the Spark engine: the month's partitions and folder, or neither."""
    from risk_model.spark import Write
    from risk_model.spark.connection import spark_ddl

    writes = []
    for table, rows in tables.items():
        ddl = spark_ddl(_TABLES[table])
        if isinstance(rows, pd.DataFrame):
            columns = [c.split()[0] for c in _TABLES[table].replace("\n", " ").split(",")]
            data = rows.assign(month=month) if "month" not in rows.columns else rows
            frame = con.spark.createDataFrame(data[columns], schema=ddl) if len(data) else \
                con.spark.createDataFrame([], schema=ddl)
        else:  # a Spark frame (everyone's reasons), never collected
            from pyspark.sql import functions as F

            frame = rows.withColumn("month", F.lit(month))
        writes.append(Write(table, frame, ("month", month)))
    aside: Path | None = None
    placed = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            aside = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
            target.rename(aside)
        folder.rename(target)
        placed = True
        con.commit(writes)
    except BaseException:
        if placed:
            target.rename(folder)
        if aside is not None:
            aside.rename(target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _close(figures: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    for fig in figures.values():
        plt.close(fig)
