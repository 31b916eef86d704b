"""``risk-model audit MODEL [VERSION]``: the fairness audit of a registered model version.

The audit scores the version's test cohort with the registered model itself (loaded from the
MLflow registry, so what is audited is what would be promoted), then:

- measures it by group along each dimension of the spec's ``fairness`` section
  (:func:`risk_model.modelling.fairness.audit_groups`): metrics at each capacity level and
  threshold-free ones, with bootstrap intervals and disparity ratios to the reference group;
- measures **data availability** by the same groups, since a group whose records are thinner
  gets a worse model without anyone deciding so: whether the home was matched to a UPRN,
  whether a social tenant's landlord record was linked, whether an EPC or an HHSRS assessment
  is on file, whether any long-term condition is coded, and the share of features not known;
  plus the latest linkage run's link rate by group. A group with less of any of these than
  its reference group (ratio below the tolerance) is flagged (not a gate); "not known" groups
  are left out of the flags, as are coded conditions across age bands (need differs by age);
- applies the gates (a disparity ratio clearly outside the tolerance fails), stores each gate's
  result as a tag on the model version (``risk_model.fairness.passed`` is what ``promote``
  reads), and writes an HTML report with charts and a JSON summary to
  ``<workspace>/reports/audit/<model>/v<version>/``, logged to the version's training run.

Every count and rate in the outputs follows the workspace's small-number rule
(:func:`risk_model.disclosure.rule_for`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from risk_model.config import Workspace
from risk_model.disclosure import (
    SUPPRESSED,
    SuppressionRule,
    rule_for,
    suppress_count,
    suppressed_rate,
)
from risk_model.errors import ConfigError, DataError
from risk_model.features.catalogue import NOT_KNOWN
from risk_model.features.outcomes import LABELS_TABLE
from risk_model.features.population import population_sql
from risk_model.features.run import RUNS_TABLE, SNAPSHOTS_TABLE
from risk_model.modelling.fairness import NOT_KNOWN_GROUP, audit_groups, group_labels
from risk_model.modelling.frame import FeatureSchema, model_frame
from risk_model.modelling.spec import FAIRNESS_COLUMNS, ModelSpec, spec_named

__all__ = ["PASSED_TAG", "AuditResult", "audit"]

log = logging.getLogger(__name__)

#: The model-version tag ``promote`` reads: ``"true"`` or ``"false"``.
PASSED_TAG = "risk_model.fairness.passed"

#: Data availability measures: name -> (plain English, needs the column(s)).
AVAILABILITY = {
    "home_matched": "home matched to a UPRN",
    "tenancy_linked": "social tenants whose landlord record is linked",
    "epc_on_file": "EPC on file for the home",
    "hhsrs_assessed": "home assessed under the HHSRS",
    "condition_coded": "at least one long-term condition coded by the GP",
    "features_not_known": "share of the model's features not known (mean)",
}


@dataclass(frozen=True)
class AuditResult:
    """What an audit found and where it wrote it."""

    model: str
    version: str
    passed: bool
    gates: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    report: Path
    summary: Path
    mlflow_run_id: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """As plain data (what ``--json`` prints)."""
        return {"model": self.model, "version": self.version, "passed": self.passed,
                "gates": self.gates, "availability_flags": self.flags,
                "report": str(self.report), "summary": str(self.summary),
                "mlflow_run_id": self.mlflow_run_id, "seconds": self.seconds}


def _version(workspace: Workspace, name: str, version: str | None) -> dict[str, Any]:
    from risk_model.tracking import model_versions

    versions = model_versions(workspace, name)
    if not versions:
        raise ConfigError(f"model {name!r} has no registered version",
                          hint=f"train one with `risk-model train {name}`")
    if version is None:
        return versions[0]
    chosen = next((v for v in versions if v["version"] == str(version)), None)
    if chosen is None:
        raise ConfigError(f"model {name!r} has no version {version!r}",
                          hint="registered versions: "
                          + ", ".join(v["version"] for v in versions))
    return chosen


def _cohort(con: duckdb.DuckDBPyConnection, spec: ModelSpec, schema: FeatureSchema,
            test: date) -> pd.DataFrame:
    """The test cohort: features, outcome, group and availability columns, and the home."""
    present = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [SNAPSHOTS_TABLE]).fetchall()}
    extra = [c for c in (*FAIRNESS_COLUMNS, "epc_band", "hazard_damp_mould",
                         "long_term_conditions") if c in present and c not in schema.names]
    columns = ", ".join(f's."{c}"' for c in [*schema.names, *extra])
    runs = con.execute(f"SELECT max(cutoff) FROM {RUNS_TABLE} WHERE as_of = ?",
                       [test]).fetchone()
    if runs is None or runs[0] is None:
        raise DataError(f"no feature snapshot as of {test} for the audit",
                        hint=f"run `risk-model features --as-of {test}` (or train the model)")
    cutoff = pd.Timestamp(runs[0]).date().isoformat()
    frame = con.execute(f"""
        WITH people AS ({population_sql(f"DATE '{cutoff}'")})
        SELECT s.person_id, CAST(l.label AS INTEGER) AS label, {columns},
               p.uprn IS NOT NULL AS home_matched, p.tenancy_ref IS NOT NULL AS has_tenancy,
               coalesce(p.tenure LIKE 'Social rented%', false) AS social_home
        FROM {SNAPSHOTS_TABLE} s
        JOIN {LABELS_TABLE} l USING (person_id, as_of)
        LEFT JOIN people p USING (person_id)
        WHERE l.model = ? AND l.label IS NOT NULL AND s.as_of = ?
        ORDER BY s.person_id""", [spec.name, test]).df()
    if frame.empty or frame["label"].nunique() < 2:
        raise DataError(f"model {spec.name!r}: the test date {test} has {len(frame)} labelled "
                        "people, not enough to audit",
                        hint="check the spec's test date has complete follow-up")
    return frame


def _availability(frame: pd.DataFrame, schema: FeatureSchema, groups: dict[str, pd.Series],
                  reference: dict[str, str], tolerance: tuple[float, float],
                  rule: SuppressionRule) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Data availability by group, suppressed, with groups far from the reference flagged."""
    has = {
        "home_matched": (frame["home_matched"].astype(bool), None),
        "tenancy_linked": (frame["has_tenancy"].astype(bool), frame["social_home"].astype(bool)),
    }
    if "epc_band" in frame:
        has["epc_on_file"] = (frame["epc_band"].fillna(NOT_KNOWN) != NOT_KNOWN, None)
    if "hazard_damp_mould" in frame:
        has["hhsrs_assessed"] = (frame["hazard_damp_mould"].fillna(NOT_KNOWN) != NOT_KNOWN,
                                 None)
    if "long_term_conditions" in frame:
        has["condition_coded"] = (pd.to_numeric(frame["long_term_conditions"]).fillna(0) > 0,
                                  None)
    features = model_frame(frame, schema)
    unknown = pd.DataFrame({n: (features[n] == NOT_KNOWN) if n in schema.categories
                            else features[n].isna() for n in schema.names}).mean(axis=1)
    low = tolerance[0]
    out: dict[str, Any] = {}
    flags: list[dict[str, Any]] = []
    for dimension, labels in groups.items():
        rows = []
        sizes = labels.value_counts()
        ref = reference.get(dimension) or str(sizes.index[0])
        rates: dict[str, dict[str, Any]] = {}
        for group in sorted(sizes.index, key=str):
            mask = (labels == group).to_numpy()
            row: dict[str, Any] = {"group": group, "n": suppress_count(int(mask.sum()), rule)}
            for name, (value, among) in has.items():
                base = mask if among is None else mask & among.to_numpy()
                row[name] = suppressed_rate(int((value.to_numpy() & base).sum()),
                                            int(base.sum()), rule)
            shown = suppress_count(int(mask.sum()), rule) != SUPPRESSED
            row["features_not_known"] = round(float(unknown[mask].mean()), 3) if shown \
                else SUPPRESSED
            rows.append(row)
            rates[group] = row
        for row in rows:
            # a "not known" group is defined by missing data; comparing it says nothing new
            if row["group"] == ref or ref not in rates or NOT_KNOWN_GROUP in row["group"]:
                continue
            for name in AVAILABILITY:
                if name == "condition_coded" and "age_band" in dimension:
                    continue  # clinical need, not recording, differs by age
                mine, theirs = row.get(name), rates[ref].get(name)
                if not isinstance(mine, float) or not isinstance(theirs, float) or theirs == 0:
                    continue
                if name == "features_not_known":  # lower is better: compare what is known
                    mine, theirs = 1 - mine, 1 - theirs
                ratio = mine / theirs if theirs else None
                if ratio is not None and ratio < low:  # less known about the group
                    flags.append({"dimension": dimension, "group": row["group"],
                                  "measure": name, "value": row[name],
                                  "reference": ref, "reference_value": rates[ref][name],
                                  "ratio": round(ratio, 3)})
        out[dimension] = {"reference": ref, "rows": rows}
    return out, flags


def _linkage_by_group(workspace: Workspace) -> dict[str, Any] | None:
    """The latest linkage run's link rate by group (already suppressed when it was written)."""
    path = workspace.reports / "linkage.json"
    if not path.exists():
        return None
    rates = json.loads(path.read_text()).get("link_rates") or {}
    return {"as_of": rates.get("as_of"), "link_rate": rates.get("link_rate"),
            "by_group": rates.get("by_group", {})}


def _allowed(column: str) -> set[str]:
    """The group labels a column can give (for checking the spec's reference groups)."""
    from risk_model.features.catalogue import load_catalogue

    known = {NOT_KNOWN_GROUP}
    if column == "imd_quintile":
        return known | {str(q) for q in range(1, 6)}
    if column == "core20":
        return known | {"Core20", "not Core20"}
    feature = load_catalogue().features.get(column)
    return known | set(getattr(feature, "values", ()) or ())


def _check_references(spec: ModelSpec) -> None:
    """Refuse a reference group no one could be in (a typo), naming the allowed ones."""
    for dimension, reference in spec.fairness.reference.items():
        columns = [c.strip() for c in dimension.split(" x ")]
        parts = reference.split(" · ")
        allowed = [_allowed(c) for c in columns]
        if len(parts) != len(columns) or any(
                part not in ok for part, ok in zip(parts, allowed, strict=False)):
            raise ConfigError(
                f"models/{spec.name}.yaml: fairness.reference.{dimension} is {reference!r}, "
                "which is not a group of that dimension",
                hint="use one of: " + " · ".join(
                    "/".join(sorted(ok - {NOT_KNOWN_GROUP})) for ok in allowed))


def _gate_rows(result: dict[str, Any], tolerance: tuple[float, float]) -> list[dict[str, Any]]:
    rows = []
    low, high = tolerance
    for dimension, d in result["dimensions"].items():
        for key, gate in d["gates"].items():
            failed = ", ".join(f"{f['group']} {f['ratio']} ({f['lower']}-{f['upper']})"
                               for f in gate["failed"])
            warned = ", ".join(f"{f['group']} {f['ratio']}" for f in gate["warnings"])
            few = ", ".join(gate["too_few_to_judge"])
            detail = (f"{key} ratio to {d['reference']} must stay within {low}-{high}: "
                      + (f"outside with its whole 95% interval for {failed}" if failed
                         else "no group clearly outside")
                      + (f"; point outside, interval reaching in: {warned}" if warned else "")
                      + (f"; too few events to judge: {few}" if few else ""))
            rows.append({"gate": f"{dimension}: {key}", "dimension": dimension, "metric": key,
                         "passed": gate["passed"], "detail": detail})
    return rows


def audit(workspace: Workspace, name: str, version: str | None = None, *,
          progress: Callable[[str], None] | None = None) -> AuditResult:
    """Audit a registered model version for fairness and record the verdict.

    Parameters
    ----------
    workspace : Workspace
        The workspace holding the warehouse and the MLflow registry.
    name : str
        The model (``models/<name>.yaml``).
    version : str, optional
        The registered version; the latest if not given.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    AuditResult
        Every gate's verdict, the availability flags and the report's paths.

    Raises
    ------
    ConfigError
        If the model, version or a reference group does not exist.
    DataError
        If the test date's snapshot or labels are missing.
    """
    from risk_model.reports.audit import render_audit
    from risk_model.tracking import load_pyfunc, open_run, set_version_tags

    t0 = time.perf_counter()
    note = progress or (lambda message: log.debug("audit: %s", message))
    spec = spec_named(name)
    chosen = _version(workspace, name, version)
    number = chosen["version"]
    note(f"loading {name} version {number} from the registry")
    model = load_pyfunc(workspace, f"models:/{name}/{number}")
    schema: FeatureSchema = model.unwrap_python_model().schema
    test_tag = chosen["tags"].get("risk_model.test_date")
    test = date.fromisoformat(test_tag) if test_tag else \
        (spec.dates.test if spec.dates else None)
    if test is None:
        raise ConfigError(f"model {name!r} has no test date to audit on",
                          hint=f"add dates to models/{name}.yaml")
    note(f"scoring the test cohort as of {test}")
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        frame = _cohort(con, spec, schema, test)
    p = model.predict(model_frame(frame, schema)).to_numpy(dtype=float)
    y = frame["label"].to_numpy(dtype=int)
    fairness = spec.fairness
    missing = sorted({c.strip() for g in fairness.groups for c in g.split(" x ")}
                     - set(frame.columns))
    if missing:
        raise ConfigError(f"models/{name}.yaml: fairness groups use {', '.join(missing)}, "
                          "which the feature snapshots do not hold",
                          hint="rebuild the features with the current catalogue")
    groups = {g: group_labels(frame, g) for g in fairness.groups}
    rule = rule_for(workspace)
    note(f"measuring {len(groups)} group dimensions on {len(y):,} people "
         f"({fairness.replicates} bootstrap replicates)")
    _check_references(spec)
    try:
        result = audit_groups(y, p, groups, capacity=spec.capacity,
                              reference=fairness.reference, tolerance=fairness.tolerance,
                              gated=fairness.gated, gate_capacity=spec.audit_capacity(),
                              min_events=fairness.min_events,
                              replicates=fairness.replicates, seed=fairness.seed, rule=rule)
    except ValueError as exc:
        raise DataError(f"model {name!r}: cannot audit the test cohort: {exc}") from exc
    note("measuring data availability by group")
    availability, flags = _availability(frame, schema, groups, dict(fairness.reference),
                                        fairness.tolerance, rule)
    gates = _gate_rows(result, fairness.tolerance)
    passed = all(g["passed"] for g in gates)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    summary = {
        "model": name, "title": spec.title, "version": number, "run_id": chosen["run_id"],
        "audited_at": stamp, "test_date": str(test), "passed": passed,
        "tolerance": list(fairness.tolerance), "gate_capacity": spec.audit_capacity(),
        "min_events": fairness.min_events,
        "capacity": list(spec.capacity), "replicates": fairness.replicates,
        "suppression": {**rule.to_dict(), "description": rule.describe()},
        "outcome": spec.outcome.label,
        "gates": gates, "fairness": result,
        "availability": {"by_group": availability, "flags": flags,
                         "linkage": _linkage_by_group(workspace)},
    }
    note("writing the report and logging it to the version's MLflow run")
    target = workspace.reports / "audit" / name / f"v{number}"
    with workspace.staging("audit") as stage:
        folder = stage / target.name
        folder.mkdir()
        (folder / "audit.json").write_text(json.dumps(summary, indent=1, default=str))
        (folder / "audit.html").write_text(render_audit(summary), encoding="utf-8")
        run = open_run(workspace, chosen["run_id"])
        run.log_artifact(folder / "audit.json", "audit")
        run.log_artifact(folder / "audit.html", "audit")
        target.parent.mkdir(parents=True, exist_ok=True)
        workspace.publish(folder, target)
    tags = {_tag_key(g["dimension"], g["metric"]):
            ("passed: " if g["passed"] else "failed: ") + g["detail"] for g in gates}
    tags[PASSED_TAG] = "true" if passed else "false"
    tags["risk_model.fairness.audited_at"] = stamp
    set_version_tags(workspace, name, number, tags)
    return AuditResult(model=name, version=number, passed=passed, gates=gates, flags=flags,
                       report=target / "audit.html", summary=target / "audit.json",
                       mlflow_run_id=chosen["run_id"],
                       seconds=round(time.perf_counter() - t0, 2))


def _tag_key(dimension: str, metric: str) -> str:
    """An MLflow tag key for a gate (letters, digits, ``_ - . /`` only)."""
    text = f"{dimension}.{metric}".replace(" x ", "_x_").replace("@", "_at_")
    return "risk_model.fairness.gate." + re.sub(r"[^A-Za-z0-9_.-]", "pct", text)
