"""The ``risk-model`` command line: parse the options, call the library, report what it did.

Every command follows the same conventions, and they are implemented once, here:

- ``--workspace PATH`` names the workspace folder (default ``./workspace``, or the
  ``RISK_MODEL_WORKSPACE`` environment variable); :meth:`risk_model.config.Workspace.at`
  resolves the default.
- Standard output is for machines, standard error for people. With ``--json`` the command
  prints exactly one JSON object on stdout: ``{"ok": true, "command": ..., **summary}`` or
  ``{"ok": false, "command": ..., "error": {"type": ..., "message": ...}}``. Without it, stdout
  stays empty and a readable summary goes to stderr. Progress (a spinner, only when stderr is a
  terminal), log records and error messages always go to stderr.
- ``--overwrite`` lets a command replace outputs it wrote before; without it the library
  refuses with :class:`~risk_model.errors.OutputExistsError`.
- ``--verbose``/``-v`` shows the ``risk_model`` log at DEBUG level (default: warnings only).
- Exit codes: 0 success; 1 a :class:`~risk_model.errors.RiskModelError` (the message is printed
  as ``error: ...``); 2 the command line itself could not be parsed (Typer's usage message, no
  JSON). Any other exception is a bug and propagates with its traceback.

To add a command: give it the shared options through the ``*Option`` aliases below, wrap its
body in ``with _reporting(name, json_output=..., verbose=...) as report:`` and end with
``report.finish(summary)``. A capability the demo should run becomes a ``_DemoStep`` appended to
``_DEMO_STEPS``.

Library modules that pull in pandas and friends are imported inside the commands, so that
``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
import time
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich import box
from rich.console import Console, RenderableType
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from risk_model import __version__
from risk_model.config import WORKSPACE_ENV, Workspace
from risk_model.errors import ConfigError, RiskModelError

if TYPE_CHECKING:
    from risk_model.ingest import PseudonymKey
    from risk_model.synth import SynthConfig

__all__ = ["app", "main"]

log = logging.getLogger(__name__)

app = typer.Typer(
    name="risk-model",
    help="Find the residents whose health is most at risk from their housing.",
    no_args_is_help=True,
    add_completion=False,
    # a traceback must never print local variables: they may hold personal data
    pretty_exceptions_show_locals=False,
)

# --------------------------------------------------------------------------------------------
# Options every command shares
# --------------------------------------------------------------------------------------------

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        help=f"Workspace folder; default: ${WORKSPACE_ENV} if set, else ./workspace.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print exactly one JSON object summarising the run on stdout; messages for "
        "people still go to stderr.",
    ),
]
OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace outputs already in the workspace (without it, existing outputs are "
        "refused).",
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Show the risk_model log at DEBUG level on stderr."),
]

Summary = dict[str, Any]
_M = TypeVar("_M", bound=BaseModel)


class _Report:
    """Where a command reports to: a summary for ``--json``, Rich output on stderr for people."""

    def __init__(self, command: str, *, json_output: bool, console: Console) -> None:
        self.command = command
        self.json_output = json_output
        self.console = console
        self.summary: Summary = {}

    def show(self, *renderables: RenderableType) -> None:
        """Print for people on stderr; nothing in ``--json`` mode.

        Text is not wrapped, so paths stay whole for copying; tables fit the terminal.
        """
        if not self.json_output:
            self.console.print(*renderables, soft_wrap=True)

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Record what the command did; printed as JSON on stdout with ``--json``."""
        self.summary = dict(summary)

    @contextmanager
    def stages(self, step: str) -> Iterator[Callable[[str], None]]:
        """Give a progress callback: a spinner on a terminal, DEBUG log records always."""

        def note(message: str) -> None:
            log.debug("%s: %s", step, message)

        if not self.console.is_terminal:
            yield note
            return
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[step]}[/]: {task.description}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task("starting", step=step, total=None)

            def update(message: str) -> None:
                note(message)
                progress.update(task, description=escape(message))

            yield update


class _CliLogHandler(RichHandler):
    """The handler the CLI puts on the ``risk_model`` logger (a class of its own to find it)."""


@contextmanager
def _reporting(command: str, *, json_output: bool, verbose: bool) -> Iterator[_Report]:
    """Run a command's body under the shared conventions.

    Sets up logging on stderr, turns a :class:`RiskModelError` into ``error: ...`` on stderr and
    exit code 1, and prints the one JSON object on stdout when ``json_output`` is true.
    """
    console = Console(stderr=True, highlight=False)
    package_log = logging.getLogger("risk_model")
    for old in [h for h in package_log.handlers if isinstance(h, _CliLogHandler)]:
        package_log.removeHandler(old)
    handler = _CliLogHandler(console=console, show_path=False, markup=False)
    level = logging.DEBUG if verbose else logging.WARNING
    if not verbose:  # MLflow installs its own INFO handler when imported; it reads this first
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    previous_level = package_log.level
    package_log.setLevel(level)
    package_log.addHandler(handler)
    report = _Report(command, json_output=json_output, console=console)
    try:
        yield report
    except RiskModelError as exc:
        message = str(exc)
        console.print(Text.assemble(("error: ", "bold red"), (message, "red")), soft_wrap=True)
        if json_output:
            _emit(
                {
                    "ok": False,
                    "command": command,
                    "error": {"type": type(exc).__name__, "message": message},
                }
            )
        raise typer.Exit(code=1) from exc
    finally:
        package_log.removeHandler(handler)
        package_log.setLevel(previous_level)
    if json_output:
        _emit({"ok": True, "command": command, **report.summary})


def _emit(payload: Mapping[str, Any]) -> None:
    typer.echo(json.dumps(payload, default=str))


def _validated(
    model: type[_M],
    values: Mapping[str, Any],
    *,
    flags: Mapping[str, str],
    rules: Mapping[str, str] | None = None,
) -> _M:
    """Build a settings model from option values; a bad value becomes a :class:`ConfigError`.

    The message names the option (``flags`` maps field names to options), what is allowed
    (from ``rules``, else from the field's bounds or choices) and the value given.
    """
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            flag = flags.get(field, field or "the options")
            allowed = (rules or {}).get(field) or _allowed_values(model, field)
            if field and allowed:
                problems.append(f"{flag} must be {allowed}, got {error['input']!r}")
            else:
                problems.append(f"{flag}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("; ".join(problems)) from exc


def _allowed_values(model: type[BaseModel], field: str) -> str | None:
    info = model.model_fields.get(field)
    if info is None:
        return None
    if typing.get_origin(info.annotation) is typing.Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(info.annotation))
    bounds = {k: getattr(m, k) for m in info.metadata for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None}
    if "ge" in bounds and "le" in bounds:
        span = f"from {bounds['ge']} to {bounds['le']}"
    else:
        low = (f"{bounds['ge']} or more" if "ge" in bounds
               else f"more than {bounds['gt']}" if "gt" in bounds else None)
        high = (f"{bounds['le']} or less" if "le" in bounds
                else f"less than {bounds['lt']}" if "lt" in bounds else None)
        span = " and ".join(s for s in (low, high) if s)
    if not span:
        return None
    kind = "a whole number" if info.annotation is int else "a number"
    return f"{kind} {span}"


# --------------------------------------------------------------------------------------------
# Steps: what a command does, shared by the command itself and by the demo
# --------------------------------------------------------------------------------------------

# the synth defaults, kept here so --help needs no heavy import; a test checks they match
# risk_model.synth.SynthConfig
_RESIDENTS = 20_000
_START = "2021-04"
_MONTHS = 48
_SEED = 1
_FORMAT = "csv"

_SYNTH_FLAGS = {
    "residents": "--residents",
    "start": "--start",
    "months": "--months",
    "seed": "--seed",
    "format": "--format",
}
_SYNTH_RULES = {"start": "a month written YYYY-MM (month 01 to 12)"}


def _synth_config(
    *, residents: int, start: str, months: int, seed: int, file_format: str
) -> SynthConfig:
    from risk_model.synth import SynthConfig

    values = {"residents": residents, "start": start, "months": months, "seed": seed,
              "format": file_format}
    return _validated(SynthConfig, values, flags=_SYNTH_FLAGS, rules=_SYNTH_RULES)


def _synth_step(
    config: SynthConfig, workspace: Workspace, report: _Report, *, overwrite: bool
) -> Summary:
    from risk_model.synth import generate

    with report.stages("synth") as stage:
        result = generate(config, workspace, overwrite=overwrite, progress=stage)
    summary: Summary = {"start": config.start, **result.to_dict()}
    report.show(
        f"synth: {summary['residents']:,} residents, {summary['months']} months from "
        f"{summary['start']}, seed {summary['seed']}, {summary['format']}, "
        f"{summary['seconds']:.1f} s"
    )
    report.show(_synth_table(summary))
    report.show(
        f"Wrote {len(summary['landing'])} landing files to {escape(str(workspace.landing))} "
        f"and {len(summary['truth'])} ground-truth tables to {escape(str(workspace.truth))}; "
        f"{summary['people']:,} people lived in the area during the period."
    )
    return summary


def _synth_table(summary: Mapping[str, Any]) -> Table:
    table = Table()
    table.add_column("folder")
    table.add_column("file or table")
    table.add_column("rows", justify="right")
    landing, truth = summary["landing"], summary["truth"]
    for i, (name, rows) in enumerate(landing.items()):
        table.add_row("landing", name, f"{rows:,}", end_section=i == len(landing) - 1)
    for name, rows in truth.items():
        table.add_row("truth", name, f"{rows:,}")
    return table


KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="File holding the pseudonymisation key (kept outside the workspace); default: "
        "$RISK_MODEL_PSEUDONYM_KEY.",
        show_default=False,
    ),
]


def _ingest_step(workspace: Workspace, key: PseudonymKey, report: _Report, *,
                 overwrite: bool) -> Summary:
    from risk_model.ingest import ingest

    with report.stages("ingest") as stage:
        result = ingest(workspace, key=key, rebuild=overwrite, progress=stage)
    summary = result.to_dict()
    if not result.files:
        report.show(f"ingest: all {len(result.skipped)} landing files were ingested before; "
                    f"the warehouse is unchanged.")
        return summary
    report.show(
        f"ingest: {summary['rows_read']:,} rows read, {summary['rows_accepted']:,} accepted, "
        f"{summary['rows_quarantined']:,} quarantined, {summary['rows_opted_out']:,} excluded by "
        f"the national data opt-out; {summary['seconds']:.1f} s"
    )
    report.show(_ingest_table(summary))
    report.show(_reconciliation_line(summary))
    report.show(
        f"Warehouse: {escape(summary['warehouse'])}. Quarantined rows and their reasons: "
        f"{escape(summary['quarantine'])}. Data quality: "
        f"{escape(summary['reports']['data_quality_html'])}."
    )
    return summary


def _ingest_table(summary: Mapping[str, Any]) -> Table:
    headers = {"rows_read": "read", "rows_accepted": "accepted",
               "rows_quarantined": "quarantined", "rows_opted_out": "opted out"}
    rows = [[f["file"], *(f"{f[k]:,}" for k in headers)] for f in summary["files"]]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    # numbers are never cut short: the file name gives way if the terminal is narrow
    table.add_column("file", no_wrap=True, overflow="ellipsis")
    for i, title in enumerate(headers.values(), start=1):
        width = max([len(title)] + [len(r[i]) for r in rows])
        table.add_column(title, justify="right", no_wrap=True, min_width=width)
    for row, f in zip(rows, summary["files"], strict=True):
        table.add_row(*row, style=None if f["reconciled"] else "red")
    return table


def _reconciliation_line(summary: Mapping[str, Any]) -> str:
    broken = [f["file"] for f in summary["files"] if not f["reconciled"]]
    if broken:
        return f"[red]Rows do not reconcile in {', '.join(broken)}: please report this bug.[/]"
    return (f"All {len(summary['files'])} files reconcile: rows read = accepted + quarantined + "
            f"excluded by the opt-out.")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"risk-model {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find the residents whose health is most at risk from their housing.

    Every command works in one workspace folder (--workspace, or $RISK_MODEL_WORKSPACE, default
    ./workspace). --json prints one JSON object on stdout; messages for people go to stderr.
    """


@app.command("synth")
def _synth(
    residents: Annotated[
        int, typer.Option(help="People registered with a GP in the area at the start.")
    ] = _RESIDENTS,
    start: Annotated[
        str, typer.Option(metavar="YYYY-MM", help="First month the extracts cover.")
    ] = _START,
    months: Annotated[int, typer.Option(help="Number of months the extracts cover.")] = _MONTHS,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same settings give the same bytes.")
    ] = _SEED,
    file_format: Annotated[
        str, typer.Option("--format", metavar="csv|parquet", help="Landing file format.")
    ] = _FORMAT,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Generate a synthetic area: landing/ extracts shaped like the real sources, and truth/.

    truth/ holds the ground truth, for evaluation and tests only. See docs/synthetic-data.md.
    """
    with _reporting("synth", json_output=json_output, verbose=verbose) as report:
        config = _synth_config(residents=residents, start=start, months=months, seed=seed,
                               file_format=file_format)
        ws = Workspace.at(workspace)
        summary = _synth_step(config, ws, report, overwrite=overwrite)
        report.finish({"workspace": str(ws.root), **summary})


@app.command("ingest")
def _ingest(
    key_file: KeyFileOption = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check landing/ against the data contracts and load it into the warehouse, pseudonymised.

    Bad rows go to quarantine/ with their reasons; every file's rows reconcile. Files ingested
    before are skipped; a later extract adds to the warehouse. --overwrite rebuilds the
    warehouse from the landing files. See docs/data-contracts.md.
    """
    from risk_model.ingest import load_key

    with _reporting("ingest", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        key = load_key(key_file, workspace=ws.root)
        summary = _ingest_step(ws, key, report, overwrite=overwrite)
        report.finish({"workspace": str(ws.root), **summary})


#: ``--engine`` of link, features and score (default: the workspace's ``engine.name`` setting).
EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="duckdb (the embedded warehouse) or spark (pip install "
    "'risk_model\\[spark]'; tables from the settings' engine: section, see docs/spark.md). "
    "Default: the workspace's engine setting, else duckdb.")]


def _link_step(workspace: Workspace, report: _Report, *, overwrite: bool,
               accept: float | None = None, review: float | None = None,
               m_estimation: str | None = None, model: Path | None = None,
               engine: str | None = None) -> Summary:
    from risk_model.linkage.person import LinkageSettings
    from risk_model.linkage.run import link

    given = {"accept_probability": accept, "review_probability": review,
             "m_estimation": m_estimation}
    try:
        settings = LinkageSettings(**{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise ConfigError(str(exc).replace("m_estimation", "--m-estimation"),
                          hint="choose 0 < --review <= --accept < 1 and --m-estimation em or "
                          "nhs_number_links") from exc
    with report.stages("link") as stage:
        result = link(workspace, settings=settings, model=model, overwrite=overwrite,
                      progress=stage, engine=engine)
    summary = result.to_dict()
    counts = summary["counts"]
    report.show(
        f"link: {counts['housing_residents']:,} housing residents, {counts['linked']:,} linked "
        f"({', '.join(f'{k} {v:,}' for k, v in summary['counts_by_method'].items())}), "
        f"{counts['review_queue_pairs']:,} pairs for clerical review; "
        f"{summary['seconds']:.1f} s")
    quality = summary.get("person_linkage")
    if quality:
        report.show(f"Against the synthetic truth: precision {quality['precision']}, "
                    f"recall {quality['recall']}.")
    report.show(f"Report: {escape(summary['reports']['html'])}.")
    return summary


@app.command("link")
def _link(
    workspace: WorkspaceOption = None,
    accept: Annotated[float | None, typer.Option(
        help="Match probability from which a pair is linked (default 0.99).")] = None,
    review: Annotated[float | None, typer.Option(
        help="Match probability from which an unlinked pair goes to clerical review "
        "(default 0.5).")] = None,
    m_estimation: Annotated[str | None, typer.Option(
        help="How the model's m probabilities are estimated: em (expectation maximisation, no "
        "labels; the default) or nhs_number_links (from residents linked by NHS number).")
    ] = None,
    model: Annotated[Path | None, typer.Option(
        help="Reuse a Splink model saved by an earlier run (reports/linkage/<run>-model.json) "
        "instead of estimating it again.")] = None,
    engine: EngineOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Link housing residents to health persons on the pseudonymised warehouse.

    Exact on the NHS-number pseudonym, then a Splink model on pseudonymised names, date of
    birth, sex and home. Writes the link table, the clerical-review queue and each person's
    homes over time, the linkage report (reports/linkage.html) and an MLflow run.
    """
    with _reporting("link", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        summary = _link_step(ws, report, overwrite=overwrite, accept=accept, review=review,
                             m_estimation=m_estimation, model=model, engine=engine)
        report.finish({"workspace": str(ws.root), **summary})


def _as_of_dates(values: list[str]) -> list[_dt.date]:
    dates = []
    for text in values:
        try:
            dates.append(_dt.date.fromisoformat(text))
        except ValueError:
            raise ConfigError(f"--as-of {text!r} is not a date",
                              hint="write it as YYYY-MM-DD, e.g. --as-of 2025-03-31") from None
    return dates


def _features_step(workspace: Workspace, report: _Report, as_of: list[_dt.date], *,
                   overwrite: bool, lag_days: int = 0, engine: str | None = None) -> Summary:
    from risk_model.features.run import build_features

    with report.stages("features") as stage:
        result = build_features(workspace, as_of, lag_days=lag_days, overwrite=overwrite,
                                progress=stage, engine=engine)
    summary = result.to_dict()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for title in ("as of", "people", "features", "most often not known"):
        table.add_column(title, justify="left" if title.startswith("most") else "right")
    for snap in summary["snapshots"]:
        worst = sorted(snap["missing_share"].items(), key=lambda kv: -kv[1])[:3]
        table.add_row(snap["as_of"], f"{snap['rows']:,}", str(snap["features"]),
                      ", ".join(f"{name} {share:.0%}" for name, share in worst))
    report.show(f"features: {len(summary['snapshots'])} snapshot(s) of {summary['features']} "
                f"features; {summary['seconds']:.1f} s")
    report.show(table)
    report.show(_coverage_table(summary["snapshots"][-1]))
    report.show(f"Snapshots: table feature_snapshots in {escape(str(workspace.warehouse))}; "
                f"outcome labels: table outcome_labels. Data dictionary: "
                f"{escape(summary['reports']['dictionary_html'])}.")
    return summary


_COVERAGE_SHOWN = {"epc_band": "EPC", "hazard_damp_mould": "HHSRS survey",
                   "damp_reports_12m": "damp records", "household_size": "household"}


def _coverage_table(snapshot: Mapping[str, Any]) -> Table:
    """Share of residents whose housing features are known, by tenure (unequal by design)."""
    known = snapshot["known_share_by_tenure"]
    shown = {k: v for k, v in _COVERAGE_SHOWN.items() if k in known}
    table = Table(title=f"Housing data known, by tenure, as of {snapshot['as_of']}",
                  box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("tenure")
    table.add_column("residents", justify="right")
    for title in shown.values():
        table.add_column(title, justify="right")
    for tenure, n in snapshot["residents_by_tenure"].items():
        shares = [known[k].get(tenure) for k in shown]
        table.add_row(tenure, f"{n:,}" if isinstance(n, int) else str(n),
                      *(f"{v:.0%}" if isinstance(v, float) else str(v) for v in shares))
    return table


@app.command("features")
def _features(
    as_of: Annotated[list[str], typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="As-of date of a snapshot (repeat for several). Only events dated before it are "
        "used.")],
    lag_days: Annotated[int, typer.Option(
        min=0, help="Recording lag: leave out events from the last N days before each date.")
    ] = 0,
    workspace: WorkspaceOption = None,
    engine: EngineOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Build point-in-time feature snapshots from the catalogue in features/.

    One row per resident per as-of date, in the warehouse table feature_snapshots, with the
    outcome labels of every model in models/ (table outcome_labels). Reports the rows, the
    features and the share of each that is not known; writes the data dictionary.
    """
    with _reporting("features", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        summary = _features_step(ws, report, _as_of_dates(as_of), overwrite=overwrite,
                                 lag_days=lag_days, engine=engine)
        report.finish({"workspace": str(ws.root), **summary})


def _train_step(workspace: Workspace, report: _Report, name: str) -> Summary:
    from risk_model.modelling.run import train

    with report.stages(f"train {name}") as stage:
        result = train(workspace, name, progress=stage)
    summary = result.to_dict()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title=f"{name}, test as of the test date (95% bootstrap intervals)",
                  title_justify="left")
    table.add_column("metric")
    scorers = list(summary["test"])
    for scorer in scorers:
        table.add_column(scorer.replace("_", " "), justify="right")
    metrics = [k for k in summary["test"]["lightgbm"] if k not in ("n", "events")]
    for metric in metrics:
        cells = []
        for scorer in scorers:
            m = summary["test"][scorer][metric]
            cells.append(f"{m['point']:.3f} ({m['lower']:.3f}-{m['upper']:.3f})")
        table.add_row(metric.replace("_", " "), *cells)
    report.show(f"train {name}: {summary['rows']['train']:,} people to train, "
                f"{summary['rows']['validation']:,} to stop early and calibrate, "
                f"{summary['rows']['test']:,} to test; {summary['seconds']:.1f} s")
    report.show(table)
    report.show(f"Registered {name} version {summary['version']} (MLflow run "
                f"{summary['mlflow_run_id']}). Audit it, then promote it: risk-model audit "
                f"{name} {summary['version']} && risk-model promote {name} "
                f"{summary['version']}")
    return summary


@app.command("train")
def _train(
    model: Annotated[str, typer.Argument(help="The model: the name of a models/*.yaml spec.")],
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Train a model, measure it on its test date and register it in MLflow.

    LightGBM and a logistic-regression baseline, trained on the spec's earlier as-of dates,
    stopped early and calibrated on the validation date, tested on the latest date with complete
    follow-up (with the true risk on synthetic data). Missing snapshots are built first.
    """
    with _reporting("train", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        report.finish({"workspace": str(ws.root), **_train_step(ws, report, model)})


@app.command("audit")
def _audit(
    model: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[str | None, typer.Argument(
        help="The registered version to audit (default: the latest).")] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Audit a registered model version for fairness; promote refuses it if a gate fails.

    Scores the version's test cohort with the registered model and measures it by ethnic group,
    sex, age band, deprivation and ethnic group x Core20 (as the spec says): selection rate,
    TPR, FPR, FNR and precision at each capacity level, AUROC, Brier and calibration, with
    bootstrap intervals and ratios to a reference group; and data availability (matched homes,
    linked tenancies, EPCs, assessments, coded conditions) by the same groups. Writes an HTML
    report and a JSON summary under reports/audit/, logs both to the version's MLflow run and
    records each gate on the version.
    """
    from risk_model.modelling.audit import audit

    with _reporting("audit", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        with report.stages(f"audit {model}") as progress:
            result = audit(ws, model, version, progress=progress).to_dict()
        for gate in result["gates"]:
            mark = "[green]passed[/]" if gate["passed"] else "[red]failed[/]"
            report.show(f"  {escape(gate['gate'])}: {mark}")
        for flag in result["availability_flags"]:
            report.show(f"  data availability: {escape(flag['dimension'])} "
                        f"{escape(flag['group'])}: {escape(flag['measure'])} {flag['value']} "
                        f"vs {flag['reference_value']} for {escape(flag['reference'])}")
        verdict = "[green]passed[/]" if result["passed"] else "[red]failed[/]"
        report.show(f"{model} version {result['version']}: fairness audit {verdict}. "
                    f"Report: {result['report']}")
        report.finish({"workspace": str(ws.root), **result})


@app.command("promote")
def _promote(
    model: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[str, typer.Argument(help="The registered version to promote.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Promote even if gates fail (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(
        help="Why the gates are overridden; recorded on the version.")] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Make a model version the champion if it passes its gates.

    The gates come from the model's spec (AUROC lower bound, calibration slope range, no worse
    than the current champion, the fairness audit). The previous champion keeps the alias
    "previous". A refusal lists every failed gate.
    """
    from risk_model.modelling.run import promote

    with _reporting("promote", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        result = promote(ws, model, version, force=force, reason=reason).to_dict()
        for gate in result["gates"]:
            mark = "[green]passed[/]" if gate["passed"] else "[red]failed[/]"
            report.show(f"  {gate['gate']}: {mark}: {escape(gate['detail'])}")
        forced = " (forced: " + escape(result["reason"] or "") + ")" if result["forced"] else ""
        previous = (f"; version {result['previous']} is now 'previous'"
                    if result["previous"] else "")
        report.show(f"{model} version {result['version']} is the champion{forced}{previous}.")
        report.finish({"workspace": str(ws.root), **result})


def _report_step(workspace: Workspace, report: _Report, name: str, version: str | None, *,
                 overwrite: bool) -> Summary:
    from risk_model.reports.run import build_reports

    with report.stages(f"report {name}") as stage:
        result = build_reports(workspace, name, version, overwrite=overwrite,
                               progress=stage).to_dict()
    verdict = "[green]passed[/]" if result["fairness_passed"] else "[red]failed[/]"
    report.show(f"report {name} version {result['version']}: model card, transparency record, "
                f"public explainer, data dictionary, data quality and linkage, fairness audit "
                f"({verdict}); logged to MLflow run {result['mlflow_run_id']}; "
                f"{result['seconds']:.1f} s")
    if result["to_be_completed"]:
        report.show(f"[yellow]{len(result['to_be_completed'])} owner detail(s) are to be "
                    f"completed before publishing: set reports: "
                    f"{escape(', '.join(result['to_be_completed']))} in "
                    f"{escape(str(workspace.settings_file))}.[/]")
    report.show(f"Open {escape(result['index'])}")
    return result


@app.command("report")
def _report(
    model: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[str | None, typer.Argument(
        help="The registered version (default: the champion, else the latest).")] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write a model version's reports, generated from what is tracked, never by hand.

    A model card (TRIPOD+AI items), an algorithmic transparency record (the UK ATRS's two
    tiers), a plain-English explainer for residents, the data dictionary with the latest
    data-quality and linkage figures, and the fairness audit, as standalone HTML with an
    index.html, under reports/<model>/v<version>/ and in the version's MLflow run. Needs the
    version's fairness audit (risk-model audit). Owner and contact details come from the
    reports: section of settings.yaml. Small numbers are suppressed.
    """
    with _reporting("report", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        report.finish({"workspace": str(ws.root),
                       **_report_step(ws, report, model, version, overwrite=overwrite)})


def _score_step(workspace: Workspace, report: _Report, month: str, *, model: str | None,
                overwrite: bool, reasons_for: str = "listed",
                engine: str | None = None) -> Summary:
    from risk_model.scoring.run import score

    with report.stages(f"score {month}") as stage:
        result = score(workspace, month, model=model, overwrite=overwrite,
                       reasons_for=reasons_for, progress=stage, engine=engine).to_dict()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left",
                  title=f"{month}: lists by patch ({result['model']} version "
                        f"{result['version']}, as of {result['as_of']})")
    for column in ("patch", "capacity", "listed", "new", "up", "down", "same", "left",
                   "held back"):
        table.add_column(column, justify="left" if column == "patch" else "right")
    for p in result["patches"]:
        table.add_row(escape(p["patch"]), *(str(p[k]) for k in (
            "capacity", "listed", "new", "up", "down", "same", "left", "held_back")))
    counts = result["counts"]
    report.show(f"score {month}: {counts['scored']:,} residents scored, {counts['listed']:,} "
                f"on {counts['patches']} patch lists; {counts['in_no_patch']:,} in no patch "
                f"(home not known); held back after a recent action: {counts['held_back']}; "
                f"{result['seconds']:.1f} s")
    report.show(table)
    trusted = result["drift"]["trusted"]
    mark = {True: "[green]trusted[/]", False: "[red]check before using[/]"}.get(
        trusted, "[yellow]drift not checked[/]")
    report.show(f"Drift: {mark}: {escape(result['drift']['summary'])}")
    report.show(f"Lists (one Parquet and one CSV per patch): {escape(result['outputs']['lists'])}"
                f"; warehouse tables scores, lists, list_leavers; MLflow run "
                f"{result['mlflow_run_id']}.")
    return result


@app.command("score")
def _score(
    month: Annotated[str, typer.Option(
        "--month", help="The month to score, YYYY-MM (as of its last day).")],
    model: Annotated[str | None, typer.Option(
        "--model", help="NAME or NAME@alias (default: settings' scoring model @champion).")
    ] = None,
    reasons_for: Annotated[str, typer.Option(
        "--reasons-for", help="listed: reasons for the listed residents; everyone: exact "
        "reasons for every resident too (warehouse table resident_reasons).")] = "listed",
    workspace: WorkspaceOption = None,
    engine: EngineOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Score every resident as of a month's end and make each patch's prioritised list.

    Uses the registered version holding the alias (default champion): features as of the
    month's end, calibrated risk, housing-attributable risk, priority, ranks and bands; each
    patch's list up to its capacity, without residents actioned in the review app within the
    hold-back window; plain-English reasons; movement since the previous month; drift against
    the training population. Writes the lists under lists/YYYY-MM/, the warehouse tables and an
    MLflow run, all or nothing.
    """
    with _reporting("score", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        report.finish({"workspace": str(ws.root),
                       **_score_step(ws, report, month, model=model, overwrite=overwrite,
                                     reasons_for=reasons_for, engine=engine)})


# --------------------------------------------------------------------------------------------
# risk-model review: the review app and its administration
# --------------------------------------------------------------------------------------------

review_app = typer.Typer(
    name="review", no_args_is_help=True, pretty_exceptions_show_locals=False,
    help="The review app where housing officers work their lists, and its users.")
app.add_typer(review_app)

#: Where ``add-user`` and ``set-password`` read a password from when no file is given.
PASSWORD_ENV = "RISK_MODEL_REVIEW_PASSWORD"


def _password(password_file: Path | None) -> str:
    """A new password: from a file, ``$RISK_MODEL_REVIEW_PASSWORD`` or a hidden prompt."""
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").strip("\n")
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {password_file}: {exc.strerror}",
                              hint="pass a readable file with --password-file") from None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise ConfigError("no password given",
                          hint=f"pass --password-file PATH or set ${PASSWORD_ENV}")
    return str(typer.prompt("Password (12 characters or more)", hide_input=True,
                            confirmation_prompt=True, err=True))


@review_app.command("serve")
def _review_serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default; put "
                                           "a TLS proxy in front for anything else).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (one per core suits most).")
                       ] = max(1, min(4, os.cpu_count() or 1)),
    workspace: WorkspaceOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve the review app (FastAPI, server-rendered pages) until interrupted."""
    import uvicorn

    with _reporting("review serve", json_output=False, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        os.environ[WORKSPACE_ENV] = str(ws.root)  # the app's factory opens this workspace
        report.show(f"Review app for {escape(str(ws.root))} on http://{host}:{port}/ "
                    "(Ctrl-C to stop)")
        uvicorn.run("risk_model.review.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level="info" if verbose else "warning",
                    proxy_headers=True)


@review_app.command("publish")
def _review_publish(
    month: Annotated[str, typer.Option("--month", help="The scored month, YYYY-MM.")],
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Put a scored month's lists in the review app (score does it; this is to redo it)."""
    from risk_model.review.lists import publish_month

    with _reporting("review publish", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        entries = publish_month(ws, month)
        report.show(f"{month}: {entries:,} list entries in the review app.")
        report.finish({"workspace": str(ws.root), "month": month, "entries": entries})


@review_app.command("add-user")
def _review_add_user(
    username: Annotated[str, typer.Argument(help="Their sign-in name (lower case).")],
    role: Annotated[str, typer.Option(
        help="housing_officer, analyst or administrator.")],
    name: Annotated[str, typer.Option("--name", help="Their name as shown in the app.")],
    password_file: Annotated[Path | None, typer.Option(
        help=f"A file holding their first password (else ${PASSWORD_ENV}, else a prompt).")
    ] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Add a user of the review app (officers then need patches: set-patch)."""
    from risk_model.review.admin import add_user

    with _reporting("review add-user", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        user = add_user(ws, username, role, display_name=name,
                        password=_password(password_file))
        report.show(f"Added {escape(user.username)} ({user.role}).")
        report.finish({"workspace": str(ws.root), "user": user.username, "role": user.role})


@review_app.command("set-patch")
def _review_set_patch(
    username: Annotated[str, typer.Argument(help="The housing officer.")],
    patches: Annotated[list[str], typer.Argument(help="The patches they work (replacing any "
                                                      "they had), as the lists name them.")],
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Set the patches a housing officer works."""
    from risk_model.review.admin import set_patches

    with _reporting("review set-patch", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        given = set_patches(ws, username, patches)
        report.show(f"{escape(username)} works: {escape(', '.join(given))}.")
        report.finish({"workspace": str(ws.root), "user": username, "patches": list(given)})


@review_app.command("set-capacity")
def _review_set_capacity(
    patch: Annotated[str, typer.Argument(help="The patch, as the lists name it.")],
    capacity: Annotated[int | None, typer.Argument(
        help="Residents its list holds a month; leave out with --clear.")] = None,
    clear: Annotated[bool, typer.Option(
        "--clear", help="Go back to the capacity in settings.yaml.")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Set a patch's monthly capacity (the next scoring run uses it, over settings.yaml)."""
    from risk_model.review.admin import set_capacity

    with _reporting("review set-capacity", json_output=json_output, verbose=verbose) as report:
        if (capacity is None) == (not clear):
            raise ConfigError("give a capacity, or --clear to remove the patch's override",
                              hint="e.g. risk-model review set-capacity 'North team' 40")
        ws = Workspace.at(workspace)
        set_capacity(ws, patch, None if clear else capacity)
        report.show(f"{escape(patch)}: capacity "
                    + ("from settings.yaml" if clear else str(capacity)) + " from the next run.")
        report.finish({"workspace": str(ws.root), "patch": patch,
                       "capacity": None if clear else capacity})


@review_app.command("users")
def _review_users(
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """List the review app's users, their roles, state and patches."""
    from risk_model.review.admin import list_users

    with _reporting("review users", json_output=json_output, verbose=verbose) as report:
        ws = Workspace.at(workspace)
        users = list_users(ws)
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("user", "name", "role", "active", "patches"):
            table.add_column(column)
        for u in users:
            table.add_row(escape(u.username), escape(u.display_name), u.role,
                          "yes" if u.active else "no", escape(", ".join(u.patches)))
        report.show(table)
        report.finish({"workspace": str(ws.root), "users": [
            {"user": u.username, "name": u.display_name, "role": u.role, "active": u.active,
             "patches": list(u.patches)} for u in users]})


def _demo_as_of() -> list[_dt.date]:
    """The demo's as-of dates: the last day of the synthetic period and a year before it."""
    year, month = (int(x) for x in _START.split("-"))
    months = year * 12 + month - 1 + _MONTHS
    end = _dt.date(months // 12, months % 12 + 1, 1) - _dt.timedelta(days=1)
    return [end.replace(year=end.year - 1), end]


@dataclass(frozen=True)
class _DemoRun:
    """What every demo step gets."""

    workspace: Workspace
    report: _Report
    overwrite: bool
    residents: int


@dataclass(frozen=True)
class _DemoStep:
    """One step of the demo: its name, what it runs, and what to tell people to look at next."""

    name: str
    run: Callable[[_DemoRun], Summary]
    next_hint: Callable[[Workspace], str]


def _demo_synth(run: _DemoRun) -> Summary:
    config = _synth_config(residents=run.residents, start=_START, months=_MONTHS, seed=_SEED,
                           file_format=_FORMAT)
    return _synth_step(config, run.workspace, run.report, overwrite=run.overwrite)


def _synth_next(workspace: Workspace) -> str:
    return (
        f"Next: the landing zone (raw extracts, as data owners send them) is in "
        f"{workspace.landing}; the ground truth, for evaluation and tests only, is in "
        f"{workspace.truth}."
    )


def _demo_ingest(run: _DemoRun) -> Summary:
    import secrets

    from risk_model.config import demo_key_path
    from risk_model.ingest import KEY_ENV, load_key

    if os.environ.get(KEY_ENV):
        key = load_key(workspace=run.workspace.root)
    else:
        path = demo_key_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32) + "\n")
            path.chmod(0o600)
            run.report.show(f"demo: made a pseudonymisation key at {escape(str(path))} "
                            f"(a real deployment sets ${KEY_ENV} or passes --key-file)")
        key = load_key(path, workspace=run.workspace.root)
    return _ingest_step(run.workspace, key, run.report, overwrite=run.overwrite)


def _ingest_next(workspace: Workspace) -> str:
    return (
        f"Next: the pseudonymised warehouse is {workspace.warehouse}; quarantined rows are in "
        f"{workspace.quarantine}; the data-quality report is "
        f"{workspace.reports / 'data_quality.html'}."
    )


#: The model the demo trains, audits, promotes and scores with.
_DEMO_MODEL = "emergency_admission_12m"
#: Why the demo promotes a version whose gates failed (recorded on the version).
_DEMO_FORCE_REASON = ("demo on synthetic data: promoted despite failed gates so the rest of the "
                      "pipeline can be shown; read the audit report")
#: The demo's review-app accounts, with their passwords, in the workspace (mode 0600).
_DEMO_ACCOUNTS = "demo-accounts.txt"


def _demo_months() -> list[str]:
    """The last two months of the demo's synthetic period (``YYYY-MM``)."""
    end = _demo_as_of()[-1]
    before = end.replace(day=1) - _dt.timedelta(days=1)
    return [f"{before:%Y-%m}", f"{end:%Y-%m}"]


def _demo_model(run: _DemoRun) -> Summary:
    """Train the demo model, audit it and make it the champion."""
    from risk_model.errors import PromotionRefused
    from risk_model.modelling.audit import audit
    from risk_model.modelling.run import promote

    trained = _train_step(run.workspace, run.report, _DEMO_MODEL)
    version = str(trained["version"])
    with run.report.stages(f"audit {_DEMO_MODEL}") as progress:
        audited = audit(run.workspace, _DEMO_MODEL, version, progress=progress).to_dict()
    failed = [g["gate"] for g in audited["gates"] if not g["passed"]]
    run.report.show(f"Fairness audit of version {version}: "
                    + ("[green]every gate passed[/]" if not failed else
                       f"[red]failed {escape(', '.join(failed))}[/]")
                    + f". Report: {escape(audited['report'])}")
    forced = False
    try:
        promoted = promote(run.workspace, _DEMO_MODEL, version).to_dict()
    except PromotionRefused as exc:
        run.report.show(f"[yellow]Promotion refused: {escape(str(exc))}[/]")
        run.report.show("[yellow]The demo promotes it anyway, with the reason recorded on the "
                        "version, to show the rest of the pipeline. A real deployment would "
                        "read the audit report and fix the model or decide to override.[/]")
        promoted = promote(run.workspace, _DEMO_MODEL, version, force=True,
                           reason=_DEMO_FORCE_REASON).to_dict()
        forced = True
    except ConfigError as exc:  # a rerun: this version is already the champion
        if "already the champion" not in str(exc):
            raise
        promoted = {"model": _DEMO_MODEL, "version": version, "already": True}
    return {"train": trained, "audit": audited, "promote": promoted, "forced": forced}


def _demo_score(run: _DemoRun) -> Summary:
    return {"months": [_score_step(run.workspace, run.report, month, model=None,
                                   overwrite=run.overwrite) for month in _demo_months()]}


def _demo_reports(run: _DemoRun) -> Summary:
    """The reports of every model whose champion the demo promoted (models/ specs)."""
    from risk_model.modelling.spec import load_specs
    from risk_model.tracking import alias_version

    done = []
    for name in load_specs():
        version = alias_version(run.workspace, name, "champion")
        if version is not None:
            done.append(_report_step(run.workspace, run.report, name, version,
                                     overwrite=run.overwrite))
    return {"models": done}


def _demo_index(ws: Workspace) -> Path | None:
    """The demo model's champion's reports index, if it was written."""
    from risk_model.reports.run import report_folder
    from risk_model.tracking import alias_version

    version = alias_version(ws, _DEMO_MODEL, "champion")
    index = None if version is None else report_folder(ws, _DEMO_MODEL, version) / "index.html"
    return index if index is not None and index.exists() else None


def _demo_review(run: _DemoRun) -> Summary:
    """Demo accounts for the review app: an officer per patch, an analyst, an administrator."""
    import secrets

    from risk_model.review.admin import add_user, list_users, set_password, set_patches
    from risk_model.review.lists import latest_month, list_sizes

    ws = run.workspace
    month = latest_month(ws)
    patches = sorted({row["patch"] for row in list_sizes(ws) if row.get("month") == month})
    wanted = [(f"officer{i}", "housing_officer", f"Demo officer {i} ({patch})", [patch])
              for i, patch in enumerate(patches, start=1)]
    wanted += [("analyst", "analyst", "Demo analyst", []),
                ("admin", "administrator", "Demo administrator", [])]
    existing = {u.username for u in list_users(ws)}
    accounts = []
    for username, role, name, mine in wanted:
        password = secrets.token_urlsafe(12)
        if username in existing:
            set_password(ws, username, password)
        else:
            add_user(ws, username, role, display_name=name, password=password)
        if mine:
            set_patches(ws, username, mine)
        accounts.append({"user": username, "role": role, "patches": mine,
                         "password": password})
    path = ws.root / _DEMO_ACCOUNTS
    path.write_text("# Demo accounts for `risk-model review serve` (synthetic data only)\n"
                    + "".join(f"{a['user']}\t{a['password']}\t{a['role']}\t"
                              f"{', '.join(a['patches'])}\n" for a in accounts))
    path.chmod(0o600)
    return {"month": month, "accounts": [{k: v for k, v in a.items() if k != "password"}
                                         for a in accounts], "accounts_file": str(path)}


def _final_next(ws: Workspace) -> str:
    last = _demo_months()[-1]
    return (
        f"Next: the lists are in {ws.lists / last} (one CSV per patch); the reports (model "
        f"card, transparency record, public explainer, data dictionary, fairness audit) are "
        f"{_demo_index(ws) or ws.reports}; see every run with `mlflow ui --backend-store-uri "
        f"sqlite:///{ws.mlflow / 'mlflow.db'}`; open the review app with `risk-model review "
        f"serve --workspace {ws.root}` at http://127.0.0.1:8000/ and sign in with an account "
        f"from {ws.root / _DEMO_ACCOUNTS} (officer1 works the first patch's list)."
    )

# the main job, in order; each later capability (link, features, train, score, report) appends
# its step here
_DEMO_STEPS: tuple[_DemoStep, ...] = (
    _DemoStep("synth", _demo_synth, _synth_next),
    _DemoStep("ingest", _demo_ingest, _ingest_next),
    _DemoStep("link", lambda run: _link_step(run.workspace, run.report, overwrite=run.overwrite),
              lambda ws: f"Next: the linkage report is {ws.reports / 'linkage.html'}; links, "
              f"the clerical-review queue and each person's homes over time are tables in "
              f"{ws.warehouse}."),
    _DemoStep("features",
              lambda run: _features_step(run.workspace, run.report, _demo_as_of(),
                                         overwrite=run.overwrite),
              lambda ws: f"Next: feature snapshots and outcome labels are the tables "
              f"feature_snapshots and outcome_labels in {ws.warehouse}; the data dictionary is "
              f"{ws.reports / 'data_dictionary.html'}."),
    _DemoStep("model", _demo_model,
              lambda ws: f"Next: the model is in MLflow ({ws.mlflow}); its fairness audit is "
              f"under {ws.reports / 'audit'}."),
    _DemoStep("score", _demo_score,
              lambda ws: f"Next: the lists are under {ws.lists}."),
    _DemoStep("reports", _demo_reports,
              lambda ws: f"Next: open {_demo_index(ws) or ws.reports} in a browser."),
    _DemoStep("review", _demo_review, _final_next),
)


@app.command("demo")
def _demo(
    residents: Annotated[
        int, typer.Option(help="People registered with a GP in the synthetic area.")
    ] = _RESIDENTS,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
    overwrite: OverwriteOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the main job end to end on embedded defaults, on synthetic data.

    Generates an area, ingests and links it, builds features, trains the emergency-admission
    model, audits and promotes it, scores the last two months, writes the champion's reports
    (model card, transparency record, public explainer) and makes review-app accounts.
    """
    with _reporting("demo", json_output=json_output, verbose=verbose) as report:
        t0 = time.perf_counter()
        ws = Workspace.at(workspace)
        run = _DemoRun(workspace=ws, report=report, overwrite=overwrite, residents=residents)
        steps = []
        for i, step in enumerate(_DEMO_STEPS, start=1):
            report.show(Rule(f"step {i} of {len(_DEMO_STEPS)}: {step.name}", align="left"))
            steps.append({"step": step.name, "summary": step.run(run)})
        seconds = round(time.perf_counter() - t0, 2)
        report.show(Rule())
        report.show(f"Demo finished in {seconds:.1f} s.")
        report.show(escape(_DEMO_STEPS[-1].next_hint(ws)))
        report.finish({"workspace": str(ws.root), "seconds": seconds, "steps": steps})


def main() -> None:
    """Run the ``risk-model`` command line.

    This is the ``risk-model`` console script and what ``python -m risk_model`` runs.
    """
    app(prog_name="risk-model")
