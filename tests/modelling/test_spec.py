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


@pytest.mark.parametrize(("changes", "message"), [
    ({"dates__validation": "2022-09-30"},
     "outcome window of train date 2022-03-31 .* runs past the validation date 2022-09-30"),
    ({"dates__test": "2023-09-30"},
     "no person's test outcome may be seen in training"),
    ({"dates__train": ["2023-06-30"]}, "dates must run train < validation < test"),
    ({"lightgbm__max_depth": 4}, r"lightgbm\.max_depth: unknown key 'max_depth'"),
    ({"lightgbm__learning_rate": 0}, r"lightgbm\.learning_rate: Input should be greater than 0"),
    ({"calibration": "platt"},
     r"calibration: Input should be 'isotonic' or 'sigmoid', got 'platt'"),
    ({"capacity": [0.01, 1.5]}, "capacity shares must be between 0 and 1, got 1.5"),
    ({"gates__colour": "red"}, r"gates\.colour: unknown key 'colour'"),
])
def test_training_settings_are_checked(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_spec(_write(tmp_path, **changes))


def test_the_shipped_dates_keep_every_outcome_window_apart() -> None:
    from risk_model.modelling.spec import add_months

    for spec in load_specs().values():
        dates = spec.dates
        assert dates is not None
        assert add_months(max(dates.train), spec.outcome.months) <= dates.validation
        assert add_months(dates.validation, spec.outcome.months) <= dates.test
