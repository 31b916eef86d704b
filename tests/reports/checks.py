"""Disclosure checks on rendered reports: identifiers from the landing zone, and small counts.

:class:`Identifiers` reads what would identify a person in the synthetic area: from the landing
zone, NHS numbers, full names, dates of birth, full postcodes, first address lines, UPRNs and
local record ids (tenancy, resident and patient references); from the warehouse, every
pseudonym. :func:`identifier_problems` finds any of them in a text.

:func:`count_problems` reads an HTML page and checks every count it shows against a
small-number rule: each element marked ``class="count"``, every cell of a table column whose
heading names a count of people or records, and every number written just before such a word
in a text node ("275 people"). :func:`json_count_problems` does the same for the JSON files. A
count must be ``*``, 0 (when zero is shown), or at least the threshold and a multiple of the
rounding.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from risk_model.disclosure import SUPPRESSED, SuppressionRule

_TAG_NAME = re.compile(r"</?[A-Za-z][A-Za-z0-9]*")
_WORD = re.compile(r"[A-Za-z0-9'-]+")
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
_DIGITS = re.compile(r"(?<![\d.])\d[\d ]{8,12}\d(?![\d.])")
_ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_UK_DATE = re.compile(r"\b(\d{2})/(\d{2})/(\d{4})\b")
#: Words that make the number before them a count of people or records.
COUNT_WORDS = ("people", "persons", "residents", "patients", "tenants", "households",
               "admissions", "attendances", "deaths", "records", "rows", "addresses",
               "events", "pairs", "linked", "selected")
_COUNT_IN_TEXT = re.compile(r"(?<![\d.,\w])(\d{1,3}(?:,\d{3})+|\d+)\s+("
                            + "|".join(COUNT_WORDS) + r")\b", re.IGNORECASE)
_COUNT_HEADING = re.compile(r"^(n|people|residents|addresses|with the outcome|rows read|"
                            r"accepted|rows accepted|quarantined|removed by the opt-out|"
                            r"rows removed by the opt-out|people selected|selected|linkable|"
                            r"events|linked|rows)$", re.IGNORECASE)
#: Keys of the JSON files whose whole-number values count people or records.
COUNT_KEYS = frozenset({
    "n", "events", "people", "selected", "rows_read", "rows_accepted", "rows_quarantined",
    "rows_opted_out", "opted_out_rows", "quarantined_rows", "housing_residents",
    "health_persons", "linked", "review_queue_pairs", "addresses", "matched", "train",
    "validation", "test", "early_stopping", "calibration", "explained_rows", "probabilistic",
    "nhs_number", "no_match", "opted_out", "review",
})


@dataclass(frozen=True)
class Identifiers:
    """What would identify a person in a synthetic area."""

    nhs_numbers: frozenset[str]
    names: frozenset[str]
    dates_of_birth: frozenset[str]
    postcodes: frozenset[str]
    addresses: frozenset[str]
    uprns: frozenset[str]
    local_ids: frozenset[str]
    pseudonyms: frozenset[str]

    @classmethod
    def of(cls, landing: Path, warehouse: Path) -> Identifiers:
        """Read them from a landing folder (Parquet or CSV) and a warehouse."""
        frames = {p.stem: _read(p) for p in sorted(landing.iterdir())
                  if p.suffix in (".csv", ".parquet")}
        nhs, names, dobs, postcodes, addresses, uprns, local = (set() for _ in range(7))
        for frame in frames.values():
            for column in frame.columns:
                values = frame[column].dropna().astype(str).str.strip()
                values = values[values != ""]
                if column == "NHS_NUMBER":
                    nhs |= set(values)
                elif column in ("DATE_OF_BIRTH", "DOB"):
                    dobs |= {v[:10] for v in values}
                elif column in ("POSTCODE", "POSTCODE_LOCATOR", "HOMEADD"):
                    postcodes |= {v.upper() for v in values if " " in v or len(v) >= 6}
                elif column == "ADDRESS_LINE_1":
                    addresses |= {v for v in values if any(c.isdigit() for c in v)}
                elif column == "UPRN":
                    uprns |= {v.removesuffix(".0") for v in values}
                elif column in ("TENANCY_REF", "RESIDENT_ID", "PATIENT_ID"):
                    local |= set(values)
            if {"FORENAME", "SURNAME"} <= set(frame.columns):
                both = frame[["FORENAME", "SURNAME"]].dropna().astype(str)
                names |= set(both["FORENAME"] + " " + both["SURNAME"])
        pseudonyms: set[str] = set()
        with duckdb.connect(str(warehouse), read_only=True) as con:
            columns = con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE column_name LIKE '%_pseudo' OR column_name = 'person_id'").fetchall()
            for table, column in columns:
                pseudonyms |= {r[0] for r in con.execute(
                    f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'
                ).fetchall()}
        assert nhs and names and dobs and postcodes and pseudonyms, "nothing read to check"
        return cls(*(frozenset(x) for x in (nhs, names, dobs, postcodes, addresses, uprns,
                                            local, pseudonyms)))


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def identifier_problems(text: str, ids: Identifiers, *,
                        allowed_dates: frozenset[str] = frozenset()) -> list[str]:
    """Every identifier of ``ids`` found in ``text`` (``allowed_dates``: design dates).

    HTML tag names are dropped first (``</li><li>`` is not someone called "Li Li"); their
    attributes and all the text are searched.
    """
    text = _TAG_NAME.sub(" ", text)
    problems = []
    digits = {d.replace(" ", "") for d in _DIGITS.findall(text)}
    problems += [f"NHS number {n}" for n in sorted(digits & ids.nhs_numbers)]
    problems += [f"UPRN {u}" for u in sorted(digits & ids.uprns)]
    problems += [f"pseudonym {p}" for p in sorted(set(_HEX32.findall(text)) & ids.pseudonyms)]
    dates = set(_ISO.findall(text)) | {f"{y}-{m}-{d}" for d, m, y in _UK_DATE.findall(text)}
    problems += [f"date of birth {d}" for d in sorted((dates & ids.dates_of_birth)
                                                      - allowed_dates)]
    tokens = _WORD.findall(text)
    upper = [t.upper() for t in tokens]
    seen = set(upper) | {f"{a} {b}" for a, b in itertools.pairwise(upper)}
    problems += [f"postcode {p}" for p in sorted(ids.postcodes)
                 if p in seen or p.replace(" ", "") in seen]
    runs = {" ".join(upper[i:i + k]) for k in range(2, 9) for i in range(len(upper) - k + 1)}
    problems += [f"name {n}" for n in sorted(ids.names)
                 if " ".join(_WORD.findall(n.upper())) in runs]
    problems += [f"address {a}" for a in sorted(ids.addresses)
                 if " ".join(_WORD.findall(a.upper())) in runs]
    problems += [f"record id {r}" for r in sorted(ids.local_ids & set(tokens))]
    return problems


def allowed(value: str, rule: SuppressionRule) -> bool:
    """Whether a count as shown follows the rule."""
    text = value.strip()
    if text in (SUPPRESSED, "–", "-", ""):
        return True
    n = int(text.replace(",", ""))
    if n == 0:
        return not rule.suppress_zero
    return n >= rule.threshold and n % rule.rounding == 0


class _Page(HTMLParser):
    """The counts of one page: marked counts, count columns' cells and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marked: list[str] = []
        self.cells: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._in_count = 0
        self._count_text: list[str] = []
        self._skip = 0
        self._headings: list[str] = []
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("style", "script", "title"):
            self._skip += 1
        if "count" in classes:
            self._in_count += 1
            self._count_text = []
        if tag == "thead":
            self._in_head = True
            self._headings = []
        if tag == "tr":
            self._row = []
        if tag in ("td", "th"):
            self._cell = []
        if tag == "table":
            self._headings = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        if tag == "span" and self._in_count:
            self._in_count -= 1
            self.marked.append("".join(self._count_text))
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr":
            if self._in_head:
                self._headings = list(self._row)
            else:
                for heading, value in zip(self._headings, self._row, strict=False):
                    if _COUNT_HEADING.match(heading.strip()):
                        self.cells.append((heading, value))
        if tag == "thead":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._in_count:
            self._count_text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def count_problems(html: str, rule: SuppressionRule) -> tuple[list[str], int]:
    """Counts on a page that break the rule, and how many counts were checked."""
    page = _Page()
    page.feed(html)
    problems, checked = [], 0
    for value in page.marked:
        checked += 1
        if not allowed(value, rule):
            problems.append(f"marked count {value!r}")
    for heading, value in page.cells:
        checked += 1
        number = value.split(" ")[0]
        if not re.fullmatch(r"\*|–|-|\d{1,3}(,\d{3})*|\d+", number) or not allowed(number, rule):
            problems.append(f"{heading}: {value!r}")
    for chunk in page.text:  # one text node at a time: a table's cells never run together
        for number, word in _COUNT_IN_TEXT.findall(" ".join(chunk.split())):
            checked += 1
            if not allowed(number, rule):
                problems.append(f"'{number} {word}' in the text")
    return problems, checked


def json_count_problems(obj: Any, rule: SuppressionRule, path: str = "") -> list[str]:
    """Whole-number values under count keys of a JSON document that break the rule."""
    problems = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}.{key}"
            if key in COUNT_KEYS and isinstance(value, int) and not isinstance(value, bool):
                if not allowed(str(value), rule):
                    problems.append(f"{here} = {value}")
            else:
                problems += json_count_problems(value, rule, here)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            problems += json_count_problems(value, rule, f"{path}[{i}]")
    return problems


def design_dates(folder: Path) -> frozenset[str]:
    """The model's as-of dates and follow-up end: dates a report rightly shows.

    Some synthetic resident may well be born on one of them; that is not a disclosure.
    """
    facts = load_json(folder / "facts.json")
    d = facts["design"]
    return frozenset([*d["train_dates"], d["validation_date"], d["test_date"],
                      facts["retraining"]["outcomes_up_to"]])


def load_json(path: Path) -> Any:
    """A JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))
