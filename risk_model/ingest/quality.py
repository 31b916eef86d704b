"""Data-quality profile of each ingested source, and the report that shows them.

:func:`profile_source` measures one source's typed rows as read (before quarantine and
pseudonymisation): completeness per field, rows failing each validity rule, duplicates, the
range of each date column, key completeness and uniqueness, and the completeness of a field by
group (for example NHS number completeness by ethnic group, which shows whether linkage will
miss some groups more than others). :func:`write_quality_report` writes the profiles, with the
run's file reconciliation, as JSON and as a standalone HTML page.

What the output may hold, and nothing else: counts, shares, column names, rule names, group
labels and the earliest and latest value of date columns. No identifier value ever leaves this
module, because no value of a non-date column is ever read into the output. Every count and share
goes through :mod:`risk_model.disclosure` under the workspace's rule (by default 1-7 shown as
``"*"``, other counts rounded to 5, and a share built on a suppressed count suppressed too), so
the report may be shared outside the analyst's environment. The ingest run passes
:func:`~risk_model.disclosure.rule_for` of its workspace; without a rule the functions here use
NHS Digital's.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from risk_model.disclosure import (
    SuppressionRule,
    suppress_count,
    suppressed_rate,
)
from risk_model.errors import ConfigError, DataError

__all__ = ["profile_source", "write_quality_report"]

log = logging.getLogger(__name__)

#: Decimal places of every share in the profile.
_SHARE_DIGITS = 4
#: Label of rows whose group is missing in a group-completeness table.
_MISSING_GROUP = "(missing)"
#: Reconciliation counts taken from each of ``run["files"]``, in the order shown.
_FILE_COUNTS = ("rows_read", "rows_accepted", "rows_quarantined", "rows_opted_out")


def _missing_mask(values: pd.Series) -> pd.Series:
    """Return where ``values`` is missing: NA, or a blank string in a text column."""
    mask = values.isna()
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        text = values.astype("string").str.strip()
        mask = mask | (text == "").fillna(False).astype(bool)
    return mask.astype(bool)


def _check_columns(source: str, frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`DataError` if a column named in ``what`` is not in ``frame``."""
    absent = [str(c) for c in columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"{source}: {what} names column(s) not in the frame: {', '.join(absent)}",
            hint=f"choose from the source's columns: {', '.join(map(str, frame.columns))}",
        )


def _date_range(source: str, column: str, values: pd.Series, rule: SuppressionRule) -> dict:
    """Return the earliest and latest date of a date column and its missing count."""
    if not (
        pd.api.types.is_datetime64_any_dtype(values.dtype)
        or isinstance(values.dtype, pd.PeriodDtype)
    ):
        raise DataError(
            f"{source}: date column {column!r} must hold dates (datetime64), "
            f"got dtype {values.dtype}",
            hint="pass the typed frame as read, or leave the column out of date_columns",
        )
    present = values.dropna()
    return {
        "min": None if present.empty else present.min().strftime("%Y-%m-%d"),
        "max": None if present.empty else present.max().strftime("%Y-%m-%d"),
        "missing": suppress_count(int(values.isna().sum()), rule),
    }


def _group_table(
    source: str,
    name: str,
    values: pd.Series,
    groups: pd.Series,
    rule: SuppressionRule,
) -> list[dict[str, Any]]:
    """Return the completeness of ``values`` within each group of ``groups``."""
    if len(values) != len(groups):
        raise DataError(
            f"{source}: group completeness {name!r} has {len(values)} values but "
            f"{len(groups)} group labels",
            hint="pass the values and the group labels from the same rows, in the same order",
        )
    complete = ~_missing_mask(values).to_numpy()
    labels = groups.astype("string").fillna(_MISSING_GROUP).to_numpy()
    table = pd.DataFrame({"group": labels, "complete": complete})
    counts = table.groupby("group", sort=True)["complete"].agg(["size", "sum"])
    return [
        {
            "group": str(group),
            "rows": suppress_count(int(row["size"]), rule),
            "complete": suppress_count(int(row["sum"]), rule),
            "completeness": suppressed_rate(
                int(row["sum"]), int(row["size"]), rule, digits=_SHARE_DIGITS
            ),
        }
        for group, row in counts.iterrows()
    ]


def profile_source(
    source: str,
    frame: pd.DataFrame,
    *,
    rows_read: int,
    rows_accepted: int,
    quarantined_by_rule: Mapping[str, int],
    date_columns: Sequence[str] = (),
    key_columns: Sequence[str] = (),
    duplicate_rows: int = 0,
    group_completeness: Mapping[str, tuple[pd.Series, pd.Series]] | None = None,
    rule: SuppressionRule | None = None,
) -> dict[str, Any]:
    """Profile one source's typed rows as read: counts and shares only, suppressed.

    Parameters
    ----------
    source : str
        The source's name (for example ``"housing_residents"``).
    frame : pandas.DataFrame
        The source's typed rows as read, before quarantine and pseudonymisation. Only missing
        counts are taken from it, and the earliest and latest value of ``date_columns``.
    rows_read : int
        Rows read from the source's files.
    rows_accepted : int
        Rows that passed every rule (not computable here, as one row may fail several rules).
    quarantined_by_rule : Mapping of str to int
        Rows failing each validity rule, by rule name.
    date_columns : sequence of str, optional
        Columns of dates (datetime64) whose range is reported.
    key_columns : sequence of str, optional
        The source's key; rows with a missing key part and rows repeating a key are counted.
    duplicate_rows : int, default 0
        Rows that repeat an earlier row in full.
    group_completeness : Mapping of str to (Series, Series), optional
        For each name, the values whose completeness is measured and the group labels of the
        same rows, in the same order (for example NHS numbers and ethnic groups of residents).
    rule : SuppressionRule, optional
        The suppression rule: a step passes :func:`~risk_model.disclosure.rule_for` of its
        workspace; ``None`` means NHS Digital's (1-7 hidden, round to 5).

    Returns
    -------
    dict
        JSON-serialisable: ``source``, ``rows_read`` and ``rows_accepted`` (suppressed counts),
        ``suppression`` (the rule used), ``fields`` (a list of ``field``, ``key``,
        ``completeness`` and ``missing``), ``validity`` (rule name to count), ``validity_share``
        (share of rows accepted), ``duplicates``, ``keys`` (``None`` without ``key_columns``),
        ``date_coverage`` (column to ``min``, ``max``, ``missing``) and ``group_completeness``
        (name to a list of ``group``, ``rows``, ``complete``, ``completeness``). Every count is
        suppressed with :func:`~risk_model.disclosure.suppress_count` and every share with
        :func:`~risk_model.disclosure.suppressed_rate` (4 decimal places), so a share may be
        ``"*"``, and is ``None`` when there are no rows.

    Raises
    ------
    DataError
        If a named column is not in ``frame``, a date column does not hold dates, a group's
        values and labels differ in length, or a count is negative or inconsistent.

    Examples
    --------
    >>> frame = pd.DataFrame({"NHS_NUMBER": ["9434765919"] * 10 + [None] * 10})
    >>> profile = profile_source(
    ...     "gp_registrations", frame, rows_read=20, rows_accepted=20, quarantined_by_rule={}
    ... )
    >>> profile["fields"]
    [{'field': 'NHS_NUMBER', 'key': False, 'completeness': 0.5, 'missing': 10}]
    """
    rule = rule or SuppressionRule()
    if rows_accepted > rows_read:
        raise DataError(
            f"{source}: rows_accepted ({rows_accepted}) is more than rows_read ({rows_read})",
            hint="pass the counts of the same run; accepted rows are a subset of rows read",
        )
    date_columns = list(date_columns)
    key_columns = list(key_columns)
    _check_columns(source, frame, date_columns, "date_columns")
    _check_columns(source, frame, key_columns, "key_columns")

    rows = len(frame)
    fields = []
    for column in frame.columns:
        present = rows - int(_missing_mask(frame[column]).sum())
        fields.append(
            {
                "field": str(column),
                "key": column in key_columns,
                "completeness": suppressed_rate(present, rows, rule, digits=_SHARE_DIGITS),
                "missing": suppress_count(rows - present, rule),
            }
        )

    keys = None
    if key_columns:
        key_frame = frame[key_columns]
        no_key = pd.concat([_missing_mask(key_frame[c]) for c in key_columns], axis=1).any(axis=1)
        repeated = key_frame[~no_key].duplicated(keep="first")
        keys = {
            "columns": [str(c) for c in key_columns],
            "rows_missing_key": suppress_count(int(no_key.sum()), rule),
            "duplicate_keys": suppress_count(int(repeated.sum()), rule),
        }

    groups = group_completeness or {}
    return {
        "source": str(source),
        "rows_read": suppress_count(rows_read, rule),
        "rows_accepted": suppress_count(rows_accepted, rule),
        "suppression": rule.to_dict(),
        "fields": fields,
        "validity": {
            str(name): suppress_count(count, rule)
            for name, count in sorted(quarantined_by_rule.items())
        },
        "validity_share": suppressed_rate(rows_accepted, rows_read, rule, digits=_SHARE_DIGITS),
        "duplicates": suppress_count(duplicate_rows, rule),
        "keys": keys,
        "date_coverage": {str(c): _date_range(source, c, frame[c], rule) for c in date_columns},
        "group_completeness": {
            str(name): _group_table(source, name, values, labels, rule)
            for name, (values, labels) in groups.items()
        },
    }


# --------------------------------------------------------------------------------------------
# The report


def _run_section(run: Mapping[str, Any], rule: SuppressionRule) -> dict[str, Any]:
    """Return the run information the report shows, with file counts suppressed."""
    files = []
    for entry in run.get("files", ()):
        row: dict[str, Any] = {
            "file": str(entry.get("file", "")),
            "source": str(entry.get("source", "")),
            "reconciled": bool(entry.get("reconciled", False)),
        }
        for count in _FILE_COUNTS:
            value = entry.get(count)
            row[count] = None if value is None else suppress_count(value, rule)
        files.append(row)
    started = run.get("started")
    if started is not None and hasattr(started, "isoformat"):
        started = started.isoformat()
    return {
        "run_id": None if run.get("run_id") is None else str(run["run_id"]),
        "started": None if started is None else str(started),
        "key_fingerprint": (
            None if run.get("key_fingerprint") is None else str(run["key_fingerprint"])
        ),
        "files": files,
    }


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem;
       color: #1d1d1f; max-width: 72rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem;
  border-bottom: 2px solid #005eb8; padding-bottom: .2rem; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .5rem 0 1.2rem; font-size: .92rem; }
th, td { border: 1px solid #d0d4d9; padding: .3rem .6rem; text-align: left; }
th { background: #f0f4f5; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { background: #e8edee; width: 12rem; height: .8rem; display: inline-block; }
.bar span { background: #005eb8; height: 100%; display: block; }
.bad { color: #b00020; font-weight: 600; } .ok { color: #007f3b; font-weight: 600; }
.note { color: #555; font-size: .88rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; }
"""


def _e(value: Any) -> str:
    """Return ``value`` as escaped HTML text; ``None`` shows as a dash."""
    return "&ndash;" if value is None else escape(str(value), quote=True)


def _share(value: Any) -> str:
    """Return a share as an escaped percentage, or ``*`` / dash as it is."""
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return _e(value)


def _bar(value: Any) -> str:
    """Return a small bar for a share (empty when suppressed or missing)."""
    width = f"{value * 100:.1f}" if isinstance(value, float) else "0"
    return f'<span class="bar" aria-hidden="true"><span style="width:{width}%"></span></span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """Return an HTML table; ``rows`` hold already-escaped cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _source_html(profile: Mapping[str, Any]) -> str:
    """Return the HTML section of one source's profile."""
    name = _e(profile.get("source"))
    parts = [f'<section id="source-{name}"><h2>{name}</h2>']
    summary = [
        ("Rows read", _e(profile.get("rows_read"))),
        ("Rows accepted", _e(profile.get("rows_accepted"))),
        ("Share accepted", _share(profile.get("validity_share"))),
        ("Duplicate rows", _e(profile.get("duplicates"))),
    ]
    parts.append(_table(["Measure", "Value"], summary, {1}))

    parts.append("<h3>Completeness by field</h3>")
    fields = [
        (
            _e(f.get("field")) + (" <em>(key)</em>" if f.get("key") else ""),
            _share(f.get("completeness")),
            _bar(f.get("completeness")),
            _e(f.get("missing")),
        )
        for f in profile.get("fields", ())
    ]
    parts.append(_table(["Field", "Complete", "", "Missing"], fields, {1, 3}))

    keys = profile.get("keys")
    if keys:
        parts.append("<h3>Key</h3>")
        parts.append(
            _table(
                ["Key columns", "Rows missing a key part", "Rows repeating a key"],
                [
                    (
                        _e(", ".join(keys.get("columns", ()))),
                        _e(keys.get("rows_missing_key")),
                        _e(keys.get("duplicate_keys")),
                    )
                ],
                {1, 2},
            )
        )

    parts.append("<h3>Validity rules</h3>")
    validity = profile.get("validity") or {}
    if validity:
        rows = [(_e(rule), _e(count)) for rule, count in validity.items()]
        parts.append(_table(["Rule", "Rows failing"], rows, {1}))
    else:
        parts.append('<p class="note">No row failed a validity rule.</p>')

    coverage = profile.get("date_coverage") or {}
    if coverage:
        parts.append("<h3>Date coverage</h3>")
        rows = [
            (_e(col), _e(c.get("min")), _e(c.get("max")), _e(c.get("missing")))
            for col, c in coverage.items()
        ]
        parts.append(_table(["Column", "Earliest", "Latest", "Missing"], rows, {3}))

    for group_name, table in (profile.get("group_completeness") or {}).items():
        parts.append(f"<h3>Completeness of {_e(group_name)} by group</h3>")
        rows = [
            (
                _e(g.get("group")),
                _e(g.get("rows")),
                _e(g.get("complete")),
                _share(g.get("completeness")),
                _bar(g.get("completeness")),
            )
            for g in table
        ]
        parts.append(_table(["Group", "Rows", "Complete", "Completeness", ""], rows, {1, 2, 3}))
    parts.append("</section>")
    return "\n".join(parts)


def _report_html(
    run: Mapping[str, Any], profiles: Sequence[Mapping[str, Any]], rule: SuppressionRule
) -> str:
    """Return the standalone HTML page of the report."""
    title = f"Data quality report: run {run.get('run_id') or 'not recorded'}"
    info = "".join(
        f"<dt>{label}</dt><dd>{_e(run.get(key) or 'not recorded')}</dd>"
        for label, key in (
            ("Run", "run_id"),
            ("Started", "started"),
            ("Key fingerprint", "key_fingerprint"),
        )
    )
    files = [
        (
            _e(f["file"]),
            _e(f["source"]),
            *(_e(f[c]) for c in _FILE_COUNTS),
            '<span class="ok">yes</span>' if f["reconciled"] else '<span class="bad">NO</span>',
        )
        for f in run["files"]
    ]
    files_table = (
        _table(
            ["File", "Source", "Read", "Accepted", "Quarantined", "Opted out", "Reconciled"],
            files,
            {2, 3, 4, 5},
        )
        if files
        else '<p class="note">No files were recorded for this run.</p>'
    )
    sources = "\n".join(_source_html(p) for p in profiles)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<dl>{info}</dl>
<p class="note">{_e(rule.describe())} Shares are computed from the true counts. No identifier
values are shown: only counts, shares, column names, rule names, group labels and date
ranges.</p>
<h2>Files and reconciliation</h2>
{files_table}
{sources}
</body>
</html>
"""


def _write_atomically(contents: Mapping[Path, str]) -> None:
    """Write each file via a temporary file in its folder, replacing only when all are written."""
    temps: dict[Path, Path] = {}
    try:
        for path, text in contents.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps[path] = Path(tmp)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()


def _check_profiles_follow(profiles: Sequence[Mapping[str, Any]], rule: SuppressionRule) -> None:
    """Refuse profiles suppressed under another rule (made before the setting changed)."""
    stale = sorted(
        str(p.get("file") or p.get("source"))
        for p in profiles
        if p.get("suppression", rule.to_dict()) != rule.to_dict()
    )
    if stale:
        raise ConfigError(
            f"the quality profiles of {', '.join(stale)} were suppressed under another "
            f"small-number rule than the workspace's now (threshold {rule.threshold}, rounding "
            f"{rule.rounding}, suppress_zero {rule.suppress_zero}), so the report would mix "
            "two rules",
            hint="ingest again with --overwrite, which profiles every landing file under the "
            "rule in settings.yaml, or restore the small_numbers setting they were made with",
        )


def write_quality_report(
    profiles: Sequence[dict],
    *,
    run: Mapping[str, Any],
    json_path: Path,
    html_path: Path,
    rule: SuppressionRule | None = None,
) -> None:
    """Write the data-quality report as JSON and as a standalone HTML page.

    Both files are first written to temporary files in their folders and then moved into
    place, so a failure never leaves a half-written report.

    Parameters
    ----------
    profiles : sequence of dict
        Profiles from :func:`profile_source`, in the order they are shown.
    run : Mapping
        The run: ``run_id``, ``started`` (str or datetime), ``key_fingerprint`` and ``files``,
        a list of dicts with ``file``, ``source``, ``rows_read``, ``rows_accepted``,
        ``rows_quarantined``, ``rows_opted_out`` (true counts) and ``reconciled`` (bool).
        Other keys are ignored.
    json_path : pathlib.Path
        Where the JSON goes (``{"run": ..., "sources": [...]}``, indent 2, sorted keys).
    html_path : pathlib.Path
        Where the HTML page goes.
    rule : SuppressionRule, optional
        The rule applied to the files' counts and described on the page; the profiles must
        have been made under it. ``None`` means NHS Digital's.

    Raises
    ------
    DataError
        If a profile is not JSON-serialisable or a file count is not allowed.
    ConfigError
        If a profile was suppressed under another rule than ``rule``.
    OSError
        If a file cannot be written; no report file is changed then.
    """
    rule = rule or SuppressionRule()
    _check_profiles_follow(profiles, rule)
    run_info = _run_section(run, rule)
    payload = {"run": run_info, "sources": list(profiles)}
    try:
        text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"the quality report cannot be written as JSON: {exc}",
            hint="pass profiles made by profile_source, unchanged",
        ) from None
    page = _report_html(run_info, profiles, rule)
    _write_atomically({Path(json_path): text, Path(html_path): page})
    log.info(
        "wrote the data-quality report of %d source(s) to %s and %s",
        len(profiles),
        json_path,
        html_path,
    )
