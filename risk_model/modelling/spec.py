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

import calendar
import os
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from risk_model.config import project_folder, read_yaml, validated
from risk_model.errors import ConfigError

__all__ = [
    "FAIRNESS_COLUMNS",
    "MODELS_ENV",
    "Baseline",
    "Bootstrap",
    "Cohort",
    "Dates",
    "Fairness",
    "Gates",
    "LightGBMParams",
    "ModelSpec",
    "Outcome",
    "Priority",
    "add_months",
    "default_models_path",
    "load_spec",
    "load_specs",
    "spec_named",
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


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved ``months`` calendar months on (the last day if the month is short)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


class Dates(_Strict):
    """The temporal design: train on earlier as-of dates, validate later, test last.

    Parameters
    ----------
    train : list of date
        As-of dates whose snapshots train the model.
    validation : date
        Held-out date: half its people stop the boosting early, the other half fit the
        calibration.
    test : date
        The latest date with complete follow-up; metrics are measured on it only.
    """

    train: tuple[date, ...]
    validation: date
    test: date

    @model_validator(mode="after")
    def _ordered(self) -> Dates:
        if not self.train:
            raise ValueError("train must list at least one as-of date")
        if max(self.train) >= self.validation or self.validation >= self.test:
            raise ValueError("dates must run train < validation < test, got train "
                             f"{[d.isoformat() for d in self.train]}, validation "
                             f"{self.validation}, test {self.test}")
        return self


class LightGBMParams(_Strict):
    """The LightGBM settings a spec may set (anything else is refused)."""

    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2, le=4096)
    min_child_samples: int = Field(100, ge=1)
    feature_fraction: float = Field(0.9, gt=0, le=1)
    bagging_fraction: float = Field(0.9, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    max_rounds: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    seed: int = 1


class Baseline(_Strict):
    """The baseline: L2-regularised logistic regression on the same features."""

    C: float = Field(1.0, gt=0)


class Bootstrap(_Strict):
    """Bootstrap intervals of the test metrics."""

    replicates: int = Field(200, ge=20, le=10_000)
    seed: int = 1


class Gates(_Strict):
    """What a version must pass before ``promote`` makes it the champion.

    Parameters
    ----------
    auroc_lower_min : float
        The lower end of the test AUROC's 95% interval must reach this.
    calibration_slope : (float, float)
        The test calibration slope must fall in this range.
    max_auroc_drop_vs_champion : float
        The test AUROC may be at most this much below the current champion's.
    """

    auroc_lower_min: float = Field(0.6, ge=0, le=1)
    calibration_slope: tuple[float, float] = (0.8, 1.2)
    max_auroc_drop_vs_champion: float = Field(0.01, ge=0, le=1)


#: The group columns an audit may use: audit or model features of the catalogue.
FAIRNESS_COLUMNS = ("ethnic_group", "sex", "age_band", "imd_quintile", "core20", "tenure")


class Fairness(_Strict):
    """The fairness audit's groups, reference groups, tolerance and gates.

    Parameters
    ----------
    groups : list of str
        Group dimensions: a catalogue column (``ethnic_group``, ``sex``, ``age_band``,
        ``imd_quintile``, ``core20``, ``tenure``) or two joined by `` x `` for an
        intersection (``ethnic_group x core20``).
    reference : dict of str to str
        The reference group of a dimension (``{"ethnic_group": "White"}``); a dimension not
        named here uses its largest group.
    tolerance : (float, float)
        The range a disparity ratio (group / reference) must stay within.
    gated : list of str
        The metrics whose disparity ratios are gates: ``tpr``, ``fnr``, ``fpr``,
        ``precision`` and ``selection_rate`` (at ``gate_capacity``), ``auroc``, ``brier`` and
        ``observed_to_expected`` (calibration in the large as observed / predicted events).
    gate_capacity : float, optional
        The capacity level the threshold metrics are gated at; default the spec's middle one.
    min_events : int
        A gate judges a group only when it has at least this many people with the outcome
        (a bootstrap over fewer says little, and over none says nothing); fewer are reported
        as too few to judge.
    replicates : int
        Bootstrap replicates of the intervals.
    seed : int
        Bootstrap seed.

    A gate fails when a group's disparity ratio lies outside the tolerance with its whole 95%
    interval (a clear disparity, not noise), for a group whose counts are not suppressed.
    """

    groups: tuple[str, ...] = ("ethnic_group", "sex", "age_band", "imd_quintile",
                               "ethnic_group x core20")
    reference: dict[str, str] = Field(default_factory=dict)
    tolerance: tuple[float, float] = (0.8, 1.25)
    gated: tuple[Literal["tpr", "fnr", "fpr", "precision", "selection_rate", "auroc", "brier",
                         "observed_to_expected"], ...] = ("tpr", "observed_to_expected")
    gate_capacity: float | None = None
    min_events: int = Field(30, ge=1)
    replicates: int = Field(200, ge=20, le=10_000)
    seed: int = 1

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for group in value:
            for column in (c.strip() for c in group.split(" x ")):
                if column not in FAIRNESS_COLUMNS:
                    raise ValueError(f"fairness group {group!r}: {column!r} is not one of "
                                     f"{', '.join(FAIRNESS_COLUMNS)}")
        return tuple(" x ".join(c.strip() for c in g.split(" x ")) for g in value)

    @model_validator(mode="after")
    def _tolerance(self) -> Fairness:
        low, high = self.tolerance
        if not 0 < low < 1 < high:
            raise ValueError(f"tolerance must be (low, high) with 0 < low < 1 < high, got "
                             f"{list(self.tolerance)}")
        unknown = [k for k in self.reference if k not in self.groups]
        if unknown:
            raise ValueError(f"reference names group(s) not in groups: {', '.join(unknown)}")
        return self


class Priority(_Strict):
    """How the monthly lists are ordered.

    Parameters
    ----------
    rank_by : {"risk", "attributable", "blend"}
        The calibrated risk, the housing-attributable risk (what putting the home right might
        change), or a blend of the two.
    blend_weight : float
        For ``blend``: the weight of the attributable risk (``(1 - w) * risk + w *
        attributable``; both are probabilities).
    """

    rank_by: Literal["risk", "attributable", "blend"] = "risk"
    blend_weight: float = Field(0.5, ge=0, le=1)


class ModelSpec(_Strict):
    """One model: who it scores, what it predicts, from what, how it is trained and gated.

    Parameters
    ----------
    name : str
        Lower-case identifier; the file must be ``models/<name>.yaml``; also the registered
        model's name and the MLflow experiment's.
    title : str
        Short title for reports.
    description : str
        What the model is for and who acts on it.
    cohort : Cohort
        Who it scores.
    outcome : Outcome
        What it predicts.
    features : list of str
        Catalogue feature or family names; features marked ``model_input: false`` are left out.
    dates : Dates
        Train, validation and test as-of dates.
    lightgbm : LightGBMParams
        Booster settings.
    baseline : Baseline
        The logistic-regression baseline's settings.
    calibration : {"isotonic", "sigmoid"}
        How raw scores become probabilities, fitted on held-out validation people.
    capacity : list of float
        The shares of the cohort services can act on (0.01 is the top 1%).
    bootstrap : Bootstrap
        Interval settings.
    gates : Gates
        Promotion gates.
    fairness : Fairness
        The fairness audit's groups and gates.
    priority : Priority
        How scoring orders the lists.
    """

    name: str
    title: str
    description: str
    cohort: Cohort
    outcome: Outcome
    features: tuple[str, ...] = ("housing", "health", "demographic", "area", "household")
    dates: Dates | None = None
    lightgbm: LightGBMParams = LightGBMParams()
    baseline: Baseline = Baseline()
    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    capacity: tuple[float, ...] = (0.01, 0.02, 0.05)
    bootstrap: Bootstrap = Bootstrap()
    gates: Gates = Gates()
    fairness: Fairness = Fairness()
    priority: Priority = Priority()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"name {value!r} must be lower case letters, digits and _")
        return value

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for share in value:
            if not 0 < share < 1:
                raise ValueError(f"capacity shares must be between 0 and 1, got {share}")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _gate_capacity(self) -> ModelSpec:
        share = self.fairness.gate_capacity
        if share is not None and share not in self.capacity:
            raise ValueError(f"fairness.gate_capacity {share} is not one of the capacity "
                             f"levels {list(self.capacity)}")
        return self

    def audit_capacity(self) -> float:
        """The capacity level the fairness gates use (default the middle one)."""
        share = self.fairness.gate_capacity
        return share if share is not None else self.capacity[len(self.capacity) // 2]

    @model_validator(mode="after")
    def _no_overlap(self) -> ModelSpec:
        if self.dates is None:
            return self
        months = self.outcome.months
        latest_train = max(self.dates.train)
        if add_months(latest_train, months) > self.dates.validation:
            raise ValueError(
                f"the outcome window of train date {latest_train} ({self.outcome.window}) runs "
                f"past the validation date {self.dates.validation}: move the train dates "
                "earlier so no validation outcome is seen in training")
        if add_months(self.dates.validation, months) > self.dates.test:
            raise ValueError(
                f"the outcome window of validation date {self.dates.validation} runs past the "
                f"test date {self.dates.test}: no person's test outcome may be seen in training")
        return self

    def training_dates(self) -> list[date]:
        """Every as-of date the model needs, in order."""
        if self.dates is None:
            raise ConfigError(f"model {self.name!r} has no `dates`", hint="add train, "
                              f"validation and test dates to models/{self.name}.yaml")
        return sorted({*self.dates.train, self.dates.validation, self.dates.test})


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


def spec_named(name: str) -> ModelSpec:
    """Return the spec of one model from :func:`default_models_path`.

    Raises
    ------
    ConfigError
        If there is no such model, listing the ones there are.
    """
    specs = load_specs()
    if name not in specs:
        raise ConfigError(f"no model called {name!r}",
                          hint=f"the models are {', '.join(specs)} (models/*.yaml)")
    return specs[name]
