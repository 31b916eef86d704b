"""Read a landing file and check it against its contract: refuse it, or sort its rows.

A file that cannot be read at all (empty, not CSV or Parquet, not UTF-8, a truncated Parquet
file, a required column missing) is refused with one :class:`~risk_model.errors.DataError` that
names the file and says what to do. Otherwise every row is parsed to the contract's types and
checked by the contract's pandera schema; each problem becomes a quarantine record naming the
file, the row, the field and the rule, with a fix hint and the offending value only when that
value is not an identifier.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.parquet as pq

from risk_model.errors import DataError
from risk_model.ingest.contracts import RULE_HINTS, Contract, Field, contract_schema

__all__ = [
    "PROBLEM_COLUMNS",
    "CheckedFile",
    "check_file",
    "file_digest",
    "read_landing_file",
]

log = logging.getLogger(__name__)

#: Columns of a quarantine record.
PROBLEM_COLUMNS = ["file", "row", "field", "rule", "value", "hint"]
WITHHELD = "[withheld: identifier]"

_ARROW_TYPES = {
    pa_arrow.int64(): pd.Int64Dtype(),
    pa_arrow.int32(): pd.Int64Dtype(),
    pa_arrow.string(): pd.StringDtype(),
    pa_arrow.large_string(): pd.StringDtype(),
    pa_arrow.bool_(): pd.BooleanDtype(),
    pa_arrow.float64(): pd.Float64Dtype(),
}
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_DATE = "datetime64[us]"


@dataclass
class CheckedFile:
    """A landing file read, parsed and checked.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    contract : Contract
        Its source's contract.
    frame : pandas.DataFrame
        Every row, parsed to the contract's types (values that could not be parsed are missing);
        the index is the row number minus one.
    problems : pandas.DataFrame
        One record per problem found (:data:`PROBLEM_COLUMNS`); a row can have several.
    digest : str
        SHA-256 of the file's bytes.
    ignored_columns : list of str
        Columns the contract does not know; they never leave the landing zone.
    """

    path: Path
    contract: Contract
    frame: pd.DataFrame
    problems: pd.DataFrame
    digest: str
    ignored_columns: list[str]

    @property
    def rows_read(self) -> int:
        """Rows in the file (the header is not counted)."""
        return len(self.frame)

    def bad_rows(self) -> np.ndarray:
        """Positions of the rows with at least one problem."""
        return np.unique(self.problems["row"].to_numpy(dtype=np.int64) - 1)

    def add_problems(self, problems: pd.DataFrame) -> None:
        """Add problems found after the file's own checks (references to other sources)."""
        if len(problems):
            self.problems = pd.concat([self.problems, problems], ignore_index=True)


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_landing_file(path: Path, contract: Contract) -> tuple[pd.DataFrame, list[str]]:
    """Read a landing file as it is, or refuse it with one clear error.

    Parameters
    ----------
    path : pathlib.Path
        A ``.csv`` or ``.parquet`` file.
    contract : Contract
        The contract of its source (for the required columns).

    Returns
    -------
    frame : pandas.DataFrame
        The contract's columns, in the contract's order: text for CSV, the file's own types for
        Parquet.
    ignored : list of str
        Columns present in the file that the contract does not know.

    Raises
    ------
    DataError
        If the file is empty, not CSV or Parquet, not valid UTF-8, unreadable, or lacks a
        required column.
    """
    if path.stat().st_size == 0:
        raise DataError(
            f"{path.name}: the file is empty (0 bytes)",
            hint="ask the data owner for the extract again, or remove the file from landing/",
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _read_csv(path)
    elif suffix == ".parquet":
        frame = _read_parquet(path)
    else:
        raise DataError(
            f"{path.name}: not a CSV or Parquet file",
            hint="supply the extract as .csv (UTF-8) or .parquet, or move it out of landing/",
        )
    missing = [c for c in contract.columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path.name}: required column{'s' if len(missing) > 1 else ''} missing: "
            f"{', '.join(missing)}",
            hint=f"the {contract.source} contract needs the columns "
            f"{', '.join(contract.columns)} (docs/data-contracts.md); fix the extract's header",
        )
    ignored = [c for c in frame.columns if c not in contract.columns]
    if ignored:
        log.warning("%s: ignoring columns the contract does not know: %s", path.name,
                    ", ".join(map(str, ignored)))
    return frame[contract.columns], [str(c) for c in ignored]


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise DataError(
            f"{path.name}: not a CSV file (it holds binary data)",
            hint="supply the extract as a UTF-8 CSV or as Parquet with the .parquet extension",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path.name}: line {line} is not valid UTF-8 (byte 0x{data[exc.start]:02x}); the "
            f"file is probably in a Windows or Latin-1 encoding",
            hint="re-save it as UTF-8 (in Excel: Save As, CSV UTF-8) and ingest again",
        ) from None
    del data
    try:
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path.name}: the file has no header row",
            hint="ask the data owner for the extract again, with its header",
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path.name}: not readable as CSV ({str(exc).strip()})",
            hint="check the quoting and the number of fields on that line, then ingest again",
        ) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa_arrow.ArrowException, OSError) as exc:
        raise DataError(
            f"{path.name}: not a readable Parquet file ({exc}); it may be truncated or not "
            f"Parquet at all",
            hint="ask the data owner to send the file again (compare its size with theirs)",
        ) from None
    # a column that is entirely null can come out with Parquet type null: read it as text
    table = table.cast(pa_arrow.schema(
        [pa_arrow.field(f.name, pa_arrow.string() if pa_arrow.types.is_null(f.type) else f.type)
         for f in table.schema]
    ))
    return table.to_pandas(types_mapper=_ARROW_TYPES.get)


def check_file(path: Path, contract: Contract, *, today: date) -> CheckedFile:
    """Read, parse and check one landing file against its contract.

    Parameters
    ----------
    path : pathlib.Path
        The landing file.
    contract : Contract
        Its source's contract.
    today : datetime.date
        The day of the ingest (no date may be after it).

    Returns
    -------
    CheckedFile
        The parsed rows and their problems.

    Raises
    ------
    DataError
        If the file cannot be read at all (see :func:`read_landing_file`).
    """
    raw, ignored = read_landing_file(path, contract)
    raw = raw.reset_index(drop=True)
    parsed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    for f in contract.fields:
        values, bad, rule = _parse(raw[f.name], f)
        parsed[f.name] = values
        if bad.any():
            problems.append(_records(path.name, f, np.flatnonzero(bad.to_numpy()), rule,
                                     raw[f.name]))
    frame = pd.DataFrame(parsed)
    problems.append(_schema_problems(path.name, frame, raw, contract, today))
    found = pd.concat([p for p in problems if len(p)] or [_empty()], ignore_index=True)
    # one record per (row, field, rule); a value that could not be parsed is not also "missing"
    found = found.drop_duplicates(["row", "field"], keep="first").sort_values(
        ["row", "field"], kind="stable").reset_index(drop=True)
    return CheckedFile(path, contract, frame, found, file_digest(path), ignored)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in PROBLEM_COLUMNS})


def _shown(f: Field, raw: pd.Series) -> pd.Series:
    if f.identifying:
        return pd.Series(WITHHELD, index=raw.index, dtype="object")
    return raw.astype("string").str.slice(0, 60).fillna("").astype("object")


def _records(file: str, f: Field, positions: np.ndarray, rule: str, raw: pd.Series,
             hint: str | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "file": file,
        "row": positions + 1,
        "field": f.name,
        "rule": rule,
        "value": _shown(f, raw.iloc[positions]).to_numpy(),
        "hint": hint or RULE_HINTS[rule],
    })


def _as_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _parse(values: pd.Series, f: Field) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column to its contract type; return the values, where parsing failed, rule."""
    text_like = pd.api.types.is_string_dtype(values) or values.dtype == object
    if f.sentinel is not None and text_like:
        values = values.mask(values.astype("string").str.strip() == f.sentinel)
    if f.kind == "text":
        out = _as_text(values)
        return out, pd.Series(False, index=values.index), "pattern"
    if f.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(values):
            out = values.astype(_DATE)
            return out, pd.Series(False, index=values.index), "not_a_date"
        text = _as_text(values)
        out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype(_DATE)
        return out, text.notna() & out.isna(), "not_a_date"
    if f.kind in ("int", "decimal"):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            number = values.astype("Float64")
            given = values.notna()
        else:
            text = _as_text(values)
            number = pd.to_numeric(text, errors="coerce").astype("Float64")
            given = text.notna()
        if f.kind == "decimal":
            return number, given & number.isna(), "not_a_number"
        whole = number.notna() & (number % 1 == 0)
        bad = given & ~whole.fillna(False).astype(bool)
        out = number.where(whole).astype("Int64")
        return out, bad, "not_a_whole_number"
    # bool
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), pd.Series(False, index=values.index), "not_true_false"
    text = _as_text(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).astype(bool)] = True
    out[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return out, text.notna() & out.isna(), "not_true_false"


def _schema_problems(file: str, frame: pd.DataFrame, raw: pd.DataFrame, contract: Contract,
                     today: date) -> pd.DataFrame:
    schema = contract_schema(contract, today=today)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return _empty()
    out = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        index = group["index"]
        if index.isna().any():  # a check that could not run: a bug in a contract, not the data
            raise RuntimeError(f"{contract.source}: check {check} on {column} failed to run: "
                               f"{group['failure_case'].iloc[0]}")
        positions = np.unique(index.to_numpy(dtype=np.int64))
        check = str(check)
        if check.startswith("date_order:"):
            _, earlier, later = check.split(":")
            f = contract.field(later)
            hint = f"{later} is before {earlier}: correct the dates"
            out.append(_records(file, f, positions, "date_order", raw[later], hint))
        elif "unique" in check:  # pandera's field_uniqueness / multiple_fields_uniqueness
            f = contract.field(contract.key[0])
            rec = _records(file, f, positions, "duplicate_key", raw[contract.key[0]])
            rec["field"] = "+".join(contract.key)
            out.append(rec)
        else:
            rule = "missing_value" if check == "not_nullable" else check
            if rule not in RULE_HINTS:
                raise RuntimeError(f"{contract.source}: unexpected check {check} on {column}")
            out.append(_records(file, contract.field(str(column)), positions, rule,
                                raw[str(column)]))
    return pd.concat(out, ignore_index=True) if out else _empty()
