"""``risk-model report``: what the reports hold, where it comes from, and what they never show.

One small area is trained, audited, promoted and reported (the ``reported`` fixture); its
reports are checked against what MLflow, the audit, the catalogue and the warehouse recorded,
for identifiers from the landing zone and for counts the small-number rule hides.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule
from risk_model.errors import ConfigError, DataError, OutputExistsError
from risk_model.features.catalogue import load_catalogue
from risk_model.features.dictionary import dictionary_html
from risk_model.reports import run as report_run
from risk_model.reports.pages import PAGES, render_reports
from risk_model.reports.run import ARTIFACT_PATH, build_reports
from risk_model.tracking import model_versions, read_artifact, run_record
from tests.reports.checks import (
    Identifiers,
    count_problems,
    design_dates,
    identifier_problems,
    json_count_problems,
    load_json,
)
from tests.reports.conftest import MODEL, STRICT, ReportedArea

pytestmark = pytest.mark.slow

FILES = sorted([p["file"] for p in PAGES] + ["index.html", "facts.json",
                                             "transparency-record.json", "data-dictionary.md"])


@pytest.fixture(scope="module")
def identifiers(reported: ReportedArea) -> Identifiers:
    return Identifiers.of(reported.landing, reported.ws.warehouse)


def _text(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


# ---- what is written, and where -----------------------------------------------------------


def test_every_report_is_written_and_logged_to_the_training_run(reported: ReportedArea):
    assert sorted(p.name for p in reported.folder.iterdir()) == FILES
    index = _text(reported.folder, "index.html")
    for page in PAGES:
        assert f'href="{page["file"]}"' in index
    version = next(v for v in model_versions(reported.ws, MODEL)
                   if v["version"] == reported.version)
    assert "risk_model.reports.generated_at" in version["tags"]
    for name in FILES:  # the published folder is what the run holds
        logged = read_artifact(reported.ws, version["run_id"], f"{ARTIFACT_PATH}/{name}")
        assert logged == (reported.folder / name).read_bytes(), name
    assert not list(reported.ws.root.glob(".staging-*"))


def test_the_figures_are_the_tracked_ones(reported: ReportedArea):
    version = next(v for v in model_versions(reported.ws, MODEL)
                   if v["version"] == reported.version)
    metrics = run_record(reported.ws, version["run_id"])["metrics"]
    facts = load_json(reported.folder / "facts.json")
    auroc = facts["performance"]["lightgbm"]["auroc"]
    assert auroc["point"] == round(metrics["test.lightgbm.auroc.point"], 3)
    assert auroc["lower"] == round(metrics["test.lightgbm.auroc.lower"], 3)
    card = _text(reported.folder, "model-card.html")
    assert f"{auroc['point']:.3f} ({auroc['lower']:.3f} to {auroc['upper']:.3f})" in card
    audit = json.loads(read_artifact(reported.ws, version["run_id"], "audit/audit.json") or b"")
    assert facts["fairness"]["passed"] == audit["passed"]
    assert [g["gate"] for g in facts["fairness"]["gates"]] == [g["gate"] for g in audit["gates"]]
    assert (reported.folder / "fairness-audit.html").read_bytes() == read_artifact(
        reported.ws, version["run_id"], "audit/audit.html")
    # the data dictionary is the catalogue's own, not a copy of its logic
    assert _text(reported.folder, "data-dictionary.html") == dictionary_html(load_catalogue())
    # the features are the ones the version was trained on, with their catalogue labels
    catalogue = load_catalogue()
    names = [r["name"] for r in facts["features"]["rows"]]
    assert names and all(html.escape(catalogue.features[n].label) in card for n in names)
    assert "ethnic_group" not in names
    assert facts["features"]["not_model_inputs"][0]["name"] == "ethnic_group"
    assert facts["synthetic"] is True  # the truth folder gave a true-risk scorer


def test_the_data_quality_figures_come_from_the_warehouse(reported: ReportedArea):
    facts = load_json(reported.default / "facts.json")
    with duckdb.connect(str(reported.ws.warehouse), read_only=True) as con:
        read = dict(con.execute("SELECT source, sum(rows_read) FROM ingest_reconciliation "
                                "GROUP BY source").fetchall())
        counts = json.loads(con.execute("SELECT counts FROM linkage_runs").fetchone()[0])
    rule = SuppressionRule()
    from risk_model.disclosure import suppress_count

    shown = {s["source"]: s["rows_read"] for s in facts["data"]["sources"]}
    assert shown == {k: suppress_count(int(v), rule) for k, v in read.items()}
    assert facts["linkage"]["person"]["linked"] == suppress_count(counts["linked"], rule)
    # under the default rule the ingest profiles' completeness and validity are shown ...
    assert any(isinstance(s["completeness"], float) for s in facts["data"]["sources"])
    # ... and under another rule they are not, with a note saying how to record them again
    strict = load_json(reported.folder / "facts.json")
    assert strict["data"]["profiles_follow_another_rule"] is True
    assert all(s["completeness"] is None for s in strict["data"]["sources"])
    assert 'id="stale-profiles"' in _text(reported.folder, "data-quality.html")


@pytest.mark.parametrize(("page", "sections"), [
    ("model-card.html", ["summary", "purpose", "data", "cohort", "outcome", "features",
                         "design", "performance", "calibration", "fairness", "limitations",
                         "retraining", "provenance"]),
    ("transparency-record.html", ["tier-1", "tier-2", "owner", "description",
                                  "decision-making", "tool", "data-specification", "risks"]),
    ("explainer.html", ["what-is-this", "data-we-use", "who-sees-what", "how-help-is-offered",
                        "opt-out", "questions"]),
    ("data-quality.html", ["sources", "address-matching", "linkage"]),
])
def test_each_page_has_its_sections(reported: ReportedArea, page: str, sections: list[str]):
    html = _text(reported.folder, page)
    found = re.findall(r'<section id="([^"]+)"', html)
    assert found == sections


def test_owner_details_come_from_settings_and_the_rest_is_flagged(reported: ReportedArea):
    record = load_json(reported.folder / "transparency-record.json")
    assert record["tier_1"]["organisation"] == "Synthton City Council"
    assert record["tier_1"]["phase"] == "pilot"
    assert "reports.organisation" not in record["to_be_completed"]
    assert "reports.contact_email" in record["to_be_completed"]
    html = _text(reported.folder, "transparency-record.html")
    assert "<code>reports.contact_email</code>" in html
    assert '<mark class="todo">to be completed by the owner</mark>' in html
    # given every detail, nothing is flagged
    facts = load_json(reported.folder / "facts.json")
    facts["owner"] = {**facts["owner"], **{k: "given" for k in facts["owner"]["to_be_completed"]},
                      "to_be_completed": []}
    pages = render_reports(facts, dictionary_html="", dictionary_markdown="", audit_html="")
    for name in ("transparency-record.html", "explainer.html", "index.html"):
        assert "to be completed by the owner" not in pages[name], name


# ---- what the reports never show --------------------------------------------------------


@pytest.mark.parametrize("which", ["folder", "default"])
def test_no_identifier_in_any_report(reported: ReportedArea, identifiers: Identifiers,
                                     which: str):
    folder = getattr(reported, which)
    allowed = design_dates(folder)
    for path in sorted(folder.iterdir()):
        problems = identifier_problems(path.read_text(encoding="utf-8"), identifiers,
                                       allowed_dates=allowed)
        assert not problems, f"{path.name}: {problems[:10]}"


@pytest.mark.parametrize(("which", "rule"), [("folder", STRICT), ("default", SuppressionRule())])
def test_no_unsuppressed_small_count(reported: ReportedArea, which: str, rule: SuppressionRule):
    folder = getattr(reported, which)
    checked = {}
    for path in sorted(folder.glob("*.html")):
        problems, checked[path.name] = count_problems(path.read_text(encoding="utf-8"), rule)
        assert not problems, f"{path.name}: {problems[:10]}"
    # the check saw the counts of every page that shows people
    assert checked["model-card.html"] > 50 and checked["data-quality.html"] > 30
    assert checked["fairness-audit.html"] > 30
    for path in sorted(folder.glob("*.json")):
        problems = json_count_problems(load_json(path), rule)
        assert not problems, f"{path.name}: {problems[:10]}"
    facts = load_json(folder / "facts.json")
    assert facts["suppression"]["threshold"] == rule.threshold
    assert facts["suppression"]["rounding"] == rule.rounding


def test_the_explainer_is_plain_english(reported: ReportedArea):
    html = _text(reported.folder, "explainer.html")
    body = html[html.index('<div id="plain">'):html.index("</div>", html.index('id="plain"'))]
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    text = re.sub(r"https?://\S+", "the website", text)
    sentences = [s for s in re.split(r"(?<=[.!?:])\s+", text) if s and not s.isspace()]
    words = [len(s.split()) for s in sentences]
    assert max(words) <= 25, sentences[words.index(max(words))]
    assert sum(words) / len(words) <= 14
    jargon = ("algorithm", "lightgbm", "shap", "auroc", "pseudonym", "calibrat", "model",
              "uprn", "hhsrs", "epc", "suppress", "cohort", "feature", "linkage", "mlflow")
    lowered = text.lower()
    assert [j for j in jargon if j in lowered] == []


# ---- refusals and all-or-nothing ---------------------------------------------------------


def test_clear_errors_say_how_to_fix(reported: ReportedArea, tmp_path: Path):
    no_audit = reported.errors["no_audit"]
    assert isinstance(no_audit, DataError)
    assert f"risk-model audit {MODEL} {reported.version}" in str(no_audit)
    other_rule = reported.errors["other_rule"]
    assert isinstance(other_rule, DataError)
    assert "another small-number rule" in str(other_rule)
    assert f"risk-model audit {MODEL} {reported.version}" in str(other_rule)
    assert reported.kept_after_refusal  # the refused run left the earlier reports as they were
    with pytest.raises(ConfigError, match=r"has no version '99'.*registered versions: 1"):
        build_reports(reported.ws, MODEL, "99")
    with pytest.raises(ConfigError, match=r"no registered version.*risk-model train"):
        build_reports(Workspace.at(tmp_path / "empty"), MODEL)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build_reports(reported.ws, MODEL, reported.version)


def test_a_failed_run_leaves_the_previous_reports(reported: ReportedArea,
                                                  monkeypatch: pytest.MonkeyPatch):
    before = {p.name: p.read_bytes() for p in reported.folder.iterdir()}
    written: list[str] = []

    class Unreachable:
        def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
            written.extend(p.name for p in Path(path).iterdir())  # every page was rendered
            raise OSError("the MLflow store is unreachable")

    monkeypatch.setattr("risk_model.tracking.open_run", lambda *args: Unreachable())
    with pytest.raises(OSError, match="unreachable"):
        build_reports(reported.ws, MODEL, reported.version, overwrite=True)
    assert sorted(written) == FILES
    assert {p.name: p.read_bytes() for p in reported.folder.iterdir()} == before
    assert not list(reported.ws.root.glob(".staging-*"))
    assert report_run.report_folder(reported.ws, MODEL, reported.version) == reported.folder


def test_unknown_keys_in_the_reports_settings_are_refused(tmp_path: Path):
    ws = Workspace.at(tmp_path / "ws")
    ws.settings_file.write_text("reports:\n  organisation: Synthton\n  owner_email: a@b\n")
    with pytest.raises(ConfigError, match=r"reports\.owner_email: unknown key"):
        ws.settings()
    ws.settings_file.write_text("reports:\n  phase: live\n")
    with pytest.raises(ConfigError, match=r"reports\.phase.*'pre-deployment'"):
        ws.settings()
    ws.settings_file.write_text("reports:\n  retrain_months: 0\n")
    with pytest.raises(ConfigError, match="retrain_months: must be a whole number of months"):
        ws.settings()
    ws.settings_file.write_text("reports:\n  team: Public health intelligence\n")
    assert "team" not in ws.settings().reports.to_be_completed()
    shutil.rmtree(ws.root)
