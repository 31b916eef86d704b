"""Model specs load from models/, and a wrong key or value is refused naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from risk_model.errors import ConfigError
from risk_model.features import load_catalogue
from risk_model.modelling import default_models_path, load_spec, load_specs


def test_the_shipped_models_load_and_use_catalogue_views() -> None:
    specs = load_specs()
    assert set(specs) >= {"emergency_admission_12m", "respiratory_admission_12m",
                          "fall_admission_12m_65plus"}
    views = load_catalogue().views
    for spec in specs.values():
        assert spec.outcome.view in views
        assert spec.outcome.months == 12
    assert specs["fall_admission_12m_65plus"].cohort.min_age == 65


def _write(tmp_path: Path, file_name: str = "emergency_admission_12m", **changes: object) -> Path:
    data = yaml.safe_load((default_models_path() / "emergency_admission_12m.yaml").read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = data
        for p in parents:
            target = target[p]
        target[key] = value
    path = tmp_path / f"{file_name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"outcome__colour": "red"}, r"outcome\.colour: unknown key 'colour'"),
    ({"outcome__window": "-12 months"}, "must be a follow-up such as '12 months'"),
    ({"cohort__min_age": 70, "cohort__max_age": 60}, "min_age 70 is above max_age 60"),
    ({"cohort__min_age": 130}, "min_age must be from 0 to 125, got 130"),
    ({"name": "Emergency"}, "must be lower case"),
])
def test_bad_specs_are_refused(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_spec(_write(tmp_path, **changes))


def test_the_file_name_must_match_the_model_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"name the file emergency_admission_12m\.yaml"):
        load_spec(_write(tmp_path, file_name="other"))
