"""The workspace: the one place that knows where every input and output lives.

Every command works inside one workspace folder (``--workspace``, default ``./workspace``, or the
``RISK_MODEL_WORKSPACE`` environment variable). This module names its parts so no other module
builds paths by hand, and gives the atomic-publish helper every writer uses so that a run that
fails midway never leaves half-written outputs behind.

A workspace may hold ``settings.yaml``, the settings of that deployment (:class:`Settings`, read
by :meth:`Workspace.settings`); without it, every setting has its default.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from risk_model.errors import ConfigError, OutputExistsError, WorkspaceError

_M = TypeVar("_M", bound=BaseModel)

__all__ = [
    "ACTIONS",
    "PLACEHOLDER",
    "SETTINGS_FILE",
    "WORKSPACE_ENV",
    "Patch",
    "Patches",
    "Reports",
    "Scoring",
    "Settings",
    "SmallNumbers",
    "Workspace",
    "default_workspace_path",
    "demo_key_path",
    "project_folder",
    "read_yaml",
    "validated",
]

WORKSPACE_ENV = "RISK_MODEL_WORKSPACE"
#: The settings file's name inside a workspace.
SETTINGS_FILE = "settings.yaml"


def default_workspace_path() -> Path:
    """Return the workspace path from ``RISK_MODEL_WORKSPACE``, else ``./workspace``.

    Returns
    -------
    pathlib.Path
        The workspace folder (not necessarily existing yet).
    """
    return Path(os.environ.get(WORKSPACE_ENV) or "workspace")


def project_folder(name: str, env: str) -> Path:
    """Return a folder of the project's definitions (``features/``, ``models/``).

    Parameters
    ----------
    name : str
        The folder's name at the top of the repository.
    env : str
        An environment variable that, when set, names the folder instead.

    Returns
    -------
    pathlib.Path
        ``$env`` if set, else the folder next to the installed package (an editable install).
    """
    given = os.environ.get(env)
    return Path(given) if given else Path(__file__).resolve().parents[1] / name


def read_yaml(path: Path) -> Any:
    """Read a YAML definitions file.

    Raises
    ------
    ConfigError
        Naming the file, if it cannot be read or is not valid YAML.
    """
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read it as YAML: {exc}") from None


def validated(model: type[_M], data: Any, where: str) -> _M:
    """Validate definitions read from a file; a problem becomes a :class:`ConfigError`.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The config model (``extra="forbid"``).
    data : object
        What was read.
    where : str
        The file (and entry) named first in the message.

    Returns
    -------
    model
        The validated instance.

    Raises
    ------
    ConfigError
        ``"<where>: <key path>: <problem>"`` for each problem: an unknown key by name, a value
        outside the allowed ones with the allowed ones and the value given.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = f"unknown key {loc.split('.')[-1]!r}"
            elif e["type"] == "literal_error":
                msg = f"{msg}, got {e.get('input')!r}"
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


class SmallNumbers(BaseModel):
    """The ``small_numbers:`` section: how counts are suppressed in every output.

    The defaults are NHS Digital's rule for sub-national HES/ECDS outputs, the same as
    :class:`risk_model.disclosure.SuppressionRule`'s; read the rule through
    :func:`risk_model.disclosure.rule_for`, not from here.

    Parameters
    ----------
    threshold : int, default 8
        Counts above 0 and below this are shown as ``"*"`` (8: 1-7 hidden; 11: 1-10 hidden).
    rounding : int, default 5
        Other counts are rounded to the nearest multiple of this (1 leaves them as they are).
    suppress_zero : bool, default False
        Show a count of 0 as ``"*"`` too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = 8
    rounding: int = 5
    suppress_zero: bool = False

    @field_validator("threshold", "rounding", mode="before")
    @classmethod
    def _whole_at_least_one(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be a whole number of at least 1, got {value!r}")
        return value

    @field_validator("suppress_zero", mode="before")
    @classmethod
    def _true_or_false(cls, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value


#: What an officer can record against a resident in the review app (key: plain English).
ACTIONS: dict[str, str] = {
    "contacted": "Contacted",
    "visit_booked": "Visit booked",
    "referred": "Referred to a service",
    "repair_raised": "Repair raised",
    "declined": "Declined help",
    "not_appropriate": "Not appropriate",
    "unable_to_contact": "Unable to contact",
}


def _positive_whole(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number of at least 0, got {value!r}")
    return value


class Scoring(BaseModel):
    """The ``scoring:`` section: how the monthly run scores, bands, holds back and checks drift.

    Parameters
    ----------
    model : str, default "emergency_admission_12m"
        The model scored when ``--model`` is not given (``models/<model>.yaml``).
    alias : str, default "champion"
        The registry alias of the version used.
    hold_back_days : int, default 90
        A resident with an action recorded in the review app within this many days before the
        month's end is held back from the list (0: nobody is).
    hold_back_actions : list of str
        The actions that hold a resident back (default: all but ``unable_to_contact``).
    bands : dict of str to float
        Risk bands as the top shares of the scored population, highest first; everyone else is
        in ``low``. Default: very high 1%, high 5%, raised 20%.
    reasons : int, default 3
        Reasons given for each listed resident.
    drift_threshold, drift_warn : float, default 0.2 and 0.1
        A population stability index above ``drift_threshold`` is an alert (the list is not to
        be trusted without a look); above ``drift_warn`` it is on the watch list.
    missing_rise : float, default 0.1
        A feature's missing share rising by more than this (absolute) is an alert.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "emergency_admission_12m"
    alias: str = "champion"
    hold_back_days: int = 90
    hold_back_actions: tuple[str, ...] = tuple(a for a in ACTIONS if a != "unable_to_contact")
    bands: dict[str, float] = {"very high": 0.01, "high": 0.05, "raised": 0.20}
    reasons: int = 3
    drift_threshold: float = 0.2
    drift_warn: float = 0.1
    missing_rise: float = 0.1

    _whole = field_validator("hold_back_days", "reasons", mode="before")(
        classmethod(lambda cls, v: _positive_whole(v)))

    @field_validator("hold_back_actions")
    @classmethod
    def _known_actions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [a for a in value if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(map(repr, unknown))}; the actions "
                             f"are {', '.join(ACTIONS)}")
        return value

    @field_validator("bands")
    @classmethod
    def _increasing_shares(cls, value: dict[str, float]) -> dict[str, float]:
        shares = list(value.values())
        if any(not 0 < s <= 1 for s in shares) or shares != sorted(shares) \
                or len(set(shares)) != len(shares):
            raise ValueError("bands must be top shares above 0 and at most 1, increasing from "
                             f"the highest band, got {value!r}")
        if "low" in value:
            raise ValueError("'low' is the band of everyone below the last share; do not list "
                             "it")
        return value

    @model_validator(mode="after")
    def _warn_below_threshold(self) -> Scoring:
        if not 0 < self.drift_warn <= self.drift_threshold:
            raise ValueError(f"drift_warn must be above 0 and at most drift_threshold "
                             f"({self.drift_threshold}), got {self.drift_warn}")
        if not 0 < self.missing_rise <= 1:
            raise ValueError(f"missing_rise must be above 0 and at most 1, got "
                             f"{self.missing_rise}")
        return self


class Patch(BaseModel):
    """One patch: the residents a team works with, and how many it can help a month.

    A resident belongs to the first patch that names their social landlord (``landlords``:
    the landlord's own teams look after its tenants), else the first that names the ward or
    LSOA of their home.

    Parameters
    ----------
    name : str
        The patch's name, as officers know it.
    wards, lsoas : list of str
        Ward and LSOA codes of the area it covers.
    landlords : list of str
        Social landlords whose tenants it looks after, as the tenancy records name them.
    capacity : int, optional
        Residents it can help a month (default: ``patches.default_capacity``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    wards: tuple[str, ...] = ()
    lsoas: tuple[str, ...] = ()
    landlords: tuple[str, ...] = ()
    capacity: int | None = None

    _whole = field_validator("capacity", mode="before")(
        classmethod(lambda cls, v: v if v is None else _positive_whole(v)))

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a patch needs a name")
        return value.strip()


class Patches(BaseModel):
    """The ``patches:`` section: who is on which list, and each list's monthly capacity.

    Parameters
    ----------
    named : list of Patch
        Patches defined by ward, LSOA or landlord.
    others : {"ward", "none"}, default "ward"
        Residents in no named patch: one patch per ward (``ward <code>``), or on no list.
    default_capacity : int, default 25
        The capacity of a patch that gives none, and of each ward patch.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    named: tuple[Patch, ...] = ()
    others: Literal["ward", "none"] = "ward"
    default_capacity: int = 25

    _whole = field_validator("default_capacity", mode="before")(
        classmethod(lambda cls, v: _positive_whole(v)))

    @field_validator("named")
    @classmethod
    def _unique_names(cls, value: tuple[Patch, ...]) -> tuple[Patch, ...]:
        names = [p.name for p in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"patch names must be unique, repeated: {', '.join(repeated)}")
        return value

    def capacity_of(self, patch: Patch | None) -> int:
        """The monthly capacity of a named patch (or of a ward patch for ``None``)."""
        if patch is None or patch.capacity is None:
            return self.default_capacity
        return patch.capacity


#: What an owner's detail reads until it is set in ``settings.yaml`` (``reports:``); the
#: transparency record flags every field that still holds it.
PLACEHOLDER = "to be completed by the owner"


class Reports(BaseModel):
    """The ``reports:`` section: who owns the model and how the public reaches them.

    The model card, the transparency record and the public explainer
    (``risk-model report``) take these details from here; a field left at
    :data:`PLACEHOLDER` is flagged in the record as "to be completed by the owner".

    Parameters
    ----------
    organisation : str
        The organisation accountable for the tool (e.g. a council or an integrated care board).
    team : str
        The team that runs it day to day.
    senior_responsible_owner : str
        The role (not a person's name) accountable for the tool.
    contact_email : str
        Where questions about the tool go.
    public_contact : str
        How a member of the public asks a question, in plain words (an address, phone number
        or web form).
    website : str
        Where the transparency record and the explainer are published.
    local_opt_out : str
        How a resident asks the organisation not to use their housing records.
    national_opt_out_url : str
        Where the NHS national data opt-out is explained and set.
    supplier : str
        Who built the tool, if anyone outside the organisation did.
    impact_assessments : str
        The data protection impact assessment and equality impact assessment: name, date and
        where to read them.
    phase : {"pre-deployment", "pilot", "production", "retired"}
        The tool's phase, in the Algorithmic Transparency Recording Standard's terms.
    retrain_months : int, default 12
        Retrain at least this often; the model card says by when.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: str = PLACEHOLDER
    team: str = PLACEHOLDER
    senior_responsible_owner: str = PLACEHOLDER
    contact_email: str = PLACEHOLDER
    public_contact: str = PLACEHOLDER
    website: str = PLACEHOLDER
    local_opt_out: str = PLACEHOLDER
    national_opt_out_url: str = "https://www.nhs.uk/your-nhs-data-matters/"
    supplier: str = "none: built and run in-house with the open-source risk_model package"
    impact_assessments: str = PLACEHOLDER
    phase: Literal["pre-deployment", "pilot", "production", "retired"] = "pre-deployment"
    retrain_months: int = 12

    @field_validator("organisation", "team", "senior_responsible_owner", "contact_email",
                     "public_contact", "website", "local_opt_out", "national_opt_out_url",
                     "supplier", "impact_assessments", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be some text, got {value!r}")
        return value.strip()

    @field_validator("retrain_months", mode="before")
    @classmethod
    def _months(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
            raise ValueError(f"must be a whole number of months from 1 to 60, got {value!r}")
        return value

    def to_be_completed(self) -> list[str]:
        """The fields still holding :data:`PLACEHOLDER`, for the record to flag."""
        return [name for name, value in self if value == PLACEHOLDER]


#: The engines the heavy steps (``link``, ``features``, ``score``) can run on.
ENGINES = ("duckdb", "spark")


class Engine(BaseModel):
    """Which engine runs ``link``, ``features`` and ``score``, and where Spark's data live.

    ``--engine`` on those commands overrides ``name``. With Spark (``pip install
    "risk_model[spark]"``) the warehouse is a folder of tables, one Parquet (or Delta) folder
    per table, instead of the DuckDB file; see ``docs/spark.md``.

    Parameters
    ----------
    name : {"duckdb", "spark"}
        The engine (default ``duckdb``: the embedded warehouse).
    master : str, optional
        Spark master, such as ``local[2]``; leave it out under ``spark-submit`` (which sets it).
    tables : str, optional
        Where the input tables are read: a path or URI (``s3a://``, ``abfss://``, ``hdfs://``)
        holding one folder per warehouse table. Default: ``<workspace>/lake``.
    outputs : str, optional
        Where the steps write their tables (and read them back: ``person_homes``,
        ``feature_snapshots``, ``scores``...). Default: the same as ``tables``.
    format : {"parquet", "delta"}
        The format of the input tables (Delta needs the delta-spark package on the cluster);
        the steps write Parquet.
    conf : dict of str to str
        Extra Spark configuration (``spark.sql.shuffle.partitions: "8"``).

    Examples
    --------
    >>> Engine.model_validate({"name": "spark", "master": "local[2]"}).name
    'spark'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["duckdb", "spark"] = "duckdb"
    master: str | None = None
    tables: str | None = None
    outputs: str | None = None
    format: Literal["parquet", "delta"] = "parquet"
    conf: dict[str, str] = {}

    @field_validator("conf", mode="before")
    @classmethod
    def _conf_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in value.items()}
        return value


class Settings(BaseModel):
    """A workspace's settings (``<workspace>/settings.yaml``); each section is optional.

    Parameters
    ----------
    small_numbers : SmallNumbers, optional
        Small-number suppression in every output (default: NHS Digital's rule).
    scoring : Scoring, optional
        The monthly scoring run (model, bands, hold-back, drift limits).
    patches : Patches, optional
        The patches lists are made for, and their capacity.
    reports : Reports, optional
        The owner and contact details the public reports name (``risk-model report``).
    engine : Engine, optional
        The engine of ``link``, ``features`` and ``score`` (DuckDB, or Spark and its tables).

    Examples
    --------
    >>> Settings.model_validate({"small_numbers": {"threshold": 11}}).small_numbers.threshold
    11
    >>> Settings().small_numbers.threshold
    8
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    small_numbers: SmallNumbers = SmallNumbers()
    scoring: Scoring = Scoring()
    patches: Patches = Patches()
    reports: Reports = Reports()
    engine: Engine = Engine()

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_mean_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


#: What each section of the settings file may hold, for the hint of a bad file.
_SETTINGS_KEYS = "; ".join(
    f"{name}: {', '.join(field.annotation.model_fields)}"  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
)


def demo_key_path() -> Path:
    """Return where the demo keeps its pseudonymisation key: outside any workspace.

    ``$XDG_CONFIG_HOME/risk_model/demo-pseudonym.key`` (default ``~/.config``). Only the demo
    uses it; a real deployment sets ``RISK_MODEL_PSEUDONYM_KEY`` or passes ``--key-file``.

    Returns
    -------
    pathlib.Path
        The key file's path (not necessarily existing yet).
    """
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "risk_model" / "demo-pseudonym.key"


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and the named places inside it.

    Parameters
    ----------
    root : pathlib.Path
        The workspace folder.
    """

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None = None) -> Workspace:
        """Open the workspace at ``root`` (or the default), creating the folder if needed.

        Parameters
        ----------
        root : path-like, optional
            The workspace folder; ``None`` means :func:`default_workspace_path`.

        Returns
        -------
        Workspace
            The workspace.

        Raises
        ------
        WorkspaceError
            If ``root`` exists and is not a folder, or cannot be created.
        """
        path = Path(root) if root is not None else default_workspace_path()
        path = path.expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise WorkspaceError(
                f"workspace {path} exists but is not a folder",
                hint="pass --workspace with a folder path, or remove that file",
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create workspace folder {path}: {exc.strerror}",
                hint="choose a writable location with --workspace or RISK_MODEL_WORKSPACE",
            ) from exc
        return cls(path)

    @property
    def settings_file(self) -> Path:
        """The workspace's settings (optional): ``settings.yaml``."""
        return self.root / SETTINGS_FILE

    def settings(self) -> Settings:
        """Read the workspace's settings, validated; defaults when there is no settings file.

        The file is read at each call, so a changed file takes effect at the next step.

        Returns
        -------
        Settings
            The settings.

        Raises
        ------
        ConfigError
            Naming the file and the key, if the file is not valid YAML, is not a mapping of
            sections, or holds an unknown key or a value that is not allowed.

        Examples
        --------
        >>> import tempfile
        >>> ws = Workspace.at(tempfile.mkdtemp())
        >>> ws.settings().small_numbers.threshold
        8
        >>> _ = ws.settings_file.write_text("small_numbers: {threshold: 11}")
        >>> ws.settings().small_numbers.threshold
        11
        """
        path = self.settings_file
        if not path.exists():
            return Settings()
        data = read_yaml(path)
        if data is None:  # an empty file
            return Settings()
        hint = f"the file takes these sections and keys: {_SETTINGS_KEYS} (see README.md)"
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path}: must be a mapping of sections, got {type(data).__name__}", hint=hint
            )
        try:
            return validated(Settings, data, str(path))
        except ConfigError as exc:
            raise ConfigError(exc.message, hint=hint) from None

    @property
    def landing(self) -> Path:
        """Raw extracts as the data owners supply them (immutable, identifiable)."""
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        """Ground truth of a synthetic population: read only by evaluation and tests."""
        return self.root / "truth"

    @property
    def quarantine(self) -> Path:
        """Rows refused by the data contracts, with their reasons."""
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        """The pseudonymised, validated warehouse (DuckDB file)."""
        return self.root / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        """Human-readable reports (data quality, linkage, model cards, audits)."""
        return self.root / "reports"

    @property
    def lists(self) -> Path:
        """Monthly prioritised lists per patch."""
        return self.root / "lists"

    @property
    def mlflow(self) -> Path:
        """The MLflow store: ``mlflow.db`` (SQLite) and ``artifacts/`` (see ``tracking``)."""
        return self.root / "mlflow"

    def check_can_write(self, targets: list[Path], *, overwrite: bool, step: str) -> None:
        """Refuse to go on if any target already holds outputs, unless ``overwrite``.

        Parameters
        ----------
        targets : list of pathlib.Path
            Files or folders the step is about to write.
        overwrite : bool
            Whether the user asked to replace existing outputs.
        step : str
            The command name, used in the message.

        Raises
        ------
        OutputExistsError
            If a target exists (a non-empty folder or any file) and ``overwrite`` is false.
        """
        if overwrite:
            return
        existing = [t for t in targets if _has_content(t)]
        if existing:
            names = ", ".join(str(t) for t in existing)
            raise OutputExistsError(
                f"{step} would overwrite existing outputs: {names}",
                hint="pass --overwrite to replace them, or use another --workspace",
            )

    @contextmanager
    def staging(self, step: str) -> Iterator[Path]:
        """Give a private staging folder inside the workspace, removed afterwards.

        Writers build their outputs in the staging folder and then call :meth:`publish`; if the
        step fails, the staging folder is deleted and the workspace is as it was.

        Parameters
        ----------
        step : str
            The step name, used in the folder name.

        Yields
        ------
        pathlib.Path
            An empty folder on the same file system as the workspace.
        """
        stage = self.root / f".staging-{step}-{uuid.uuid4().hex[:8]}"
        stage.mkdir(parents=True)
        try:
            yield stage
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def publish(self, staged: Path, target: Path) -> None:
        """Move a finished staged folder into place, replacing ``target`` if it exists.

        The old target is first renamed aside and only deleted once the new one is in place, so
        at every instant the workspace holds either the old complete output or the new one.

        Parameters
        ----------
        staged : pathlib.Path
            A complete folder built inside :meth:`staging`.
        target : pathlib.Path
            Where it belongs in the workspace.
        """
        aside = None
        if target.exists():
            aside = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
            target.rename(aside)
        staged.rename(target)
        if aside is not None:
            if aside.is_dir():
                shutil.rmtree(aside, ignore_errors=True)
            else:
                aside.unlink(missing_ok=True)


def _has_content(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()
