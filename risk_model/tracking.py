"""Run tracking: the one place that talks to MLflow.

Every linkage run, training run, audit and scoring run is logged through :func:`start_run`. By
default the store lives in the workspace: a SQLite database at ``<workspace>/mlflow/mlflow.db``
and artifacts under ``<workspace>/mlflow/artifacts``. Setting ``MLFLOW_TRACKING_URI`` points
tracking at any other store (another SQLite file, PostgreSQL, a tracking server).

Each run talks to MLflow through an :class:`mlflow.MlflowClient` bound to the workspace's URI,
never through MLflow's process-wide "active run" state, so two workspaces used in one process
never mix. Every run is tagged with the ``risk_model`` version and, when the code runs from a
git checkout, the commit (and whether the checkout had uncommitted changes).

This module logs exactly what it is given. Callers pass only pseudonymised or aggregate data:
settings, counts, metrics, reports and figures, never names, NHS numbers, addresses, dates of
birth or any other identifier.

MLflow is imported inside the functions, so importing this module (and ``risk-model --help``)
stays fast. Creating a fresh SQLite store runs MLflow's database migrations, which takes a few
seconds the first time a workspace is tracked; later runs open the existing store quickly.

Examples
--------
>>> from risk_model.config import Workspace
>>> from risk_model.tracking import start_run
>>> ws = Workspace.at("workspace")  # doctest: +SKIP
>>> with start_run(ws, "linkage", run_name="2026-11") as run:  # doctest: +SKIP
...     run.log_params({"blocking": {"rules": 3}, "threshold": 0.9})
...     run.log_metrics({"match_rate": 0.97, "pairs": {"scored": 120_000}})
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import risk_model
from risk_model.errors import ConfigError, WorkspaceError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from risk_model.config import Workspace

__all__ = [
    "TRACKING_URI_ENV",
    "TrackedRun",
    "alias_version",
    "load_pyfunc",
    "model_versions",
    "open_run",
    "read_artifact",
    "read_model_artifact",
    "run_metrics",
    "run_record",
    "runs",
    "set_alias",
    "set_version_tags",
    "spark_udf",
    "start_run",
    "tracking_uri",
]

logger = logging.getLogger(__name__)

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"

# MLflow's limits (mlflow/utils/validation.py): longer values are refused or silently cut.
_MAX_PARAM_VALUE = 6000
_MAX_TAG_VALUE = 8000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
_TRUNCATED = "...[truncated]"

# Stores whose server chooses where artifacts go; for every other store (SQLite, a database
# reached directly, a file store) the experiment's artifacts are placed in the workspace.
_SERVER_SCHEMES = frozenset({"http", "https", "databricks", "databricks-uc"})

VERSION_TAG = "risk_model.version"
GIT_COMMIT_TAG = "risk_model.git_commit"
GIT_DIRTY_TAG = "risk_model.git_dirty"
ERROR_TAG = "risk_model.error"


def tracking_uri(workspace: Workspace) -> str:
    """Return the MLflow tracking URI of a workspace.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    str
        ``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<workspace>/mlflow/mlflow.db``.
    """
    env = os.environ.get(TRACKING_URI_ENV)
    if env:
        return env
    return f"sqlite:///{(workspace.mlflow / 'mlflow.db').resolve().as_posix()}"


def _artifact_root(workspace: Workspace) -> Path:
    return workspace.mlflow / "artifacts"


def _client(workspace: Workspace) -> MlflowClient:
    from mlflow import MlflowClient

    uri = tracking_uri(workspace)
    if uri.startswith("sqlite:"):
        # SQLite makes the database file but not its folder.
        db = uri.removeprefix("sqlite:///")
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def _experiment_id(client: MlflowClient, workspace: Workspace, name: str, *,
                   create: bool) -> str | None:
    from mlflow.entities import LifecycleStage
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        if not create:
            return None
        scheme = urlparse(tracking_uri(workspace)).scheme
        location = None
        if scheme not in _SERVER_SCHEMES:
            root = _artifact_root(workspace)
            root.mkdir(parents=True, exist_ok=True)
            location = root.resolve().as_uri()
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:
            # Another process may have created it in the meantime.
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == LifecycleStage.DELETED:
        raise WorkspaceError(
            f"MLflow experiment {name!r} was deleted in {tracking_uri(workspace)}",
            hint="restore it (mlflow experiments restore) or delete it permanently "
                 "(mlflow gc)",
        )
    return experiment.experiment_id


@lru_cache(maxsize=1)
def _git_state() -> tuple[str, bool] | None:
    """Return (commit, dirty) of the checkout the package runs from, or None if not one."""
    package = Path(risk_model.__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(package), *args],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()

    try:
        # The package's own files must be tracked: an installed copy inside someone else's
        # checkout (a virtual environment in a repository) is not "running from git".
        git("ls-files", "--error-unmatch", "__init__.py")
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit, dirty


def _code_tags() -> dict[str, str]:
    tags = {VERSION_TAG: risk_model.__version__}
    state = _git_state()
    if state is not None:
        commit, dirty = state
        tags[GIT_COMMIT_TAG] = commit
        tags[GIT_DIRTY_TAG] = str(dirty).lower()
        tags["mlflow.source.git.commit"] = commit  # shown by the MLflow UI
    return tags


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(_TRUNCATED)] + _TRUNCATED


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TrackedRun:
    """A run being logged: the handle :func:`start_run` yields.

    Log only pseudonymised or aggregate data; this class writes what it is given.

    Parameters
    ----------
    client : mlflow.MlflowClient
        A client bound to the workspace's tracking URI.
    run_id : str
        The MLflow run.
    experiment_id : str
        Its experiment.

    Attributes
    ----------
    run_id : str
        The MLflow run id.
    experiment_id : str
        The MLflow experiment id.
    """

    def __init__(self, client: MlflowClient, run_id: str, experiment_id: str) -> None:
        self._client = client
        self.run_id = run_id
        self.experiment_id = experiment_id

    def __repr__(self) -> str:
        return f"TrackedRun(run_id={self.run_id!r}, experiment_id={self.experiment_id!r})"

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters: nested mappings flattened with dots, values as strings.

        A value longer than MLflow's limit (6000 characters) is cut and marked
        ``...[truncated]``; the full flattened parameters are then also saved as the artifact
        ``params.json``. A parameter cannot be logged twice with different values.

        Parameters
        ----------
        params : mapping
            Settings, e.g. ``{"lightgbm": {"num_leaves": 31}}`` becomes
            ``lightgbm.num_leaves = "31"``.
        """
        from mlflow.entities import Param

        flat = {key: str(value) for key, value in _flatten(params).items()}
        cut = [key for key, value in flat.items() if len(value) > _MAX_PARAM_VALUE]
        entities = [Param(key, _cut(value, _MAX_PARAM_VALUE)) for key, value in flat.items()]
        for chunk in _chunks(entities, _PARAMS_PER_BATCH):
            self._client.log_batch(self.run_id, params=chunk, synchronous=True)
        if cut:
            logger.warning("parameters longer than %d characters were truncated: %s "
                           "(full values in params.json)", _MAX_PARAM_VALUE, ", ".join(cut))
            self.log_dict(flat, "params.json")

    def log_metrics(self, metrics: Mapping[str, Any], *, step: int | None = None) -> None:
        """Log metrics: nested mappings flattened with dots, only finite numbers.

        ``None``, NaN and infinite values are skipped (an empty subgroup has no rate, say).

        Parameters
        ----------
        metrics : mapping
            Numbers, e.g. ``{"auc": {"test": 0.81}}`` becomes ``auc.test = 0.81``.
        step : int, optional
            The step (for instance the month index of a scoring series); 0 if not given.

        Raises
        ------
        TypeError
            If a value is neither a number nor ``None`` (strings belong in params or tags).
        """
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entities = []
        for key, value in _flatten(metrics).items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"metric {key!r} must be a number or None, got {type(value).__name__}"
                )
            number = float(value)
            if math.isfinite(number):
                entities.append(Metric(key, number, now, step or 0))
        for chunk in _chunks(entities, _METRICS_PER_BATCH):
            self._client.log_batch(self.run_id, metrics=chunk, synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags: nested mappings flattened with dots, values as strings (up to 8000).

        Parameters
        ----------
        tags : mapping
            Labels for finding the run, e.g. ``{"model": "cold_homes", "as_of": "2026-10-31"}``.
        """
        from mlflow.entities import RunTag

        entities = [RunTag(key, _cut(str(value), _MAX_TAG_VALUE))
                    for key, value in _flatten(tags).items()]
        for chunk in _chunks(entities, _PARAMS_PER_BATCH):
            self._client.log_batch(self.run_id, tags=chunk, synchronous=True)

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        """Save a JSON- or YAML-serialisable object as an artifact.

        Parameters
        ----------
        obj : dict or list
            The object.
        artifact_file : str
            Its path inside the run's artifacts; ``.yaml``/``.yml`` saves YAML, else JSON.
        """
        self._client.log_dict(self.run_id, obj, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Save text (a report, a SQL statement) as an artifact.

        Parameters
        ----------
        text : str
            The text.
        artifact_file : str
            Its path inside the run's artifacts, e.g. ``"reports/linkage.md"``.
        """
        self._client.log_text(self.run_id, text, artifact_file)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a local file, or a whole folder, into the run's artifacts.

        Parameters
        ----------
        path : path-like
            The file or folder.
        artifact_path : str, optional
            The folder inside the run's artifacts; the top level if not given.
        """
        path = Path(path)
        if path.is_dir():
            self._client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_figure(self, fig: Any, artifact_file: str) -> None:
        """Save a matplotlib or plotly figure as an artifact.

        Parameters
        ----------
        fig : matplotlib.figure.Figure or plotly.graph_objects.Figure
            The figure.
        artifact_file : str
            Its path inside the run's artifacts, with the image's extension (``.png``).
        """
        self._client.log_figure(self.run_id, fig, artifact_file)

    def log_datasets(self, frames: Mapping[str, Any], *, targets: str | None = None) -> None:
        """Record the data a run used as MLflow datasets (schema, row count and digest).

        Only the description is stored, never the rows: each frame becomes an
        ``mlflow.data`` pandas dataset whose digest identifies its exact content, logged as an
        input of the run with its context (``train``, ``validation``, ``test``).

        Parameters
        ----------
        frames : mapping of str to pandas.DataFrame
            Context name to frame (features and target; no identifiers).
        targets : str, optional
            The target column.
        """
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag

        inputs = []
        for context, frame in frames.items():
            dataset = mlflow.data.from_pandas(frame, name=context, targets=targets)
            inputs.append(DatasetInput(dataset._to_mlflow_entity(),
                                       tags=[InputTag("mlflow.data.context", context)]))
        self._client.log_inputs(self.run_id, datasets=inputs)

    def log_pyfunc_model(self, python_model: Any, *, artifacts: Mapping[str, str],
                         signature: Any, input_example: Any,
                         registered_model_name: str | None = None) -> dict[str, Any]:
        """Log an MLflow pyfunc model in this run and register it as a new version.

        MLflow's ``log_model`` works on the process's active run, so it is called with this
        run made active and the workspace's tracking and registry URIs set, all restored
        afterwards.

        Parameters
        ----------
        python_model : mlflow.pyfunc.PythonModel
            The model.
        artifacts : mapping of str to str
            Files bundled with it (name to local path).
        signature : mlflow.models.ModelSignature
            Its input and output schema.
        input_example : pandas.DataFrame
            A made-up example input (never a real person's data).
        registered_model_name : str, optional
            Register the model as a new version of this name.

        Returns
        -------
        dict
            ``model_uri`` and ``version`` (a string, or ``None`` if not registered).
        """
        import mlflow

        with _fluent_uris(self._client.tracking_uri, self._client._registry_uri), \
                contextlib.redirect_stdout(sys.stderr), \
                mlflow.start_run(run_id=self.run_id, nested=mlflow.active_run() is not None):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=python_model, artifacts=dict(artifacts),
                signature=signature, input_example=input_example,
                registered_model_name=registered_model_name)
        version = info.registered_model_version
        return {"model_uri": info.model_uri,
                "version": None if version is None else str(version)}


@contextmanager
def _fluent_uris(tracking: str, registry: str) -> Iterator[None]:
    """Point MLflow's process-wide URIs at a store for a block, then put everything back.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI`` (and the registry's), which
    :func:`tracking_uri` reads, so both the module state and the environment are restored.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = (TRACKING_URI_ENV, "MLFLOW_REGISTRY_URI")
    env = {name: os.environ.get(name) for name in names}
    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def start_run(
    workspace: Workspace,
    experiment: str,
    *,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Iterator[TrackedRun]:
    """Start an MLflow run in the workspace's store and end it when the block ends.

    The experiment is created on first use, with its artifacts in
    ``<workspace>/mlflow/artifacts`` (unless a tracking server decides where they go). If the
    block raises, the run ends as ``FAILED`` (``KILLED`` on Ctrl-C), the exception's class is
    tagged as ``risk_model.error`` and the exception propagates.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose store (or ``MLFLOW_TRACKING_URI``) receives the run.
    experiment : str
        The experiment name, e.g. ``"linkage"``, ``"training"``, ``"scoring"``.
    run_name : str, optional
        A readable name; MLflow makes one up if not given.
    tags : mapping, optional
        Extra tags. The ``risk_model`` version and git commit are always added.

    Yields
    ------
    TrackedRun
        The handle to log through.
    """
    client = _client(workspace)
    experiment_id = _experiment_id(client, workspace, experiment, create=True)
    assert experiment_id is not None
    all_tags = {**_code_tags(), **{k: str(v) for k, v in _flatten(tags or {}).items()}}
    all_tags = {key: _cut(value, _MAX_TAG_VALUE) for key, value in all_tags.items()}
    run = client.create_run(experiment_id, run_name=run_name, tags=all_tags)
    handle = TrackedRun(client, run.info.run_id, experiment_id)
    logger.info("MLflow run %s in experiment %r (%s)", handle.run_id, experiment,
                tracking_uri(workspace))
    try:
        yield handle
    except BaseException as exc:
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        try:
            client.set_tag(handle.run_id, ERROR_TAG, type(exc).__name__, synchronous=True)
            with contextlib.redirect_stdout(sys.stderr):
                client.set_terminated(handle.run_id, status)
        except Exception:  # never hide the error that ended the run
            logger.exception("could not mark MLflow run %s as %s", handle.run_id, status)
        raise
    # with a tracking server MLflow prints "View run at <url>" on stdout; stdout belongs to the
    # CLI's --json output, so the link goes to stderr with the other messages for people
    with contextlib.redirect_stdout(sys.stderr):
        client.set_terminated(handle.run_id, "FINISHED")


def runs(workspace: Workspace, experiment: str, *,
         status: str | None = "FINISHED") -> list[dict[str, Any]]:
    """Return an experiment's runs, oldest first, for reports and tests.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose store (or ``MLFLOW_TRACKING_URI``) is read.
    experiment : str
        The experiment name.
    status : str or None, default "FINISHED"
        Only runs with this status (``"FINISHED"``, ``"FAILED"``, ``"KILLED"``,
        ``"RUNNING"``); ``None`` for all.

    Returns
    -------
    list of dict
        One dict per run with ``run_id``, ``run_name``, ``status``, ``start_time`` and
        ``end_time`` (milliseconds since the epoch), ``artifact_uri``, and the dicts
        ``params``, ``metrics`` (latest values) and ``tags``. Empty if the experiment does not
        exist.
    """
    client = _client(workspace)
    experiment_id = _experiment_id(client, workspace, experiment, create=False)
    if experiment_id is None:
        return []
    query = f"attributes.status = '{status}'" if status else ""
    found: list[dict[str, Any]] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], query, order_by=["attributes.start_time ASC"],
                                  page_token=token)
        found.extend(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time,
                "artifact_uri": run.info.artifact_uri,
                "params": dict(run.data.params),
                "metrics": dict(run.data.metrics),
                "tags": dict(run.data.tags),
            }
            for run in page
        )
        token = page.token
        if not token:
            return found


# ---- the model registry -------------------------------------------------------------------


def model_versions(workspace: Workspace, name: str) -> list[dict[str, Any]]:
    """Return the registered versions of a model, newest first.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose store (or ``MLFLOW_TRACKING_URI``) holds the registry.
    name : str
        The registered model's name.

    Returns
    -------
    list of dict
        ``version``, ``run_id``, ``aliases``, ``tags`` and ``source`` of each version; empty if
        the model is not registered.
    """
    from mlflow.exceptions import MlflowException

    client = _client(workspace)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    found = client.search_model_versions(f"name = '{name}'")
    return sorted(({"version": str(v.version), "run_id": v.run_id,
                    "aliases": sorted(aliases.get(str(v.version), [])),
                    "tags": dict(v.tags or {}), "source": v.source} for v in found),
                  key=lambda v: -int(v["version"]))


def alias_version(workspace: Workspace, name: str, alias: str) -> str | None:
    """Return the version that holds ``alias`` (e.g. ``champion``), or ``None``."""
    for version in model_versions(workspace, name):
        if alias in version["aliases"]:
            return version["version"]
    return None


def set_alias(workspace: Workspace, name: str, alias: str, version: str) -> None:
    """Point ``alias`` at a version (moving it from wherever it was)."""
    _client(workspace).set_registered_model_alias(name, alias, version)


def set_version_tags(workspace: Workspace, name: str, version: str,
                     tags: Mapping[str, Any]) -> None:
    """Set tags on a registered model version (gate results, a forced promotion's reason)."""
    client = _client(workspace)
    for key, value in _flatten(tags).items():
        client.set_model_version_tag(name, version, key, _cut(str(value), _MAX_TAG_VALUE))


def run_metrics(workspace: Workspace, run_id: str) -> dict[str, float]:
    """Return a run's latest metrics."""
    return dict(_client(workspace).get_run(run_id).data.metrics)


def run_record(workspace: Workspace, run_id: str) -> dict[str, Any]:
    """Return what a run recorded, for reports built from tracked data only.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose store (or ``MLFLOW_TRACKING_URI``) is read.
    run_id : str
        The MLflow run.

    Returns
    -------
    dict
        ``run_id``, ``run_name``, ``experiment`` (its name), ``status``, ``start_time`` and
        ``end_time`` (milliseconds since the epoch), and the dicts ``params``, ``metrics``
        (latest values) and ``tags``.

    Raises
    ------
    ConfigError
        If the run does not exist in the workspace's store.
    """
    client = _client(workspace)
    run = _get_run(workspace, client, run_id)
    return {"run_id": run.info.run_id, "run_name": run.info.run_name,
            "experiment": client.get_experiment(run.info.experiment_id).name,
            "status": run.info.status, "start_time": run.info.start_time,
            "end_time": run.info.end_time, "params": dict(run.data.params),
            "metrics": dict(run.data.metrics), "tags": dict(run.data.tags)}


def _download(uri: str | None, client: MlflowClient, run_id: str | None,
              path: str) -> bytes | None:
    """The bytes of one artifact, or ``None`` if it is not there."""
    import tempfile

    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="risk_model-artifact-") as folder, \
            _quiet_downloads():
        try:
            if uri is None:
                assert run_id is not None
                local = client.download_artifacts(run_id, path, folder)
            else:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{uri.rstrip('/')}/{path}", dst_path=folder)
        except (MlflowException, OSError):
            return None
        target = Path(local)
        return target.read_bytes() if target.is_file() else None


@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No artifact progress bars on stderr while a report reads a few small files."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def read_artifact(workspace: Workspace, run_id: str, path: str) -> bytes | None:
    """Return one artifact file of a run (``evaluation.json``, ``audit/audit.json``).

    Parameters
    ----------
    workspace : Workspace
        The workspace whose store (or ``MLFLOW_TRACKING_URI``) is read.
    run_id : str
        The MLflow run.
    path : str
        The file's path inside the run's artifacts.

    Returns
    -------
    bytes or None
        The file's content; ``None`` if the run has no such file.
    """
    return _download(None, _client(workspace), run_id, path)


def read_model_artifact(workspace: Workspace, name: str, version: str,
                        path: str) -> bytes | None:
    """Return one file bundled with a registered model version (``artifacts/features.json``).

    Parameters
    ----------
    workspace : Workspace
        The workspace whose registry (or ``MLFLOW_TRACKING_URI``) holds the model.
    name : str
        The registered model.
    version : str
        Its version.
    path : str
        The file's path inside the logged model.

    Returns
    -------
    bytes or None
        The file's content; ``None`` if the model has no such file.
    """
    from mlflow.exceptions import MlflowException

    client = _client(workspace)
    try:
        location = client.get_model_version_download_uri(name, str(version))
    except MlflowException:
        return None
    return _download(location, client, None, path)


def _get_run(workspace: Workspace, client: MlflowClient, run_id: str) -> Any:
    """The run, or a ConfigError naming it and the store."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        raise ConfigError(f"no MLflow run {run_id} in {tracking_uri(workspace)}",
                          hint="check MLFLOW_TRACKING_URI and the workspace") from exc


def open_run(workspace: Workspace, run_id: str) -> TrackedRun:
    """Return a handle to log more to an existing run (an audit adds to its training run).

    Raises
    ------
    ConfigError
        If the run does not exist in the workspace's store.
    """
    client = _client(workspace)
    run = _get_run(workspace, client, run_id)
    return TrackedRun(client, run_id, run.info.experiment_id)


def load_pyfunc(workspace: Workspace, uri: str) -> Any:
    """Load a logged or registered pyfunc model (``models:/name/3``, ``models:/name@champion``).

    The workspace's store is used for the load only; MLflow's process-wide URIs are put back.
    """
    import mlflow

    client = _client(workspace)
    with _fluent_uris(client.tracking_uri, client._registry_uri):
        return mlflow.pyfunc.load_model(uri)


def spark_udf(workspace: Workspace, spark: Any, uri: str, *,
              result_type: str = "double") -> Any:
    """Return a registered pyfunc model as a Spark UDF (``mlflow.pyfunc.spark_udf``).

    The model is read from the workspace's registry (or ``MLFLOW_TRACKING_URI``) once, on the
    driver, and shipped to the executors by MLflow; they run it in their own Python
    (``env_manager="local"``: the cluster's environment must have risk_model installed).

    Parameters
    ----------
    workspace : Workspace
        The workspace whose registry holds the model.
    spark : pyspark.sql.SparkSession
        The session.
    uri : str
        ``models:/name/3`` or ``models:/name@champion``.
    result_type : str, optional
        The UDF's Spark type.

    Returns
    -------
    pyspark.sql.functions.udf
        Call it on a struct of the model's input columns.
    """
    import mlflow

    client = _client(workspace)
    # MLflow warns that env_manager="local" does not rebuild the training environment: that
    # is the choice here (the cluster runs risk_model's own environment), and the warning would
    # reach stdout, which --json keeps for its one object
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        with _fluent_uris(client.tracking_uri, client._registry_uri), _quiet_downloads():
            return mlflow.pyfunc.spark_udf(spark, uri, result_type=result_type,
                                           env_manager="local")
    finally:
        pyfunc_log.setLevel(level)
