"""The catalogue loads, every entry is complete, and bad definitions are refused on load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from risk_model.errors import ConfigError
from risk_model.features.catalogue import (
    FAMILIES,
    ROLES,
    Window,
    default_catalogue_path,
    load_catalogue,
    reason_forms,
)

# what the issue asks the catalogue to hold at least
REQUIRED = [
    "tenure", "hazard_damp_mould", "hazard_excess_cold", "hazard_falls_on_stairs",
    "hazard_falls_on_level", "hazard_crowding", "category_1_hazards", "damp_reports_12m",
    "damp_confirmed_12m", "damp_work_orders_open", "days_since_damp_report", "epc_band",
    "sap_score", "main_heating", "property_type", "building_age", "floor_area_per_person",
    "overcrowded", "asthma", "copd", "cvd", "diabetes", "dementia", "smi", "frailty",
    "emergency_admissions_3m", "emergency_admissions_12m", "emergency_admissions_24m",
    "ae_attendances_3m", "ae_attendances_12m", "ae_attendances_24m",
    "respiratory_admissions_24m", "fall_admissions_24m", "days_since_emergency_admission",
    "age_band", "sex", "imd_decile", "core20", "household_size", "children_in_home",
    "living_alone_65_plus",
]


def test_every_entry_loads_with_a_label_and_its_metadata() -> None:
    catalogue = load_catalogue()
    assert {f.family for f in catalogue.features.values()} == set(FAMILIES)
    for name in REQUIRED:
        assert name in catalogue.features, name
    for f in catalogue.features.values():
        assert f.label.strip() and f.description.strip(), f.name
        assert set(f.roles) <= set(ROLES) and f.roles, f.name
        if f.view is not None and f.view != "population":
            view = catalogue.views[f.view]
            assert view.tables, view.name
            assert view.date is None or f.window is not None, f.name


def test_health_features_are_never_shown_to_housing_officers() -> None:
    for f in load_catalogue().features.values():
        if f.sensitivity == "health":
            assert "housing_officer" not in f.roles and f.broad_category, f.name


def test_modifiable_features_are_housing_and_ethnicity_is_audit_only() -> None:
    features = load_catalogue().features
    assert {n for n, f in features.items() if f.modifiable} >= {
        "hazard_damp_mould", "hazard_excess_cold", "hazard_falls_on_stairs", "damp_reports_12m",
        "damp_work_orders_open", "overcrowded", "epc_band"}
    assert not features["age_band"].modifiable and not features["asthma"].modifiable
    assert features["ethnic_group"].model_input is False


def test_every_model_input_has_a_reason_in_plain_english() -> None:
    for f in load_catalogue().features.values():
        if not f.model_input:
            continue
        assert f.reason and f.reason.strip(), f.name
        for word in ("SHAP", "log-odds", "{label}"):
            assert word not in f.reason, f.name


def test_related_features_share_a_reason_group() -> None:
    features = load_catalogue().features
    groups: dict[str, set[str]] = {}
    for f in features.values():
        if f.reason_group:
            groups.setdefault(f.reason_group, set()).add(f.name)
    assert {"age_years", "age_band"} <= groups["age"]
    assert {"hazard_damp_mould", "damp_reports_12m", "damp_confirmed_12m",
            "damp_work_orders_open", "days_since_damp_report"} <= groups["damp"]
    assert {"hazard_falls_on_stairs", "hazard_falls_on_level"} <= groups["falls"]
    assert {f"emergency_admissions_{w}" for w in ("3m", "12m", "24m")} \
        <= groups["emergency_admissions"]
    assert {f"ae_attendances_{w}" for w in ("3m", "12m", "24m")} <= groups["ae_attendances"]
    assert {"overcrowded", "bedroom_shortfall", "hazard_crowding",
            "floor_area_per_person"} <= groups["overcrowding"]
    assert {"epc_band", "sap_score", "hazard_excess_cold", "main_heating"} <= groups["energy"]


def test_a_reason_template_splits_into_its_opening_and_following_forms() -> None:
    assert reason_forms("[Damp and mould ]confirmed by investigation {times}") == (
        "Damp and mould confirmed by investigation {times}", "confirmed by investigation {times}")
    assert reason_forms("[In the {value} age group]") == ("In the {value} age group", "")
    assert reason_forms("Has asthma") == ("Has asthma", "Has asthma")


def test_the_digest_changes_with_any_definition(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    before = load_catalogue(folder).digest
    _edit(folder, "area", "imd_decile", label="Deprivation decile (IMD 2019)")
    assert load_catalogue(folder).digest != before


@pytest.mark.parametrize("text", ["12 months", "3 days", "5 years", "1 year", "all"])
def test_lookback_windows_parse(text: str) -> None:
    assert Window(text).text == text


@pytest.mark.parametrize("text", ["-3 months", "+12 months", "next 12 months",
                                  "12 months after", "12 months ahead"])
def test_a_window_reaching_past_the_as_of_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="reaches after the as-of date"):
        Window(text)


@pytest.mark.parametrize("text", ["0 days", "twelve months", "12 weeks", ""])
def test_a_window_that_is_not_a_lookback_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a lookback window"):
        Window(text)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "features"
    shutil.copytree(default_catalogue_path(), folder)
    return folder


def _edit(folder: Path, family: str, feature: str, **changes: object) -> None:
    path = folder / f"{family}.yaml"
    data = yaml.safe_load(path.read_text())
    for entry in data["features"]:
        if entry["name"] == feature:
            entry.update(changes)
            for key, value in list(entry.items()):
                if value is None:
                    del entry[key]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("family", "feature", "changes", "message"), [
    ("health", "emergency_admissions_12m", {"window": "-12 months"},
     r"health\.yaml, feature 'emergency_admissions_12m': window: .*reaches after the as-of"),
    ("health", "asthma", {"colour": "red"}, r"feature 'asthma': colour: unknown key 'colour'"),
    ("health", "asthma", {"roles": ["housing_officer", "analyst"]},
     "may not be shown to a housing officer"),
    ("health", "asthma", {"broad_category": None}, "give a `broad_category`"),
    ("housing", "tenure", {"sensitivity": "secret"},
     r"sensitivity: Input should be 'housing', 'health', 'demographic' or "
     r"'protected_characteristic', got 'secret'"),
    ("housing", "tenure", {"type": "text"}, r"type: Input should be 'count', 'flag'"),
    ("housing", "tenure", {"missing": "zero"}, "missing 'zero' only suits counts and flags"),
    ("housing", "damp_reports_12m", {"window": None}, "give a lookback `window`"),
    ("housing", "damp_reports_12m", {"view": "repairs"}, "reads view 'repairs', which is not"),
    ("housing", "damp_reports_12m", {"coverage": "owners"}, "names coverage 'owners'"),
    ("housing", "epc_band", {"aggregate": "newest"}, r"aggregate: Input should be 'count'"),
    ("household", "living_alone_65_plus", {"inputs": ["age_years", "nobody"]},
     "uses input 'nobody'"),
    ("demographic", "age_band", {"modifiable": True}, "only housing features can be modifiable"),
    ("housing", "damp_reports_12m", {"reason": "Damp reported {count} times"},
     r"housing\.yaml, feature 'damp_reports_12m': reason: .*unknown placeholder \{count\}: "
     r"the placeholders are \{value\}, \{times\}"),
    ("housing", "epc_band", {"reason": "Rated {times}"},
     r"housing\.yaml, feature 'epc_band': reason: .*uses \{times\}, which only suits a count; "
     r"this feature is a category: use \{value\}"),
    ("health", "asthma", {"reason": "Has asthma {}"},
     r"health\.yaml, feature 'asthma': reason: .*unknown placeholder \{\}"),
    ("housing", "sap_score", {"reason": "Score {value:.0f}"},
     r"feature 'sap_score': reason: .*without a format or conversion"),
    ("housing", "sap_score", {"reason": "Score {value"}, r"feature 'sap_score': reason: .*not a "
     "template"),
    ("housing", "damp_confirmed_12m", {"reason": "[Damp confirmed {times}"},
     r"feature 'damp_confirmed_12m': reason: .*unmatched or nested square bracket"),
    ("housing", "epc_band", {"reason_group": "Energy!"},
     r"feature 'epc_band': reason_group: reason group 'Energy!' must be lower case"),
])
def test_bad_definitions_are_refused_naming_file_feature_and_fix(
        tmp_path: Path, family: str, feature: str, changes: dict, message: str) -> None:
    folder = _copy(tmp_path)
    _edit(folder, family, feature, **changes)
    with pytest.raises(ConfigError, match=message):
        load_catalogue(folder)


def test_features_depending_on_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder, "housing", "bedroom_shortfall", inputs=["overcrowded"],
          expression="overcrowded")
    _edit(folder, "housing", "overcrowded", inputs=["bedroom_shortfall"],
          expression="bedroom_shortfall > 0")
    with pytest.raises(ConfigError, match="in a cycle: bedroom_shortfall, overcrowded"):
        load_catalogue(folder)


def test_a_feature_declared_twice_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder, "area", "core20", name="imd_decile")
    with pytest.raises(ConfigError, match="'imd_decile' is declared twice"):
        load_catalogue(folder)


def test_a_view_without_a_date_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "health.yaml"
    data = yaml.safe_load(path.read_text())
    del data["views"][0]["date"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match="has no `date` column"):
        load_catalogue(folder)


def test_an_empty_folder_says_where_to_point(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RISK_MODEL_FEATURES"):
        load_catalogue(tmp_path)


def test_select_by_family_and_name() -> None:
    catalogue = load_catalogue()
    area = [f.name for f in catalogue.select(["area"])]
    assert area == ["imd_decile", "imd_quintile", "core20"]
    assert [f.name for f in catalogue.select(["core20", "sex"])] == ["sex", "core20"]
    with pytest.raises(ConfigError, match="neither a feature nor a family"):
        catalogue.select(["wealth"])
