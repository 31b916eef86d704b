"""Model specifications: one validated YAML file per model in ``models/``.

A spec says who the model is for (the cohort), what it predicts (the outcome: which events,
in which window after the as-of date) and, as the modelling issues add them, its features,
training dates, parameters and gates. Unknown keys are refused, so a typo never silently falls
back to a default; values outside the allowed ones are named in the error.

The outcome is the only place in the project that looks **after** the as-of date: its window
starts on the as-of date and is computed by :mod:`risk_model.features.outcomes`, kept apart
from the features.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from risk_model.config import project_folder, read_yaml, validated
from risk_model.errors import ConfigError

__all__ = [
    "MODELS_ENV",
    "Cohort",
    "ModelSpec",
    "Outcome",
    "default_models_path",
    "load_spec",
    "load_specs",
]

MODELS_ENV = "RISK_MODEL_MODELS"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FOLLOW_UP = re.compile(r"^(?P<n>\d+) (?P<unit>month|months|year|years)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cohort(_Strict):
    """Who a model scores: residents on the as-of date, optionally within an age range.

    Parameters
    ----------
    description : str
        Plain English ("residents aged 65 or over").
    min_age, max_age : int, optional
        Inclusive bounds on age in whole years on the as-of date.
    """

    description: str
    min_age: int | None = None
    max_age: int | None = None

    @model_validator(mode="after")
    def _range(self) -> Cohort:
        for name in ("min_age", "max_age"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 125:
                raise ValueError(f"{name} must be from 0 to 125, got {value}")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self


class Outcome(_Strict):
    """What a model predicts: an event of a catalogue view within a window after the as-of date.

    Parameters
    ----------
    label : str
        Plain English ("an emergency admission within 12 months").
    view : str
        A view of the feature catalogue (e.g. ``emergency_admissions``); its ``date`` column
        dates the events.
    where : str, optional
        A SQL condition on the view's columns (e.g. ``respiratory``).
    window : str
        Follow-up from the as-of date: ``"<n> months"`` or ``"<n> years"``.
    """

    label: str
    view: str
    where: str | None = None
    window: str

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        match = _FOLLOW_UP.match(value.strip())
        if match is None or int(match["n"]) < 1:
            raise ValueError(f"window {value!r} must be a follow-up such as '12 months' or "
                             "'1 year'")
        return value.strip()

    @property
    def months(self) -> int:
        """The follow-up in months."""
        match = _FOLLOW_UP.match(self.window)
        assert match is not None
        n = int(match["n"])
        return n * 12 if match["unit"].startswith("year") else n


class ModelSpec(_Strict):
    """One model: its name, cohort and outcome.

    Parameters
    ----------
    name : str
        Lower-case identifier; the file must be ``models/<name>.yaml``.
    title : str
        Short title for reports.
    description : str
        What the model is for and who acts on it.
    cohort : Cohort
        Who it scores.
    outcome : Outcome
        What it predicts.
    """

    name: str
    title: str
    description: str
    cohort: Cohort
    outcome: Outcome

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"name {value!r} must be lower case letters, digits and _")
        return value


def default_models_path() -> Path:
    """Return the model specs folder: ``$RISK_MODEL_MODELS``, else the project's ``models/``."""
    return project_folder("models", MODELS_ENV)


def load_spec(path: str | os.PathLike[str]) -> ModelSpec:
    """Load and validate one model spec.

    Raises
    ------
    ConfigError
        Naming the file and each key that is wrong.
    """
    path = Path(path)
    spec = validated(ModelSpec, read_yaml(path), str(path))
    if spec.name != path.stem:
        raise ConfigError(f"{path}: declares model {spec.name!r}; name the file "
                          f"{spec.name}.yaml")
    return spec


def load_specs(path: str | os.PathLike[str] | None = None) -> dict[str, ModelSpec]:
    """Load every ``*.yaml`` spec in a folder (default :func:`default_models_path`).

    Returns
    -------
    dict of str to ModelSpec
        By name, sorted.
    """
    folder = Path(path) if path is not None else default_models_path()
    specs = [load_spec(p) for p in sorted(folder.glob("*.yaml"))]
    if not specs:
        raise ConfigError(f"no model specs in {folder}",
                          hint=f"point {MODELS_ENV} at the folder holding models/*.yaml")
    return {s.name: s for s in specs}
