"""The data dictionary: generated from the catalogue and the contracts, never edited by hand."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
import yaml

from risk_model.features.__main__ import main
from risk_model.features.catalogue import Catalogue, load_catalogue
from risk_model.features.dictionary import dictionary_html, dictionary_markdown
from risk_model.ingest.contracts import CONTRACTS

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "data-dictionary.md"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "features")


@pytest.fixture(scope="module")
def markdown(catalogue: Catalogue) -> str:
    return dictionary_markdown(catalogue)


@pytest.fixture(scope="module")
def page(catalogue: Catalogue) -> str:
    return dictionary_html(catalogue)


def test_committed_dictionary_is_generated_from_the_catalogue(markdown):
    assert DOC.read_text(encoding="utf-8") == markdown, (
        "docs/data-dictionary.md is out of date: python -m risk_model.features > "
        "docs/data-dictionary.md")


def test_every_feature_name_and_label_is_in_both_formats(catalogue, markdown, page):
    for feature in catalogue.features.values():
        assert f"| `{feature.name}` |" in markdown
        assert feature.label.replace("|", "\\|") in markdown
        assert f"<td><code>{feature.name}</code></td>" in page
        assert f"<td>{_escaped(feature.label)}</td>" in page


def test_every_source_a_view_uses_is_listed_with_its_holder_and_legal_basis(
        catalogue, markdown, page):
    sources = markdown.split("\n## Sources\n", 1)[1]
    used = {t for v in catalogue.views.values() for t in v.tables if t in CONTRACTS}
    assert used
    rows = {line.split(" | ", 1)[0]: line for line in sources.splitlines()
            if line.startswith("| `")}
    for source in used:
        row = rows[f"| `{source}`"]
        contract = CONTRACTS[source]
        assert f" | {contract.owner} | " in row
        assert contract.legal_basis in row
        assert row.endswith("|") and "| yes: " in row
        assert _escaped(contract.legal_basis) in page


def test_every_contract_is_listed_with_whether_it_is_opt_out_health_data(markdown):
    sources = markdown.split("\n## Sources\n", 1)[1]
    for source, contract in CONTRACTS.items():
        line = next(x for x in sources.splitlines() if x.startswith(f"| `{source}` |"))
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[1:4] == [contract.owner, contract.frequency, contract.purpose]
        assert cells[5] == ("yes" if contract.health else "no")


def test_health_features_show_their_broad_category_and_no_housing_officer(catalogue, markdown):
    for feature in catalogue.features.values():
        if feature.sensitivity != "health":
            continue
        line = next(x for x in markdown.splitlines() if x.startswith(f"| `{feature.name}` |"))
        assert f"| {feature.broad_category} |" in line
        assert "housing_officer" not in line


def test_every_reason_template_and_group_is_shown(catalogue, markdown, page):
    header = next(x for x in markdown.splitlines() if x.startswith("| Feature |"))
    assert header.endswith("| Reason (when it raises the risk) | Reason group |")
    for feature in catalogue.features.values():
        line = next(x for x in markdown.splitlines() if x.startswith(f"| `{feature.name}` |"))
        reason = f"`{feature.reason}`" if feature.reason else ""
        group = f"`{feature.reason_group}`" if feature.reason_group else ""
        assert line.endswith(f"| {reason} | {group} |"), feature.name
        if feature.reason:
            assert f"<code>{_escaped(feature.reason)}</code>" in page


def test_html_is_standalone_and_has_no_script(page):
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert page.count("<table>") == page.count("</table>")


def test_html_escapes_text_from_the_catalogue(tmp_path):
    for file in (ROOT / "features").glob("*.yaml"):
        shutil.copy(file, tmp_path / file.name)
    housing = tmp_path / "housing.yaml"
    raw = yaml.safe_load(housing.read_text(encoding="utf-8"))
    raw["features"][0]["label"] = "Tenure <b>of</b> the home | & more"
    housing.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    catalogue = load_catalogue(tmp_path)

    page = dictionary_html(catalogue)
    assert "Tenure &lt;b&gt;of&lt;/b&gt; the home | &amp; more" in page
    assert "<b>" not in page
    assert "Tenure <b>of</b> the home \\| & more" in dictionary_markdown(catalogue)


def test_module_prints_markdown_or_html(capsys, monkeypatch):
    monkeypatch.setenv("RISK_MODEL_FEATURES", str(ROOT / "features"))
    assert main([]) == 0
    assert capsys.readouterr().out == DOC.read_text(encoding="utf-8")
    assert main(["--html"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def _escaped(text: str) -> str:
    return html.escape(" ".join(text.split()))
