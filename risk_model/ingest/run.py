"""The ingest run: landing zone in, validated and pseudonymised warehouse out, nothing lost.

One run reads every file in ``<workspace>/landing/`` that it has not ingested before (a file
is known by its name and SHA-256), checks each against its contract, sorts every row into
accepted, quarantined (with its reasons) or excluded by the national data opt-out, and writes
the accepted rows across the boundary into the DuckDB warehouse. For every file,
``rows_read = rows_accepted + rows_quarantined + rows_opted_out``, and the reconciliation is
stored in the warehouse (``ingest_reconciliation``) and in ``reports/ingest/<run>.json``.

All of it happens on a copy of the warehouse in a staging folder, moved into place only when
complete: a refused file or a failure midway leaves the warehouse exactly as it was. A later
extract adds to the warehouse: a row whose key is already there replaces it (the newer extract
wins); snapshot sources (the opt-out list, reference tables) replace the whole table.

Every count in the reports (quality profiles, people excluded by the opt-out) is suppressed
under the workspace's small-number rule (:func:`risk_model.disclosure.rule_for`). The
reconciliation per file is given in true counts, as it must add up: it is for the analyst, not
for sharing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model import __version__
from risk_model.codes import ETHNIC_GROUP_OF, age_band
from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule, rule_for, suppress_count
from risk_model.errors import ConfigError, DataError
from risk_model.ingest.boundary import key_columns, to_warehouse, warehouse_name
from risk_model.ingest.contracts import (
    CONTRACTS,
    INGEST_ORDER,
    RULE_HINTS,
    Contract,
    source_of_file,
)
from risk_model.ingest.pseudonymise import PseudonymKey, normalise_name
from risk_model.ingest.quality import profile_source, write_quality_report
from risk_model.ingest.validate import PROBLEM_COLUMNS, CheckedFile, check_file, file_digest
from risk_model.linkage.address import (
    ADDRESS_COLUMNS,
    GAZETTEER_COLUMNS,
    MATCHING_RUNS_TABLE,
    METHODS,
    match_addresses,
)

__all__ = ["FileReconciliation", "IngestResult", "ingest"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Warehouse tables the run keeps about itself.
FILES_TABLE = "ingest_files"
RUNS_TABLE = "ingest_runs"
RECONCILIATION_TABLE = "ingest_reconciliation"
QUALITY_TABLE = "ingest_quality"
OPT_OUT_SOURCE = "national_data_opt_outs"
_DUCKDB_MEMORY = "3GB"
#: Where each warehouse row came from: the landing file and its 1-based data row.
_PROVENANCE = ("source_file", "source_row")


@dataclass(frozen=True)
class FileReconciliation:
    """What became of one landing file's rows."""

    file: str
    source: str
    digest: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_opted_out: int
    problems: int
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        """Whether read = accepted + quarantined + opted out."""
        return self.rows_read == self.rows_accepted + self.rows_quarantined + self.rows_opted_out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, with ``reconciled``."""
        return {**asdict(self), "reconciled": self.reconciled}


@dataclass(frozen=True)
class IngestResult:
    """What an ingest run did."""

    run_id: str
    warehouse: Path
    files: list[FileReconciliation]
    skipped: list[str]
    opt_out: dict[str, Any]
    quarantine: Path
    reports: dict[str, str]
    key_fingerprint: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (the ``--json`` output)."""
        return {
            "run_id": self.run_id,
            "warehouse": str(self.warehouse),
            "files": [f.to_dict() for f in self.files],
            "skipped": self.skipped,
            "rows_read": sum(f.rows_read for f in self.files),
            "rows_accepted": sum(f.rows_accepted for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
            "rows_opted_out": sum(f.rows_opted_out for f in self.files),
            "reconciled": all(f.reconciled for f in self.files),
            "opt_out": self.opt_out,
            "quarantine": str(self.quarantine),
            "reports": self.reports,
            "key_fingerprint": self.key_fingerprint,
            "seconds": self.seconds,
        }


def ingest(workspace: Workspace, *, key: PseudonymKey, today: date | None = None,
           rebuild: bool = False, progress: Progress | None = None) -> IngestResult:
    """Ingest every new landing file into the warehouse.

    Parameters
    ----------
    workspace : Workspace
        The workspace; reads ``landing/``, writes the warehouse, ``quarantine/`` and
        ``reports/``.
    key : PseudonymKey
        The pseudonymisation key (never stored in the workspace).
    today : datetime.date, optional
        The day of the ingest (no date in the data may be after it); default today.
    rebuild : bool
        Build a new warehouse from the landing files instead of adding to the existing one
        (the CLI's ``--overwrite``); the old one is replaced only when the new one is complete.
    progress : callable, optional
        Called with a short message as each stage starts.

    Returns
    -------
    IngestResult
        The reconciliation per file and where the outputs are.

    Raises
    ------
    DataError
        If landing/ holds no files, a file with no contract, or a file that cannot be read at
        all; nothing is written.
    ConfigError
        If the warehouse was built with another pseudonymisation key, the workspace's
        ``settings.yaml`` is not valid, or earlier files were profiled under another
        small-number rule (ingest with ``rebuild`` then).
    """
    t0 = time.perf_counter()
    note = progress or (lambda _message: None)
    today = today or date.today()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    rule = rule_for(workspace)
    files = _landing_files(workspace)
    known = {} if rebuild else _known_files(workspace.warehouse, key)
    digests = {p.name: file_digest(p) for p in files}
    todo = [p for p in files if known.get(p.name) != digests[p.name]]
    skipped = [p.name for p in files if p not in todo]
    if not todo:
        log.info("all %d landing files were ingested before; nothing to do", len(files))
        return IngestResult(run_id, workspace.warehouse, [], skipped, {}, workspace.quarantine,
                            {}, key.fingerprint, round(time.perf_counter() - t0, 2))

    with workspace.staging("ingest") as stage:
        staged_db = stage / "warehouse.duckdb"
        if workspace.warehouse.exists() and not rebuild:
            shutil.copy2(workspace.warehouse, staged_db)
        (stage / "quarantine").mkdir()
        con = duckdb.connect(str(staged_db))
        try:
            con.execute(f"SET memory_limit = '{_DUCKDB_MEMORY}'")
            run = _Run(con, key, today, stage / "quarantine", note, rule)
            run.process(todo, landing=files)
            run.record(run_id, skipped)
            profiles, all_files = run.stored_quality()
            con.execute("CHECKPOINT")
        finally:
            con.close()
        opt_out = run.opt_out_summary()
        report_paths = _write_reports(workspace, stage, run, run_id=run_id, opt_out=opt_out,
                                      profiles=profiles, all_files=all_files)
        os.replace(staged_db, workspace.warehouse)
        _publish_quarantine(workspace, stage / "quarantine", [p.name for p in todo],
                            clear=rebuild)
        for staged, target in report_paths:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    return IngestResult(
        run_id=run_id,
        warehouse=workspace.warehouse,
        files=run.reconciliation,
        skipped=skipped,
        opt_out=opt_out,
        quarantine=workspace.quarantine,
        reports={name: str(target) for name, (_, target) in zip(
            ("run", "data_quality_json", "data_quality_html"), report_paths, strict=True)},
        key_fingerprint=key.fingerprint,
        seconds=round(time.perf_counter() - t0, 2),
    )


def _landing_files(workspace: Workspace) -> list[Path]:
    landing = workspace.landing
    if not landing.is_dir() or not any(landing.iterdir()):
        raise DataError(
            f"no landing files in {landing}",
            hint="copy the extracts into landing/ (or run `risk-model synth`) and ingest again",
        )
    files = sorted(p for p in landing.iterdir() if p.is_file() and not p.name.startswith("."))
    for p in files:
        if source_of_file(p.name) not in CONTRACTS:
            raise DataError(
                f"{p.name}: no data contract for a source called "
                f"{source_of_file(p.name)!r}",
                hint=f"name the file after its source ({', '.join(sorted(CONTRACTS))}), "
                f"optionally with a label after two underscores (hes_apc__2025-04.csv), or move "
                f"it out of landing/",
            )
    return sorted(files, key=lambda p: _file_order(source_of_file(p.name), p.name))


def _known_files(warehouse: Path, key: PseudonymKey) -> dict[str, str]:
    """Files ingested before (name to digest), after checking the warehouse's key."""
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if RUNS_TABLE not in tables:
            return {}
        prints = {r[0] for r in con.execute(
            f"SELECT DISTINCT key_fingerprint FROM {RUNS_TABLE}").fetchall()}
        if prints and prints != {key.fingerprint}:
            raise ConfigError(
                f"the warehouse was built with pseudonymisation key {', '.join(sorted(prints))} "
                f"(fingerprint) but this key is {key.fingerprint}: its pseudonyms would not "
                f"match",
                hint="use the key the warehouse was built with, or start a new workspace",
            )
        rows = con.execute(f"SELECT file, digest FROM {FILES_TABLE}").fetchall()
    return dict(rows)


class _Run:
    """One run's state: the staged warehouse connection and what each file became."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: PseudonymKey, today: date,
                 quarantine: Path, note: Progress, rule: SuppressionRule) -> None:
        self.con = con
        self.rule = rule
        self.key = key
        self.today = today
        self.quarantine = quarantine
        self.note = note
        self.reconciliation: list[FileReconciliation] = []
        self.profiles: list[dict[str, Any]] = []
        self._key_cache: dict[tuple[str, str], pd.Series] = {}
        self.opted_out: set[str] | None = None
        self.opt_out_groups: dict[str, dict[str, set[str]]] = {}
        self.removed_for_opt_out = 0
        self.known_names: set[str] = set()
        self.address_matching: list[dict[str, Any]] = []

    # ---- the files ---------------------------------------------------------------------

    def process(self, files: list[Path], *, landing: list[Path]) -> None:
        """Check, sort and write ``files``; ``landing`` is every landing file (for names)."""
        if any(source_of_file(p.name) == "damp_hazard_reports" for p in files):
            # names come from every register in landing, ingested before or not
            self.known_names = _known_names(landing)
        for path in files:
            contract = CONTRACTS[source_of_file(path.name)]
            self.note(f"checking {path.name}")
            checked = check_file(path, contract, today=self.today)
            self._check_references(checked)
            accepted = np.setdiff1d(np.arange(checked.rows_read), checked.bad_rows())
            frame = checked.frame.iloc[accepted]
            rows = to_warehouse(frame, contract, key=self.key, known_names=self.known_names)
            opted_out = 0
            kept = frame
            if contract.source == OPT_OUT_SOURCE:
                self.opted_out = set(rows["nhs_pseudo"].dropna())
            elif contract.health:
                keep = ~rows["nhs_pseudo"].isin(self._opt_outs()).to_numpy()
                opted_out = int((~keep).sum())
                self._count_opt_out_groups(contract, rows[~keep])
                rows = rows[keep].reset_index(drop=True)
                kept = frame[keep]
            if contract.source == "gp_registrations":
                self.note(f"matching the addresses of {path.name}")
                rows = self._match_addresses(rows, kept, path.name, landing)
            self.note(f"writing {contract.source}")
            self._write(contract, rows, path.name)
            self._write_quarantine(checked)
            rec = FileReconciliation(
                file=path.name, source=contract.source, digest=checked.digest,
                rows_read=checked.rows_read, rows_accepted=len(rows),
                rows_quarantined=len(checked.bad_rows()), rows_opted_out=opted_out,
                problems=len(checked.problems), ignored_columns=checked.ignored_columns,
            )
            if not rec.reconciled:  # a bug, never the data's fault
                raise RuntimeError(f"{path.name}: rows do not reconcile: {rec}")
            self.reconciliation.append(rec)
            self.profiles.append(self._profile(checked, rec))
        self._apply_opt_outs_to_warehouse()

    def _opt_outs(self) -> set[str]:
        if self.opted_out is None:  # no new list this run: the one in the warehouse
            self.opted_out = set()
            if _has_table(self.con, OPT_OUT_SOURCE):
                self.opted_out = {r[0] for r in self.con.execute(
                    f"SELECT nhs_pseudo FROM {OPT_OUT_SOURCE}").fetchall()}
        return self.opted_out

    def _check_references(self, checked: CheckedFile) -> None:
        contract = checked.contract
        for ref in contract.references:
            values = checked.frame[ref.column]
            present = values.notna().to_numpy()
            if not present.any():
                continue
            parents = self._keys(ref.source, ref.target)
            missing = present & ~values.isin(parents).to_numpy()
            missing[checked.bad_rows()] = False  # already quarantined for its own problems
            positions = np.flatnonzero(missing)
            if positions.size:
                checked.add_problems(pd.DataFrame({
                    "file": checked.path.name, "row": positions + 1, "field": ref.column,
                    "rule": "unknown_reference",
                    "value": values.iloc[positions].astype("string").to_numpy(dtype=object),
                    "hint": f"no accepted {ref.source} row has {ref.target} = this value; "
                    + RULE_HINTS["unknown_reference"],
                })[PROBLEM_COLUMNS])

    def _keys(self, source: str, column: str) -> pd.Series:
        """The values of ``source.column`` in the staged warehouse (cached until it changes)."""
        if (source, column) not in self._key_cache:
            name = warehouse_name(CONTRACTS[source].field(column))
            self._key_cache[source, column] = (
                self.con.execute(f'SELECT DISTINCT "{name}" FROM {source}').df()[name]
                if _has_table(self.con, source) else pd.Series([], dtype="object"))
        return self._key_cache[source, column]

    def _match_addresses(self, rows: pd.DataFrame, kept: pd.DataFrame, file: str,
                         landing: list[Path]) -> pd.DataFrame:
        """Add each row's matched UPRN (and how it was matched), inside the boundary.

        ``kept`` holds the landing rows of ``rows`` (same order), addresses included; only the
        columns of :func:`match_addresses` other than the address come out.
        """
        matched = match_addresses(kept[list(ADDRESS_COLUMNS)].reset_index(drop=True),
                                  self._gazetteer_addresses(landing))
        rows = rows.drop(columns=["uprn"]).assign(**{c: matched[c] for c in matched})
        counts = matched["uprn_match_method"].value_counts()
        self.address_matching.extend(
            {"file": file, "method": str(m), "rows": int(counts.get(m, 0))} for m in METHODS)
        return rows

    def _gazetteer_addresses(self, landing: list[Path]) -> pd.DataFrame:
        """Gazetteer addresses from landing, for the homes accepted into the warehouse.

        The gazetteer may have been ingested in an earlier run, so its addresses are read again
        from the (immutable) landing files; a later file's row for a UPRN wins.
        """
        known = pd.to_numeric(self._keys("gazetteer", "UPRN"), errors="coerce")
        frames = []
        for p in landing:
            if source_of_file(p.name) != "gazetteer":
                continue
            cols = list(GAZETTEER_COLUMNS)
            if p.suffix.lower() == ".parquet":
                g = pd.read_parquet(p, columns=cols)
            else:
                g = pd.read_csv(p, usecols=cols, dtype=str, keep_default_na=False,
                                na_values=[""], encoding="utf-8-sig")
            g["UPRN"] = pd.to_numeric(g["UPRN"], errors="coerce").astype("Int64")
            frames.append(g[g["UPRN"].isin(known.dropna())])
        if not frames:
            return pd.DataFrame({c: pd.Series([], dtype="object") for c in GAZETTEER_COLUMNS})
        return pd.concat(frames, ignore_index=True).drop_duplicates("UPRN", keep="last")

    def _count_opt_out_groups(self, contract: Contract, rows: pd.DataFrame) -> None:
        people = rows["nhs_pseudo"]
        groups: dict[str, pd.Series] = {}
        if "sex" in rows:
            groups["sex"] = rows["sex"].fillna("not known")
        if "ethnic_category" in rows:
            groups["ethnic_group"] = rows["ethnic_category"].map(
                ETHNIC_GROUP_OF, na_action="ignore").fillna("Not stated")
        if "birth_year" in rows:
            groups["age_band"] = age_band(rows["birth_year"], self.today.year)
        self.opt_out_groups.setdefault("all", {}).setdefault("people", set()).update(people)
        if contract.source != "gp_registrations":
            return  # groups come from the registration, the fullest record of a person
        for dimension, labels in groups.items():
            by = self.opt_out_groups.setdefault(dimension, {})
            for label, members in people.groupby(labels.to_numpy()):
                by.setdefault(str(label), set()).update(members)

    def _apply_opt_outs_to_warehouse(self) -> None:
        """Remove health rows already in the warehouse of people who have since opted out."""
        opted = self._opt_outs()
        if not opted:
            return
        self.con.register("_opted_out", pd.DataFrame({"nhs_pseudo": sorted(opted)}))
        for contract in CONTRACTS.values():
            if contract.health and _has_table(self.con, contract.source):
                removed = self.con.execute(
                    f"DELETE FROM {contract.source} WHERE nhs_pseudo IN "
                    f"(SELECT nhs_pseudo FROM _opted_out)").fetchone()
                self.removed_for_opt_out += int(removed[0]) if removed else 0
        self.con.unregister("_opted_out")

    def opt_out_summary(self) -> dict[str, Any]:
        """Opted-out people excluded this run, by broad group, small numbers suppressed."""
        people = self.opt_out_groups.get("all", {}).get("people", set())
        summary: dict[str, Any] = {
            "people_excluded": suppress_count(len(people), self.rule),
            "rows_excluded": sum(r.rows_opted_out for r in self.reconciliation),
            "rows_removed_from_warehouse": self.removed_for_opt_out,
            "opt_out_list_size": suppress_count(len(self._opt_outs()), self.rule),
        }
        for dimension, by in self.opt_out_groups.items():
            if dimension != "all":
                summary[f"people_by_{dimension}"] = {
                    g: suppress_count(len(m), self.rule) for g, m in sorted(by.items())}
        return summary

    # ---- writing -----------------------------------------------------------------------

    def _write(self, contract: Contract, rows: pd.DataFrame, file: str) -> None:
        rows = rows.assign(source_file=file)
        rows = rows[[c for c in rows if c not in _PROVENANCE] + list(_PROVENANCE)]
        replace = None
        if not contract.snapshot:
            replace = " AND ".join(f't."{k}" = i."{k}"' for k in key_columns(contract))
        elif _has_table(self.con, contract.source):  # the whole list, even an empty one
            self.con.execute(f"DELETE FROM {contract.source}")
        _append(self.con, contract.source, rows, replace=replace)
        self._key_cache = {k: v for k, v in self._key_cache.items() if k[0] != contract.source}

    def _write_quarantine(self, checked: CheckedFile) -> None:
        if len(checked.problems):
            problems = checked.problems.sort_values(["row", "field"], kind="stable")
            problems[PROBLEM_COLUMNS].to_csv(
                self.quarantine / f"{checked.path.name}.csv", index=False)

    def _profile(self, checked: CheckedFile, rec: FileReconciliation) -> dict[str, Any]:
        contract = checked.contract
        frame = checked.frame
        by_rule = checked.problems.groupby("rule").size().to_dict()
        # the earliest and latest date of birth would be someone's: no coverage for those
        dates = [f.name for f in contract.fields if f.kind == "date" and not f.identifying]
        groups = {}
        nhs = [f.name for f in contract.fields if f.handling == "nhs_number"]
        eth = [f for f in contract.fields if f.handling == "ethnicity"]
        dob = [f.name for f in contract.fields if f.handling == "dob"]
        if nhs and eth:  # NHS number completeness drives linkage, and differs by group
            labels = frame[eth[0].name].map(eth[0].recode or {}, na_action="ignore").map(
                ETHNIC_GROUP_OF, na_action="ignore").fillna("Not stated")
            groups[f"{nhs[0]} by ethnic group"] = (frame[nhs[0]], labels)
        if nhs and dob:
            bands = age_band(frame[dob[0]].dt.year.astype("Int64"), self.today.year)
            groups[f"{nhs[0]} by age band"] = (frame[nhs[0]], bands)
        profile = profile_source(
            contract.source, frame, rows_read=rec.rows_read, rows_accepted=rec.rows_accepted,
            quarantined_by_rule={str(k): int(v) for k, v in by_rule.items()},
            date_columns=dates, key_columns=list(contract.key),
            duplicate_rows=int(by_rule.get("duplicate_key", 0)),
            group_completeness=groups or None, rule=self.rule,
        )
        profile["file"] = checked.path.name
        return profile

    def record(self, run_id: str, skipped: list[str]) -> None:
        """Store the run, its files and their reconciliation in the warehouse."""
        now = datetime.now(UTC).replace(tzinfo=None)
        recs = pd.DataFrame([{**r.to_dict(), "run_id": run_id, "ingested_at": now}
                             for r in self.reconciliation]).drop(columns=["ignored_columns"])
        _append(self.con, RECONCILIATION_TABLE, recs)
        _append(self.con, FILES_TABLE, recs[["file", "digest", "run_id", "ingested_at"]],
                replace="t.file = i.file")
        _append(self.con, RUNS_TABLE, pd.DataFrame([{
            "run_id": run_id, "ingested_at": now, "key_fingerprint": self.key.fingerprint,
            "risk_model_version": __version__, "as_of": pd.Timestamp(self.today),
            "files_ingested": len(self.reconciliation), "files_skipped": len(skipped),
            "rows_removed_for_opt_out": self.removed_for_opt_out,
        }]))
        if self.address_matching:  # counts only: no address, no UPRN
            _append(self.con, MATCHING_RUNS_TABLE, pd.DataFrame(
                [{"run_id": run_id, "matched_at": now, **r} for r in self.address_matching]))
        # each file's latest quality profile, so the report covers every source, not only the
        # files of this run
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {QUALITY_TABLE} "
                         f"(file VARCHAR, profile JSON)")
        _append(self.con, QUALITY_TABLE, pd.DataFrame({
            "file": [p["file"] for p in self.profiles],
            "profile": [json.dumps(p, default=str) for p in self.profiles]}),
            replace="t.file = i.file")

    def stored_quality(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every file's latest quality profile and reconciliation, in ingest order."""
        stored = self.con.execute(f"SELECT profile FROM {QUALITY_TABLE}").fetchall()
        profiles = sorted((json.loads(r[0]) for r in stored),
                          key=lambda p: _file_order(p["source"], p["file"]))
        latest = self.con.execute(
            f"SELECT * EXCLUDE (run_id, ingested_at) FROM {RECONCILIATION_TABLE} "
            f"QUALIFY row_number() OVER (PARTITION BY file ORDER BY ingested_at DESC) = 1"
        ).df()
        files = sorted(latest.to_dict("records"),
                       key=lambda f: _file_order(f["source"], f["file"]))
        return profiles, files


def _file_order(source: str, file: str) -> tuple[int, str]:
    """Sort key of a file: the opt-out list, then parents before those that refer to them.

    The opt-out list comes first because it decides which health rows may enter.
    """
    return (-1 if source == OPT_OUT_SOURCE else INGEST_ORDER.index(source), file)


def _append(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, *,
            replace: str | None = None) -> None:
    """Append ``frame`` to ``table`` (created from its columns if new), by column name.

    ``replace`` is a condition on ``t`` (the table) and ``i`` (the incoming rows): table rows
    it matches are deleted first, so the incoming rows take their place.
    """
    con.register("_incoming", frame)
    try:
        if not _has_table(con, table):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _incoming LIMIT 0")
        if replace is not None:
            con.execute(f"DELETE FROM {table} t USING _incoming i WHERE {replace}")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                        [table]).fetchone()
    return bool(found and found[0])


def _known_names(files: list[Path]) -> set[str]:
    """Name words of the people in the landing zone, for scrubbing free text."""
    names: set[str] = set()
    for p in files:
        source = source_of_file(p.name)
        if source not in ("gp_registrations", "housing_residents"):
            continue
        cols = ["FORENAME", "SURNAME"]
        if p.suffix.lower() == ".parquet":
            frame = pd.read_parquet(p, columns=cols)
        else:
            frame = pd.read_csv(p, usecols=cols, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
        for col in cols:
            words = frame[col].dropna().astype(str).str.split(r"[\s\-']+").explode()
            names.update(w for w in normalise_name(pd.Series(words.unique())).dropna()
                         if len(w) > 1)
    return names


def _write_reports(workspace: Workspace, stage: Path, run: _Run, *, run_id: str,
                   opt_out: dict[str, Any], profiles: list[dict[str, Any]],
                   all_files: list[dict[str, Any]]) -> list[tuple[Path, Path]]:
    """Write the run's reconciliation and the data-quality report into the stage."""
    summary = {
        "run_id": run_id,
        "started": run_id.split("-")[0],
        "key_fingerprint": run.key.fingerprint,
        "as_of": run.today.isoformat(),
        "files": [r.to_dict() for r in run.reconciliation],
        "opt_out": opt_out,
        "suppression": run.rule.to_dict(),
    }
    staged_run = stage / f"{run_id}.json"
    staged_run.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    staged_json = stage / "data_quality.json"
    staged_html = stage / "data_quality.html"
    # the quality report covers every file in the warehouse, each as last ingested
    write_quality_report(profiles, run={**summary, "files": all_files},
                         json_path=staged_json, html_path=staged_html, rule=run.rule)
    reports = workspace.reports
    return [
        (staged_run, reports / "ingest" / f"{run_id}.json"),
        (staged_json, reports / "data_quality.json"),
        (staged_html, reports / "data_quality.html"),
    ]


def _publish_quarantine(workspace: Workspace, staged: Path, processed: list[str], *,
                        clear: bool) -> None:
    """Replace the quarantine records of the files this run processed (all, if ``clear``)."""
    target = workspace.quarantine
    target.mkdir(parents=True, exist_ok=True)
    old = target.glob("*.csv") if clear else (target / f"{n}.csv" for n in processed)
    for path in list(old):
        path.unlink(missing_ok=True)
    for path in staged.iterdir():
        os.replace(path, target / path.name)

