"""Fixtures for the reports' tests: one small area trained, audited, promoted and reported.

The area is the shared ``featured`` one (4,000 synthetic residents), copied: a model is trained
on the copy, audited and promoted, and its reports are written twice, first under the default
small-number rule (that folder is kept aside as ``default``) and then under a stricter rule
set in ``settings.yaml`` (threshold 10, rounding 10: the ONS rule of thumb, rounded to tens), so
that a count left to the default rule anywhere would show. The refusals met on the way (no
audit yet; an audit under another rule) are kept for the tests to read.

Debian's Chromium through Playwright comes from :mod:`tests.chromium`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule
from risk_model.errors import PromotionRefused, RiskModelError
from risk_model.modelling.audit import audit
from risk_model.modelling.run import promote, train
from risk_model.reports.run import build_reports, report_folder
from tests.conftest import MODEL, copy_workspace

__all__ = ["MODEL", "STRICT", "ReportedArea", "reported"]

#: The stricter rule the published reports are written under.
STRICT = SuppressionRule(threshold=10, rounding=10)
_SETTINGS = """\
small_numbers: {threshold: 10, rounding: 10}
reports:
  organisation: Synthton City Council
  phase: pilot
"""


@dataclass
class ReportedArea:
    """The reported area: its workspace, its two report folders and the refusals met."""

    ws: Workspace
    landing: Path
    version: str
    folder: Path
    default: Path
    errors: dict[str, RiskModelError] = field(default_factory=dict)
    kept_after_refusal: bool = False


@pytest.fixture(scope="session")
def reported(featured: Workspace, tmp_path_factory: pytest.TempPathFactory) -> ReportedArea:
    """A trained, audited and promoted model with its reports (read only)."""
    root = tmp_path_factory.mktemp("reported")
    ws = copy_workspace(featured, root / "ws")
    version = train(ws, MODEL).version
    assert version is not None
    errors: dict[str, RiskModelError] = {}
    try:
        build_reports(ws, MODEL, version)
    except RiskModelError as exc:
        errors["no_audit"] = exc
    audit(ws, MODEL, version)
    try:
        promote(ws, MODEL, version)
    except PromotionRefused:
        promote(ws, MODEL, version, force=True, reason="reports tests: the audit is another "
                "room's test")
    build_reports(ws, MODEL)  # the champion
    folder = report_folder(ws, MODEL, version)
    default = root / "default-rule"
    shutil.copytree(folder, default)
    ws.settings_file.write_text(_SETTINGS)
    try:
        build_reports(ws, MODEL, version, overwrite=True)
    except RiskModelError as exc:
        errors["other_rule"] = exc
    kept = _same_files(folder, default)
    audit(ws, MODEL, version)
    build_reports(ws, MODEL, version, overwrite=True)
    return ReportedArea(ws=ws, landing=featured.landing, version=version, folder=folder,
                        default=default, errors=errors, kept_after_refusal=kept)


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)
