"""The feature catalogue: declarative feature definitions loaded and validated from ``features/``.

Analysts extend the model's inputs by editing YAML, not Python. Each family file
(``features/housing.yaml``, ``health.yaml``, ...) declares:

- ``views``: named event relations, each a SQL ``SELECT`` over warehouse tables with the column
  that keys it to a person or a home and the column that dates each row. The snapshot code, not
  the view, applies the as-of cut-off, so a view cannot see the future by accident;
- ``coverage``: which people or homes a source can speak about (a social landlord's records
  cover social homes only). Outside its coverage a feature is "not known", never zero;
- ``features``: one entry per feature, with its plain-English label and metadata (sensitivity,
  roles, modifiable, missing-value treatment) and how it is computed: an aggregate of a view over
  a lookback window, or an expression of other features.

Everything is checked on load (:func:`load_catalogue`): unknown keys are refused, every
enumerated value names the allowed ones, windows may only look back, health features are never
shown to a housing officer, and every reference (view, coverage, input) must exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from risk_model.config import project_folder, read_yaml, validated
from risk_model.errors import ConfigError

__all__ = [
    "AGGREGATES",
    "CATALOGUE_ENV",
    "FAMILIES",
    "MISSING",
    "NOT_KNOWN",
    "POPULATION_COLUMNS",
    "REASON_PLACEHOLDERS",
    "ROLES",
    "SENSITIVITIES",
    "TYPES",
    "Catalogue",
    "Coverage",
    "Family",
    "Feature",
    "View",
    "Window",
    "default_catalogue_path",
    "load_catalogue",
    "reason_forms",
]

CATALOGUE_ENV = "RISK_MODEL_FEATURES"

#: The category a feature takes where its source does not cover the person or home.
NOT_KNOWN = "not known"

Family = Literal["housing", "health", "demographic", "area", "household"]
FeatureType = Literal["count", "flag", "number", "days", "category"]
Sensitivity = Literal["housing", "health", "demographic", "protected_characteristic"]
Role = Literal["housing_officer", "analyst", "administrator"]
Missing = Literal["zero", "not_known"]
Aggregate = Literal["count", "exists", "days_since_last", "latest", "max", "min", "sum", "value"]
Key = Literal["person_id", "uprn"]

FAMILIES: tuple[str, ...] = get_args(Family)
TYPES: tuple[str, ...] = get_args(FeatureType)
SENSITIVITIES: tuple[str, ...] = get_args(Sensitivity)
ROLES: tuple[str, ...] = get_args(Role)
MISSING: tuple[str, ...] = get_args(Missing)
AGGREGATES: tuple[str, ...] = get_args(Aggregate)

#: Columns of the ``population`` relation (one row per resident on the date) that views,
#: coverage rules and ``view: population`` features may use. Built by
#: :mod:`risk_model.features.population`.
POPULATION_COLUMNS: dict[str, str] = {
    "person_id": "the person (NHS-number pseudonym)",
    "uprn": "UPRN of their home on the date (null if the address could not be matched)",
    "tenancy_ref": "their social tenancy on the date, if any",
    "home_source": "where the home comes from: 'tenancy' or 'gp_registration'",
    "tenure": "tenure of the home from the gazetteer",
    "classification_code": "AddressBase class of the home from the gazetteer",
    "lsoa_code": "LSOA of the home",
    "ward_code": "ward of the home",
    "imd_decile": "IMD decile of the LSOA (1 = most deprived 10%)",
    "sex": "F or M (null if not known)",
    "ethnic_category": "NHS ethnic category letter (Z = not stated)",
    "birth_year": "year of birth",
    "birth_month": "month of birth",
    "age": "age in whole years on the date, from year and month of birth",
}

#: The placeholders a ``reason`` template may use, and what each stands for.
REASON_PLACEHOLDERS: dict[str, str] = {
    "value": "the person's value, formatted (a count or number as digits, a category as is)",
    "times": "a count as 'once', 'twice', '3 times' (count features only)",
}

_WINDOW = re.compile(r"^(?P<n>\d+) (?P<unit>day|days|month|months|year|years)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNIT_DAYS = {"day": 1, "month": 31, "year": 366}
_OPENING_ONLY = re.compile(r"\[([^\[\]]*)\]")

_UNKNOWN_WINDOW = (
    "window {value!r} is not a lookback window: write '<n> days', '<n> months', '<n> years' "
    "(n at least 1) or 'all'"
)
_FUTURE_WINDOW = (
    "window {value!r} reaches after the as-of date: a feature may only use events dated "
    "before the as-of date; write a lookback such as '12 months' (outcomes belong in models/)"
)


class Window:
    """A lookback window: events dated in ``[cutoff - n unit, cutoff)``, or all before cutoff.

    Parameters
    ----------
    text : str
        ``"12 months"``, ``"3 days"``, ``"5 years"`` or ``"all"``.

    Raises
    ------
    ValueError
        If ``text`` looks forward (``"-3 months"``, ``"+1 year"``, ``"next 12 months"``,
        ``"0 days"``) or is not a window at all.
    """

    def __init__(self, text: str) -> None:
        text = str(text).strip()
        self.text = text
        if text == "all":
            self.n, self.unit = None, None
            return
        match = _WINDOW.match(text)
        if match is None:
            lowered = text.lower()
            if lowered.startswith(("-", "+")) or any(
                    word in lowered for word in ("next", "after", "ahead", "future", "forward")):
                raise ValueError(_FUTURE_WINDOW.format(value=text))
            raise ValueError(_UNKNOWN_WINDOW.format(value=text))
        n = int(match["n"])
        if n < 1:
            raise ValueError(_UNKNOWN_WINDOW.format(value=text))
        self.n, self.unit = n, match["unit"].rstrip("s")

    @property
    def is_all(self) -> bool:
        """True for ``"all"``: every event before the cut-off."""
        return self.n is None

    @property
    def max_days(self) -> int | None:
        """An upper bound on the window's length in days (``None`` for ``"all"``)."""
        return None if self.n is None else self.n * _UNIT_DAYS[self.unit]

    def __repr__(self) -> str:
        return f"Window({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Window) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _window(value: Any) -> Window | None:
    if value is None or isinstance(value, Window):
        return value
    return Window(str(value))


WindowField = Annotated[Any, Field(default=None)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class View(_Strict):
    """A named event relation the features of a family aggregate.

    Parameters
    ----------
    name : str
        Lower-case identifier, unique across the catalogue.
    description : str
        What one row is.
    key : {"person_id", "uprn"}
        The column that ties a row to a person or to a home.
    date : str, optional
        The column that dates each row; rows dated on or after the cut-off are never used.
        Omitted only for views that are already as of the date (they read ``population``).
    id : str, optional
        A column unique per row, to break ties between rows of the same date (``latest``).
    tables : list of str
        Warehouse tables the SQL reads (documented in the data dictionary).
    sql : str
        A ``SELECT`` returning at least ``key``, ``date`` and the columns features use. It may
        read warehouse tables and ``population``; ``$cutoff`` stands for the cut-off date.
    """

    name: str
    description: str
    key: Key
    date: str | None = None
    id: str | None = None
    tables: tuple[str, ...]
    sql: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"view name {value!r} must be lower case letters, digits and _")
        return value

    @model_validator(mode="after")
    def _dated(self) -> View:
        if self.date is None and "$cutoff" not in self.sql and "population" not in self.sql:
            raise ValueError(
                f"view {self.name!r} has no `date` column: give the column that dates each row "
                "so events after the as-of date can be left out")
        return self


class Coverage(_Strict):
    """Which people or homes a source can speak about.

    Parameters
    ----------
    name : str
        Identifier features refer to.
    description : str
        Plain English, e.g. "homes let by a social landlord".
    when : str, optional
        A SQL condition on ``population`` columns.
    view : str, optional
        Covered when the person or home has any row of this view dated before the cut-off.
    """

    name: str
    description: str
    when: str | None = None
    view: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Coverage:
        if (self.when is None) == (self.view is None):
            raise ValueError(f"coverage {self.name!r} needs exactly one of `when` or `view`")
        return self


class Feature(_Strict):
    """One feature: what it means, who may see it and how it is computed.

    Parameters
    ----------
    name : str
        Column name in the snapshot; lower case, unique across the catalogue.
    label : str
        Plain-English label, as it would appear in a reason given to a housing officer.
    description : str
        Longer definition for the data dictionary.
    family : str
        Set from the file the feature is declared in.
    type : {"count", "flag", "number", "days", "category"}
        ``category`` features list their ``categories``; "not known" is added for them.
    sensitivity : {"housing", "health", "demographic", "protected_characteristic"}
        What kind of data it is.
    roles : list of {"housing_officer", "analyst", "administrator"}
        Roles allowed to see the value. Health features may not list ``housing_officer``.
    broad_category : str, optional
        Required for health features: what a role that may not see the feature is shown
        instead (e.g. "a breathing condition made worse by damp or cold homes").
    modifiable : bool
        Whether an intervention could change it (damp, cold, hazards, crowding, repairs).
    remedied_value : optional
        For modifiable features: the value after the intervention (for attributable risk).
    model_input : bool
        False for characteristics kept for fairness audits only (ethnic group).
    missing : {"zero", "not_known"}
        ``zero``: no record within the coverage means none (counts and flags);
        ``not_known``: no value is left missing ("not known" for categories).
    coverage : str, optional
        A coverage rule of the catalogue; outside it the feature is not known.
    view, aggregate, value, where, window : optional
        Computed from a view: ``aggregate`` of ``value`` over the view's rows matching ``where``
        and dated within ``window`` before the cut-off.
    expression, inputs : optional
        Or computed from other features: a SQL expression over the names in ``inputs``.
    categories : list of str, optional
        The values a ``category`` feature takes (the dictionary lists them).
    unit : str, optional
        Unit of a number ("m²", "days", "SAP points").
    reason : str, optional
        How a reason reads when the feature pushes the risk up, in plain English for a housing
        officer: ``"Damp and mould reported {times} in the last year"``. ``{value}`` stands
        for the formatted value and ``{times}`` (counts only) for "once", "twice", "3 times"
        (:data:`REASON_PLACEHOLDERS`). Text in square brackets is said only when the
        sentence opens its reason, not after another member of its ``reason_group``:
        ``"[Damp and mould ]confirmed by investigation {times}"``. Without a reason the
        sentence is ``"<label>: <value>"``.
    reason_group : str, optional
        Features with the same group give one reason: their sentences in catalogue order,
        joined with "; ", ranked by the sum of their contributions (``age`` for age and age
        band, ``damp`` for the damp and mould features, ...).
    """

    name: str
    label: str
    description: str
    family: Family
    type: FeatureType
    sensitivity: Sensitivity
    roles: tuple[Role, ...]
    broad_category: str | None = None
    modifiable: bool
    remedied_value: Any = None
    model_input: bool = True
    missing: Missing
    coverage: str | None = None
    view: str | None = None
    aggregate: Aggregate | None = None
    value: str | None = None
    where: str | None = None
    window: WindowField = None
    expression: str | None = None
    inputs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    unit: str | None = None
    reason: str | None = None
    reason_group: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"feature name {value!r} must be lower case letters, digits and _")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _check_reason(value, info.data.get("type"))
        return value

    @field_validator("reason_group")
    @classmethod
    def _reason_group(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"reason group {value!r} must be lower case letters, digits and _")
        return value

    @field_validator("window", mode="before")
    @classmethod
    def _parse_window(cls, value: Any) -> Window | None:
        return _window(value)

    @field_validator("roles")
    @classmethod
    def _some_role(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"roles must name at least one of {', '.join(ROLES)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Feature:
        where = f"feature {self.name!r}"
        if (self.view is None) == (self.expression is None):
            raise ValueError(f"{where} needs exactly one of `view` (with `aggregate`) or "
                             "`expression` (with `inputs`)")
        if self.view is not None and self.aggregate is None:
            raise ValueError(f"{where}: give an `aggregate`, one of {', '.join(AGGREGATES)}")
        if self.expression is not None and not self.inputs:
            raise ValueError(f"{where}: an `expression` must list the features it uses in "
                             "`inputs`")
        if self.aggregate in ("latest", "max", "min", "sum", "value") and self.value is None:
            raise ValueError(f"{where}: aggregate {self.aggregate!r} needs a `value` "
                             "(a SQL expression over the view's columns)")
        if self.aggregate in ("count", "exists", "days_since_last") and self.value is not None:
            raise ValueError(f"{where}: aggregate {self.aggregate!r} takes no `value`; "
                             "put conditions in `where`")
        if self.sensitivity == "health":
            if "housing_officer" in self.roles:
                raise ValueError(
                    f"{where} is health data and may not be shown to a housing officer: "
                    "remove housing_officer from `roles` and give a `broad_category`")
            if not self.broad_category:
                raise ValueError(f"{where} is health data: give a `broad_category`, what a "
                                 "housing officer is told instead of the diagnosis")
        if self.type == "category" and not self.categories:
            raise ValueError(f"{where} is a category: list its `categories`")
        if self.missing == "zero" and self.type not in ("count", "flag"):
            raise ValueError(f"{where}: missing 'zero' only suits counts and flags; use "
                             f"'not_known' for a {self.type}")
        if self.modifiable and self.sensitivity != "housing":
            raise ValueError(f"{where}: only housing features can be modifiable by a housing "
                             "intervention")
        if self.remedied_value is not None and not self.modifiable:
            raise ValueError(f"{where}: `remedied_value` is only for modifiable features")
        return self

    @property
    def values(self) -> tuple[str, ...]:
        """The categories, with "not known", for a ``category`` feature."""
        if self.type != "category":
            return ()
        return (*self.categories, *(() if NOT_KNOWN in self.categories else (NOT_KNOWN,)))

    def describe_computation(self) -> str:
        """Say in one line how the feature is computed (for the data dictionary)."""
        if self.expression is not None:
            return f"`{self.expression.strip()}` from {', '.join(self.inputs)}"
        parts = [f"{self.aggregate}"]
        if self.value:
            parts.append(f"of `{self.value.strip()}`")
        parts.append(f"over `{self.view}`")
        if self.where:
            parts.append(f"where `{self.where.strip()}`")
        if self.window is not None:
            parts.append("(all history)" if self.window.is_all
                         else f"in the last {self.window.text}")
        return " ".join(parts)


def reason_forms(template: str) -> tuple[str, str]:
    """Split a ``reason`` template into how it reads opening a reason and after another one.

    Parameters
    ----------
    template : str
        A checked ``reason`` template; ``[...]`` marks text said only when it opens.

    Returns
    -------
    (str, str)
        The opening form (bracketed text kept, brackets removed) and the following form
        (bracketed text left out, spaces tidied), both still holding their placeholders.
    """
    opening = _OPENING_ONLY.sub(r"\1", template)
    following = " ".join(_OPENING_ONLY.sub("", template).split())
    return opening, following


def _check_reason(template: str, kind: str | None) -> None:
    """Refuse a ``reason`` template that could not be filled in for this feature."""
    allowed = ", ".join("{" + p + "}" for p in REASON_PLACEHOLDERS)
    if not reason_forms(template)[0].strip():
        raise ValueError("the template is empty: write a sentence, or leave `reason` out")
    if "[" in _OPENING_ONLY.sub("", template) or "]" in _OPENING_ONLY.sub("", template):
        raise ValueError(f"{template!r} has an unmatched or nested square bracket: mark text "
                         "said only when the sentence opens its reason as [like this]")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a template ({exc}): placeholders are {allowed}; "
                         "write a literal brace as {{ or }}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in REASON_PLACEHOLDERS:
            raise ValueError(f"{template!r} uses the unknown placeholder {{{name}}}: the "
                             f"placeholders are {allowed}")
        if spec or conversion:
            raise ValueError(f"{template!r}: write {{{name}}} without a format or conversion; "
                             "the value is formatted for you")
        if name == "times" and kind is not None and kind != "count":
            raise ValueError(f"{template!r} uses {{times}}, which only suits a count; this "
                             f"feature is a {kind}: use {{value}}")


class FamilyFile(_Strict):
    """One ``features/<family>.yaml`` file."""

    family: Family
    title: str
    description: str
    views: tuple[View, ...] = ()
    coverage: tuple[Coverage, ...] = ()
    features: tuple[dict[str, Any], ...]


class Catalogue:
    """Every family, view, coverage rule and feature, checked together.

    Use :func:`load_catalogue` to build one from a folder.

    Parameters
    ----------
    families : iterable of FamilyFile
        The parsed family files.
    features : iterable of Feature
        The features, in catalogue order (family files in :data:`FAMILIES` order).
    source : pathlib.Path, optional
        The folder it was loaded from.
    """

    def __init__(self, families: Iterable[FamilyFile], features: Iterable[Feature],
                 source: Path | None = None) -> None:
        self.families = {f.family: f for f in families}
        self.features: dict[str, Feature] = {}
        self.views: dict[str, View] = {}
        self.coverage: dict[str, Coverage] = {}
        self.source = source
        for fam in self.families.values():
            for view in fam.views:
                if view.name in self.views:
                    raise ConfigError(f"view {view.name!r} is declared twice in the catalogue")
                self.views[view.name] = view
            for cov in fam.coverage:
                if cov.name in self.coverage:
                    raise ConfigError(f"coverage {cov.name!r} is declared twice")
                self.coverage[cov.name] = cov
        for feature in features:
            if feature.name in self.features:
                raise ConfigError(f"feature {feature.name!r} is declared twice in the catalogue",
                                  hint="give each feature its own name")
            if feature.name in POPULATION_COLUMNS and feature.view != "population":
                raise ConfigError(f"feature {feature.name!r} has the name of a population "
                                  "column, which its view's SQL could not tell apart",
                                  hint="choose another name")
            self.features[feature.name] = feature
        self._check_references()
        self.order = self._dependency_order()

    def _check_references(self) -> None:
        views = set(self.views) | {"population"}
        for cov in self.coverage.values():
            if cov.view is not None and cov.view not in views:
                raise ConfigError(f"coverage {cov.name!r} names view {cov.view!r}, which is not "
                                  f"declared; declared views: {', '.join(sorted(self.views))}")
        for f in self.features.values():
            if f.view is not None and f.view not in views:
                raise ConfigError(f"feature {f.name!r} reads view {f.view!r}, which is not "
                                  f"declared; declared views: {', '.join(sorted(views))}")
            if f.coverage is not None and f.coverage not in self.coverage:
                raise ConfigError(
                    f"feature {f.name!r} names coverage {f.coverage!r}, which is not declared; "
                    f"declared: {', '.join(sorted(self.coverage)) or 'none'}")
            for name in f.inputs:
                if name not in self.features:
                    raise ConfigError(f"feature {f.name!r} uses input {name!r}, which is not a "
                                      "feature of the catalogue")
            view = self.views.get(f.view or "")
            if view is not None and view.date is None and f.window is not None:
                raise ConfigError(f"feature {f.name!r} has a window but view {view.name!r} is "
                                  "already as of the date (it has no `date`)")
            if view is not None and view.date is not None and f.aggregate != "value" \
                    and f.window is None:
                raise ConfigError(f"feature {f.name!r} reads dated view {view.name!r}: give a "
                                  "lookback `window` ('12 months', 'all', ...)")
            if f.aggregate == "latest" and (view is None or view.date is None):
                raise ConfigError(f"feature {f.name!r}: 'latest' needs a dated view")
            if f.aggregate == "days_since_last" and (view is None or view.date is None):
                raise ConfigError(f"feature {f.name!r}: 'days_since_last' needs a dated view")

    def _dependency_order(self) -> list[list[str]]:
        """Group expression features into layers so each uses only earlier layers."""
        layers: list[list[str]] = [[n for n, f in self.features.items() if f.view is not None]]
        done = set(layers[0])
        pending = [n for n, f in self.features.items() if f.expression is not None]
        while pending:
            ready = [n for n in pending if set(self.features[n].inputs) <= done]
            if not ready:
                raise ConfigError("features depend on each other in a cycle: "
                                  + ", ".join(sorted(pending)))
            layers.append(ready)
            done.update(ready)
            pending = [n for n in pending if n not in done]
        return layers

    def select(self, names: Iterable[str] | None = None) -> list[Feature]:
        """Return features by name or family name, in catalogue order (all if ``None``).

        Raises
        ------
        ConfigError
            If a name is neither a feature nor a family.
        """
        if names is None:
            return list(self.features.values())
        wanted: set[str] = set()
        for name in names:
            if name in self.features:
                wanted.add(name)
            elif name in FAMILIES:
                wanted.update(n for n, f in self.features.items() if f.family == name)
            else:
                raise ConfigError(f"{name!r} is neither a feature nor a family of the catalogue",
                                  hint=f"families are {', '.join(FAMILIES)}")
        return [f for n, f in self.features.items() if n in wanted]

    def as_dict(self) -> dict[str, Any]:
        """The catalogue as plain data (for MLflow and for bundling with a model)."""
        return {
            "families": {n: {"title": f.title, "description": f.description}
                         for n, f in self.families.items()},
            "views": {n: v.model_dump(mode="json") for n, v in self.views.items()},
            "coverage": {n: c.model_dump(mode="json") for n, c in self.coverage.items()},
            "features": {n: {**f.model_dump(mode="json", exclude={"window"}),
                             "window": None if f.window is None else f.window.text}
                         for n, f in self.features.items()},
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the catalogue's content: changes whenever a definition changes."""
        text = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def default_catalogue_path() -> Path:
    """Return the catalogue folder: ``$RISK_MODEL_FEATURES``, else the project's ``features/``."""
    return project_folder("features", CATALOGUE_ENV)


def load_catalogue(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """Load and validate the feature catalogue.

    Parameters
    ----------
    path : path-like, optional
        The catalogue folder (default :func:`default_catalogue_path`). Every ``*.yaml`` in it
        is one family file.

    Returns
    -------
    Catalogue
        The checked catalogue.

    Raises
    ------
    ConfigError
        Naming the file, the feature and the key, and what is allowed, for the first file with
        a problem.
    """
    folder = Path(path) if path is not None else default_catalogue_path()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError(f"no feature catalogue in {folder}",
                          hint=f"point {CATALOGUE_ENV} at the folder holding features/*.yaml")
    parsed: list[FamilyFile] = []
    features: list[Feature] = []
    for file in files:
        raw = read_yaml(file)
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: expected a mapping with family, title, description, "
                              "views, coverage and features")
        fam = validated(FamilyFile, raw, str(file))
        if file.stem != fam.family:
            raise ConfigError(f"{file}: declares family {fam.family!r}; name the file "
                              f"{fam.family}.yaml")
        parsed.append(fam)
        for entry in fam.features:
            where = f"{file}, feature {entry.get('name')!r}"
            features.append(validated(Feature, {**entry, "family": fam.family}, where))
    order = {f: i for i, f in enumerate(FAMILIES)}
    parsed.sort(key=lambda f: order[f.family])
    features.sort(key=lambda f: order[f.family])
    return Catalogue(parsed, features, source=folder)
