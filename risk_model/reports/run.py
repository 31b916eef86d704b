"""``risk-model report MODEL [VERSION]``: a version's reports, from what is tracked, all or none.

:func:`build_reports` gathers the facts of a registered version
(:func:`risk_model.reports.facts.collect_facts`: its MLflow training run, its fairness audit, the
spec, the catalogue and the warehouse's figures, suppressed), renders every page
(:func:`risk_model.reports.pages.render_reports`) into a staging folder, logs the folder to the
version's training run under ``reports/``, and only then moves it to
``<workspace>/reports/<model>/v<version>/``. A failure at any point leaves the previous reports
as they were; an existing folder is replaced only with ``overwrite``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from risk_model.config import Workspace
from risk_model.errors import DataError

__all__ = ["ARTIFACT_PATH", "ReportResult", "build_reports", "report_folder"]

log = logging.getLogger(__name__)

#: Where the reports go in the training run's artifacts.
ARTIFACT_PATH = "reports"


@dataclass(frozen=True)
class ReportResult:
    """What ``risk-model report`` wrote."""

    model: str
    version: str
    folder: Path
    index: Path
    files: list[str]
    mlflow_run_id: str
    fairness_passed: bool
    to_be_completed: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """As plain data (what ``--json`` prints)."""
        return {"model": self.model, "version": self.version, "folder": str(self.folder),
                "index": str(self.index), "files": self.files,
                "mlflow_run_id": self.mlflow_run_id, "fairness_passed": self.fairness_passed,
                "to_be_completed": self.to_be_completed, "seconds": self.seconds}


def report_folder(workspace: Workspace, name: str, version: str) -> Path:
    """Where a version's reports live: ``<workspace>/reports/<model>/v<version>/``."""
    return workspace.reports / name / f"v{version}"


def build_reports(workspace: Workspace, name: str, version: str | None = None, *,
                  overwrite: bool = False,
                  progress: Callable[[str], None] | None = None) -> ReportResult:
    """Generate a registered version's reports, log them to its MLflow run and publish them.

    Parameters
    ----------
    workspace : Workspace
        The workspace holding the warehouse and the MLflow store.
    name : str
        The registered model (``models/<name>.yaml``).
    version : str, optional
        The version; without it the champion, else the latest.
    overwrite : bool, default False
        Replace the version's reports if they exist.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    ReportResult
        The folder, the index page and the files written.

    Raises
    ------
    ConfigError
        If the model or version does not exist, or ``settings.yaml`` is not valid.
    DataError
        If the version has no fairness audit (run ``risk-model audit``), its audit followed
        another small-number rule, or its training run lacks what ``risk-model train`` logs.
    OutputExistsError
        If the reports exist and ``overwrite`` is false.
    """
    from risk_model.features.catalogue import load_catalogue
    from risk_model.features.dictionary import dictionary_html, dictionary_markdown
    from risk_model.reports.facts import collect_facts, resolve_version
    from risk_model.reports.pages import render_reports
    from risk_model.tracking import open_run, read_artifact, set_version_tags

    t0 = time.perf_counter()
    note = progress or (lambda message: log.debug("report: %s", message))
    chosen = resolve_version(workspace, name, version)
    number = chosen["version"]
    target = report_folder(workspace, name, number)
    workspace.check_can_write([target], overwrite=overwrite, step="report")

    facts = collect_facts(workspace, name, number, progress=note)
    raw = read_artifact(workspace, chosen["run_id"], "audit/audit.html")
    if raw is None:
        raise DataError(f"{name} version {number}'s fairness audit has no audit.html",
                        hint=f"run `risk-model audit {name} {number}` again")
    note("rendering the model card, transparency record, explainer and data pages")
    catalogue = load_catalogue()
    files = render_reports(facts, dictionary_html=dictionary_html(catalogue),
                           dictionary_markdown=dictionary_markdown(catalogue),
                           audit_html=raw.decode("utf-8"))
    note("logging the reports to the version's MLflow run and publishing them")
    with workspace.staging("report") as stage:
        folder = stage / target.name
        folder.mkdir()
        for file, text in files.items():
            (folder / file).write_text(text, encoding="utf-8")
        open_run(workspace, chosen["run_id"]).log_artifact(folder, ARTIFACT_PATH)
        target.parent.mkdir(parents=True, exist_ok=True)
        workspace.publish(folder, target)
    set_version_tags(workspace, name, number, {
        "risk_model.reports.generated_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return ReportResult(
        model=name, version=number, folder=target, index=target / "index.html",
        files=sorted(files), mlflow_run_id=chosen["run_id"],
        fairness_passed=bool(facts["fairness"]["passed"]),
        to_be_completed=list(facts["owner"]["to_be_completed"]),
        seconds=round(time.perf_counter() - t0, 2))
