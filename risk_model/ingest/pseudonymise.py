"""Pseudonymisation at the ingest boundary.

This is the one place where identifiers become keyed pseudonyms and quasi-identifiers become
coarser values, before anything else in risk_model sees the data:

* identifiers (NHS number, UPRN, normalised names, ...) become HMAC-SHA256 pseudonyms under a
  secret key held outside the workspace (:func:`load_key`, :func:`pseudonymise`), so the same
  person gets the same pseudonym in every source and every run that uses the same key, while
  nobody without the key can recompute or reverse them;
* names are normalised (:func:`normalise_name`) and given a phonetic code
  (:func:`phonetic_code`) so spelling variants can still be linked on their pseudonyms;
* dates of birth are coarsened to year and month (:func:`birth_year_month`);
* free text (repair notes, case notes) is scrubbed of NHS numbers, phone numbers, e-mail
  addresses and names (:func:`scrub_free_text`), and :func:`scan_for_identifiers` lets leak
  tests check that nothing got through.

Nothing here logs an identifier value: logs carry counts, domains and the key's fingerprint only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd

from risk_model.errors import ConfigError, DataError
from risk_model.identifiers import is_valid_nhs_number

__all__ = [
    "KEY_ENV",
    "PseudonymKey",
    "birth_year_month",
    "load_key",
    "normalise_name",
    "phonetic_code",
    "pseudonymise",
    "scan_for_identifiers",
    "scrub_free_text",
]

logger = logging.getLogger(__name__)

#: Environment variable holding the pseudonymisation key when no key file is given.
KEY_ENV = "RISK_MODEL_PSEUDONYM_KEY"
#: Fewest characters a key may have (``secrets.token_hex(32)`` gives 64).
MIN_KEY_LENGTH = 32
#: Hex characters kept from each HMAC-SHA256 digest (128 bits).
PSEUDONYM_LENGTH = 32

_FINGERPRINT_PREFIX = b"risk_model-key-fingerprint"
_DOMAIN_SEPARATOR = "\x1f"

# Error messages: module-level constants so tests can assert their exact text. None of them ever
# contains the key itself.
NO_KEY_MESSAGE = f"no pseudonymisation key: set {KEY_ENV} or pass --key-file PATH"
NO_KEY_HINT = (
    'make a key once with `python -c "import secrets; print(secrets.token_hex(32))"`, keep it '
    "outside the workspace, and use the same key for every run so pseudonyms stay stable"
)
KEY_FILE_NOT_FOUND_MESSAGE = "pseudonymisation key file not found: {path}"
KEY_FILE_NOT_FOUND_HINT = f"check the --key-file path, or set {KEY_ENV} instead"
KEY_FILE_UNREADABLE_MESSAGE = "pseudonymisation key file cannot be read: {path} ({reason})"
KEY_FILE_UNREADABLE_HINT = "make the key file a readable UTF-8 text file holding only the key"
KEY_TOO_SHORT_MESSAGE = "pseudonymisation key is too short: {length} characters, at least 32 needed"
KEY_TOO_SHORT_HINT = (
    'make a longer key with `python -c "import secrets; print(secrets.token_hex(32))"`; '
    "changing the key changes every pseudonym, so do this before the first real run"
)
KEY_IN_WORKSPACE_MESSAGE = "pseudonymisation key file is inside the workspace: {path}"
KEY_IN_WORKSPACE_HINT = (
    "the key must never live in the workspace, where it would travel with the data it protects; "
    "move it to a folder outside {workspace} and pass that path with --key-file"
)
FLOAT_VALUES_MESSAGE = "cannot pseudonymise values of dtype {dtype}"
FLOAT_VALUES_HINT = (
    "floats print as '123.0', so the same identifier would get two pseudonyms; convert first, "
    "e.g. values.astype('Int64') for numeric identifiers"
)
NOT_DATETIME_MESSAGE = "birth dates must be datetime64 values, got dtype {dtype}"
NOT_DATETIME_HINT = "parse the column first, e.g. pd.to_datetime(values, format='%Y-%m-%d')"

#: Placeholders written into scrubbed free text.
NHS_PLACEHOLDER = "[NHS number removed]"
PHONE_PLACEHOLDER = "[phone removed]"
EMAIL_PLACEHOLDER = "[email removed]"
NAME_PLACEHOLDER = "[name removed]"


# --------------------------------------------------------------------------------------------
# Key
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class PseudonymKey:
    """The secret key behind every pseudonym, with a fingerprint that is safe to record.

    Parameters
    ----------
    secret : bytes
        The key material. It is never shown by ``repr`` or ``str``.

    Attributes
    ----------
    fingerprint : str
        First 12 hex characters of ``sha256(b"risk_model-key-fingerprint" + secret)``: lets a run
        record which key it used without revealing the key.

    Examples
    --------
    >>> key = PseudonymKey(b"0" * 64)
    >>> repr(key).startswith("PseudonymKey(<hidden>")
    True
    >>> len(key.fingerprint)
    12
    """

    secret: bytes
    fingerprint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes):
            raise TypeError(f"PseudonymKey secret must be bytes, got {type(self.secret).__name__}")
        if not self.secret:
            raise ValueError("PseudonymKey secret must not be empty")
        digest = hashlib.sha256(_FINGERPRINT_PREFIX + self.secret).hexdigest()
        object.__setattr__(self, "fingerprint", digest[:12])

    def __repr__(self) -> str:
        return f"PseudonymKey(<hidden>, fingerprint={self.fingerprint!r})"

    __str__ = __repr__


def load_key(
    key_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    workspace: Path | None = None,
) -> PseudonymKey:
    """Load the pseudonymisation key from a key file or from ``RISK_MODEL_PSEUDONYM_KEY``.

    Parameters
    ----------
    key_file : str or os.PathLike, optional
        File holding the key as text; surrounding whitespace is stripped and the rest is used as
        UTF-8 bytes. When given, the environment is not consulted.
    environ : Mapping[str, str], optional
        Where to look for ``RISK_MODEL_PSEUDONYM_KEY`` (default ``os.environ``).
    workspace : pathlib.Path, optional
        The workspace folder. A key file inside it (before or after following symbolic links)
        is refused.

    Returns
    -------
    PseudonymKey
        The key.

    Raises
    ------
    ConfigError
        When there is no key, the key file is missing, unreadable or inside the workspace, or the
        key has fewer than 32 characters. The message never contains the key.

    Examples
    --------
    >>> key = load_key(environ={"RISK_MODEL_PSEUDONYM_KEY": "a" * 64})
    >>> len(key.fingerprint)
    12
    """
    if key_file is not None:
        path = Path(key_file).expanduser()
        if workspace is not None:
            _refuse_key_in_workspace(path, Path(workspace))
        text = _read_key_file(path)
        source = "key file"
    else:
        env = os.environ if environ is None else environ
        text = env.get(KEY_ENV, "")
        if not text.strip():
            raise ConfigError(NO_KEY_MESSAGE, hint=NO_KEY_HINT)
        source = KEY_ENV
    text = text.strip()
    if len(text) < MIN_KEY_LENGTH:
        raise ConfigError(KEY_TOO_SHORT_MESSAGE.format(length=len(text)), hint=KEY_TOO_SHORT_HINT)
    key = PseudonymKey(text.encode("utf-8"))
    logger.info("pseudonymisation key %s loaded from %s", key.fingerprint, source)
    return key


def _refuse_key_in_workspace(path: Path, workspace: Path) -> None:
    """Raise ConfigError when ``path`` lies inside ``workspace`` (as written or as resolved)."""
    roots = {Path(os.path.abspath(workspace)), workspace.resolve()}
    candidates = {Path(os.path.abspath(path)), path.resolve()}
    if any(c == r or c.is_relative_to(r) for c in candidates for r in roots):
        raise ConfigError(
            KEY_IN_WORKSPACE_MESSAGE.format(path=path),
            hint=KEY_IN_WORKSPACE_HINT.format(workspace=workspace),
        )


def _read_key_file(path: Path) -> str:
    """Return the key file's text, or raise ConfigError naming the path (never the content)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            KEY_FILE_NOT_FOUND_MESSAGE.format(path=path), hint=KEY_FILE_NOT_FOUND_HINT
        ) from None
    except UnicodeDecodeError:
        # The decode error quotes the offending bytes, which are key material: drop it.
        raise ConfigError(
            KEY_FILE_UNREADABLE_MESSAGE.format(path=path, reason="not UTF-8 text"),
            hint=KEY_FILE_UNREADABLE_HINT,
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            KEY_FILE_UNREADABLE_MESSAGE.format(path=path, reason=reason),
            hint=KEY_FILE_UNREADABLE_HINT,
        ) from None


# --------------------------------------------------------------------------------------------
# Unique-then-map helper
# --------------------------------------------------------------------------------------------


def _map_unique(
    values: pd.Series, transform: Callable[[Sequence[object]], Sequence[str | None]]
) -> pd.Series:
    """Apply ``transform`` to the distinct non-missing values only and map the results back.

    ``transform`` gets the distinct values and returns one ``str`` or ``None`` (missing) for each.
    Missing inputs stay missing. The result has dtype ``"string"`` and the input's index and name.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = pd.array(list(transform(list(uniques))), dtype="string")
    out = mapped.take(codes, allow_fill=True)
    return pd.Series(out, index=values.index, name=values.name)


# --------------------------------------------------------------------------------------------
# Pseudonyms
# --------------------------------------------------------------------------------------------


def pseudonymise(values: pd.Series, key: PseudonymKey, *, domain: str) -> pd.Series:
    r"""Turn identifiers into keyed pseudonyms: HMAC-SHA256 under ``key``, 32 hex characters.

    Each value is hashed as ``f"{domain}\x1f{value}"``, so the same text gets unrelated
    pseudonyms in different domains (a surname "JAMES" and a forename "JAMES" do not match).
    Only the distinct values are hashed, so millions of rows with many repeats are cheap.

    Parameters
    ----------
    values : pandas.Series
        Identifiers, already normalised by the caller (e.g. with :func:`normalise_name`); text or
        integer values. Missing values, empty and whitespace-only strings stay missing.
    key : PseudonymKey
        The secret key (see :func:`load_key`).
    domain : str
        What the values are, e.g. ``"nhs_number"``, ``"surname"``; must be non-empty and must not
        contain the separator character ``\x1f``.

    Returns
    -------
    pandas.Series
        Pseudonyms, dtype ``"string"``, same index and name as ``values``; ``<NA>`` where the
        input was missing.

    Raises
    ------
    DataError
        When ``values`` are floats, whose text form ("123.0") would give unstable pseudonyms.

    Examples
    --------
    >>> key = PseudonymKey(b"k" * 64)
    >>> out = pseudonymise(pd.Series(["SMITH", None, "SMITH"]), key, domain="surname")
    >>> bool(out[0] == out[2]), bool(pd.isna(out[1])), len(out[0])
    (True, True, 32)
    """
    if not domain or _DOMAIN_SEPARATOR in domain:
        raise ValueError("domain must be a non-empty string without the \\x1f separator")
    if pd.api.types.is_float_dtype(values.dtype):
        raise DataError(FLOAT_VALUES_MESSAGE.format(dtype=values.dtype), hint=FLOAT_VALUES_HINT)
    secret = key.secret
    prefix = domain + _DOMAIN_SEPARATOR
    nbytes = PSEUDONYM_LENGTH // 2

    def transform(uniques: Sequence[object]) -> list[str | None]:
        out: list[str | None] = []
        for value in uniques:
            text = str(value)
            if not text.strip():
                out.append(None)
                continue
            digest = hmac.digest(secret, (prefix + text).encode("utf-8"), "sha256")
            out.append(digest[:nbytes].hex())
        return out

    result = _map_unique(values, transform)
    logger.debug("pseudonymised %d values in domain %r", len(values), domain)
    return result


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

# Upper-case letters that NFKD does not decompose into A-Z plus combining marks;
# "ẞ" because pyarrow upper-cases "ß" to capital sharp s where Python gives "SS".
_LETTER_FOLDS = str.maketrans(
    {"ẞ": "SS", "Ø": "O", "Æ": "AE", "Œ": "OE", "Ł": "L", "Đ": "D", "Þ": "TH"}
)
_NOT_A_TO_Z = re.compile(r"[^A-Z]+")


def _normalise_one(text: str) -> str:
    """Scalar twin of :func:`normalise_name` (empty string instead of NA)."""
    folded = unicodedata.normalize("NFKD", text).upper().translate(_LETTER_FOLDS)
    return _NOT_A_TO_Z.sub("", folded)


def normalise_name(values: pd.Series) -> pd.Series:
    """Normalise names for matching: upper case, accents stripped, only the letters A-Z kept.

    Hyphens, apostrophes, spaces and any other character are removed, so ``"O'Brien"`` becomes
    ``"OBRIEN"`` and ``"Taylor-Clarke"`` becomes ``"TAYLORCLARKE"``. Accented letters lose their
    accents (``"Zoë"`` -> ``"ZOE"``); a few letters without a decomposition are folded
    (``Ø`` -> ``O``, ``Æ`` -> ``AE``, ``ß`` -> ``SS``). Names with no Latin letters at all become
    missing.

    Parameters
    ----------
    values : pandas.Series
        Names as text.

    Returns
    -------
    pandas.Series
        Normalised names, dtype ``"string"``; ``<NA>`` where the input was missing or nothing
        was left.

    Examples
    --------
    >>> normalise_name(pd.Series(["O'Brien", "Zoë", " ", None])).tolist()
    ['OBRIEN', 'ZOE', <NA>, <NA>]
    """

    def transform(uniques: Sequence[object]) -> pd.Series:
        out = (
            pd.Series(uniques, dtype="string")
            .str.normalize("NFKD")
            .str.upper()
            .str.translate(_LETTER_FOLDS)
            .str.replace(_NOT_A_TO_Z.pattern, "", regex=True)
        )
        return out.mask(out == "")

    return _map_unique(values.astype("string"), transform)


def phonetic_code(values: pd.Series) -> pd.Series:
    """Metaphone code of each name, so spelling variants of a name share a code.

    The names are normalised with :func:`normalise_name` first (a no-op on names that already
    are), so raw or normalised names give the same codes.

    Parameters
    ----------
    values : pandas.Series
        Names.

    Returns
    -------
    pandas.Series
        Phonetic codes, dtype ``"string"``; ``<NA>`` where the name is missing.

    Examples
    --------
    >>> phonetic_code(pd.Series(["Mohammed", "Muhammad", None])).tolist()
    ['MHMT', 'MHMT', <NA>]
    """
    # Metaphone rather than NYSIIS: both give Mohammed/Muhammad one code, but NYSIIS keeps the
    # vowel/W difference in Choudhury (CADARY) / Chowdhury (CAODARY) and Smith (SNAT) / Smyth
    # (SNYT), two common variant spellings in UK records; metaphone gives XTHR and SM0 for both.
    # Soundex would also match them but keeps only 4 characters and so merges far more names.
    names = normalise_name(values)

    def transform(uniques: Sequence[object]) -> list[str | None]:
        return [jellyfish.metaphone(str(name)) or None for name in uniques]

    return _map_unique(names, transform)


# --------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------


def birth_year_month(dates: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Coarsen dates of birth to year and month.

    Parameters
    ----------
    dates : pandas.Series
        Dates of birth, dtype ``datetime64`` (time zone aware or not).

    Returns
    -------
    year : pandas.Series
        Year of birth, dtype ``Int64``, named ``"birth_year"``.
    month : pandas.Series
        Month of birth (1-12), dtype ``Int64``, named ``"birth_month"``.

    Raises
    ------
    DataError
        When ``dates`` is not a datetime64 column.

    Examples
    --------
    >>> year, month = birth_year_month(pd.Series(pd.to_datetime(["1980-07-14", None])))
    >>> year.tolist(), month.tolist()
    ([1980, <NA>], [7, <NA>])
    """
    if not pd.api.types.is_datetime64_any_dtype(dates.dtype):
        raise DataError(NOT_DATETIME_MESSAGE.format(dtype=dates.dtype), hint=NOT_DATETIME_HINT)
    year = dates.dt.year.astype("Int64").rename("birth_year")
    month = dates.dt.month.astype("Int64").rename("birth_month")
    return year, month


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# UK phone numbers: 0 or +44 (optionally "+44 (0)"), then 1/2/3 (landline) or 7 (mobile), then
# 8 or 9 more digits with single spaces, hyphens or a closing bracket between them. That is 10
# or 11 digits in national form: 07700 900123, 020 7946 0958, (0113) 496 0000, +44 7700 900123.
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+44[\s-]?(?:\(0\)[\s-]?)?|\(0|0)[1237](?:\)?[\s-]?\d){8,9}(?!\d)"
)
# NHS numbers and any other 10-digit run: 3-3-4 with spaces or hyphens, or 10 digits in a row.
_TEN_DIGITS_RE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")

_UPPER = "A-ZÀ-ÖØ-Þ"
_LETTER = r"[^\W\d_]"
# A capitalised word: starts upper case, may hold inner apostrophes and hyphens (O'Brien,
# Taylor-Clarke).
_CAP_WORD = rf"(?<![\w'’-])[{_UPPER}]{_LETTER}*(?:['’-]{_LETTER}+)*(?!\w)"
_TITLE_NAME_RE = re.compile(
    rf"(?<!\w)(?i:mrs|mr|ms|miss|mx|dr)\.?(?!\w)"
    rf"(?:[ \t]+(?:[{_UPPER}]\.(?=[ \t])|{_CAP_WORD})){{1,2}}"
)
_NAME_TOKEN_RE = re.compile(rf"{re.escape(NAME_PLACEHOLDER)}|{_CAP_WORD}")
_NAME_SEPARATOR_RE = re.compile(r"\s*,?\s+")
_TWO_CAP_WORDS_RE = re.compile(rf"{_CAP_WORD}\s*,?\s+{_CAP_WORD}")


def _is_known(word: str, known: frozenset[str]) -> bool:
    if word == NAME_PLACEHOLDER:
        return True
    if _normalise_one(word) in known:
        return True
    return word[-2:] in ("'s", "’s") and _normalise_one(word[:-2]) in known


def _remove_known_name_runs(text: str, known: frozenset[str]) -> str:
    """Replace each run of two or more adjacent capitalised known-name words by one placeholder.

    A placeholder left by the title rule counts as a name word, so "Dr [name removed] Smith"
    collapses into one placeholder when Smith is a known name.
    """
    if not _TWO_CAP_WORDS_RE.search(text):
        return text
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []

    def close_run() -> None:
        if len(run) >= 2 and any(m.group() != NAME_PLACEHOLDER for m in run):
            spans.append((run[0].start(), run[-1].end()))
        run.clear()

    for match in _NAME_TOKEN_RE.finditer(text):
        if not _is_known(match.group(), known):
            close_run()
            continue
        if run and not _NAME_SEPARATOR_RE.fullmatch(text, run[-1].end(), match.start()):
            close_run()
        run.append(match)
    close_run()

    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces += [text[last:start], NAME_PLACEHOLDER]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _scrub_one(text: str, known: frozenset[str]) -> str:
    out = _EMAIL_RE.sub(EMAIL_PLACEHOLDER, text)
    out = _PHONE_RE.sub(PHONE_PLACEHOLDER, out)
    out = _TEN_DIGITS_RE.sub(NHS_PLACEHOLDER, out)
    out = _TITLE_NAME_RE.sub(NAME_PLACEHOLDER, out)
    if known:
        out = _remove_known_name_runs(out, known)
    return out


def scrub_free_text(
    texts: pd.Series, *, known_names: Iterable[str] = ()
) -> tuple[pd.Series, pd.Series]:
    """Remove NHS numbers, phone numbers, e-mail addresses and names from free text.

    Replacements, in this order:

    * e-mail addresses -> ``"[email removed]"``;
    * UK phone numbers (mobiles 07..., landlines 01/02/03..., ``+44`` forms, with or without
      spaces) -> ``"[phone removed]"``;
    * NHS numbers and any other run of ten digits (3-3-4 with spaces or hyphens, or ten digits
      in a row), valid check digit or not -> ``"[NHS number removed]"``;
    * a title (Mr, Mrs, Ms, Miss, Mx, Dr; any case, optional dot) and the one or two capitalised
      words or initials after it -> ``"[name removed]"``;
    * runs of two or more adjacent capitalised words (separated by spaces, optionally a comma,
      as in "Amelia Khan" or "Khan, Amelia") that are all in ``known_names`` -> one
      ``"[name removed]"``.

    The known-name rule is a deliberate trade-off. Many surnames are ordinary words (Black,
    White, Rose, Hall, Wood), and repair notes are full of them ("Black mould on the ceiling"),
    so a lone known-name word is kept: removing it would destroy the information the notes
    exist to carry. A lone name is only removed when a title precedes it ("Mrs Khan"). The cost
    is that a single name written alone ("Amelia called") stays in the text, and that two
    adjacent name-like words which are not a person ("Rose Hill") are removed. Titles are matched
    in any case, so "miss Tuesday" is removed too; over-removal is the safe side.

    Parameters
    ----------
    texts : pandas.Series
        Free text. Only distinct texts are scrubbed, then mapped back.
    known_names : Iterable[str], optional
        Forename and surname tokens from the landing zone; normalised here with the same rules
        as :func:`normalise_name`, so raw or normalised tokens both work.

    Returns
    -------
    scrubbed : pandas.Series
        The texts with placeholders, dtype ``"string"``; ``<NA>`` where the input was missing.
    changed : pandas.Series
        Boolean, True where anything was removed (False for missing texts).

    Examples
    --------
    >>> text, changed = scrub_free_text(pd.Series(["Call 07700 900123", "Leak under sink"]))
    >>> text.tolist(), changed.tolist()
    (['Call [phone removed]', 'Leak under sink'], [True, False])
    """
    known = frozenset(n for n in (_normalise_one(str(name)) for name in known_names) if n)
    strings = texts.astype("string")
    codes, uniques = pd.factorize(strings, use_na_sentinel=True)
    originals = [str(u) for u in uniques]
    scrubbed_uniques = [_scrub_one(text, known) for text in originals]
    changed_uniques = [new != old for new, old in zip(scrubbed_uniques, originals, strict=True)]

    scrubbed = pd.Series(
        pd.array(scrubbed_uniques, dtype="string").take(codes, allow_fill=True),
        index=texts.index,
        name=texts.name,
    )
    # Index -1 (missing text) picks the trailing False.
    flags = np.asarray([*changed_uniques, False], dtype=bool)[codes]
    changed = pd.Series(flags, index=texts.index, name="scrubbed", dtype=bool)
    logger.debug("scrubbed free text: %d of %d texts changed", int(changed.sum()), len(texts))
    return scrubbed, changed


def scan_for_identifiers(text: str) -> list[str]:
    """Say which kinds of identifier a text still holds; for leak tests.

    Parameters
    ----------
    text : str
        Any text, e.g. a log line or a cell of an output file.

    Returns
    -------
    list of str
        The kinds found, in the order ``"nhs_number"``, ``"phone"``, ``"email"``; never the
        values. ``"nhs_number"`` means a ten-digit run (3-3-4 or in a row) with a valid NHS
        check digit.

    Examples
    --------
    >>> scan_for_identifiers("NHS no 999 000 0018, ring 07700 900123")
    ['nhs_number', 'phone']
    >>> scan_for_identifiers("nothing here")
    []
    """
    kinds: list[str] = []
    if any(is_valid_nhs_number(m.group()) for m in _TEN_DIGITS_RE.finditer(text)):
        kinds.append("nhs_number")
    if _PHONE_RE.search(text):
        kinds.append("phone")
    if _EMAIL_RE.search(text):
        kinds.append("email")
    return kinds
