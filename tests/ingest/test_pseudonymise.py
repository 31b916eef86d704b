from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_model.errors import ConfigError, DataError
from risk_model.ingest.pseudonymise import (
    KEY_ENV,
    PseudonymKey,
    birth_year_month,
    load_key,
    normalise_name,
    phonetic_code,
    pseudonymise,
    scan_for_identifiers,
    scrub_free_text,
)

SECRET = "0123456789abcdef" * 4  # 64 characters
OTHER_SECRET = "fedcba9876543210" * 4
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def key() -> PseudonymKey:
    return PseudonymKey(SECRET.encode())


# ---------------------------------------------------------------------------------------------
# load_key and PseudonymKey
# ---------------------------------------------------------------------------------------------


def test_load_key_from_environment() -> None:
    loaded = load_key(environ={KEY_ENV: f"  {SECRET}\n"})
    assert loaded.secret == SECRET.encode()


def test_load_key_from_file_strips_whitespace_and_ignores_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"\n{SECRET}  \n", encoding="utf-8")
    loaded = load_key(key_file, environ={KEY_ENV: OTHER_SECRET})
    assert loaded.secret == SECRET.encode()
    assert load_key(str(key_file), environ={}) == loaded


@pytest.mark.parametrize("environ", [{}, {KEY_ENV: ""}, {KEY_ENV: "   "}])
def test_missing_key_has_exact_message_and_hint(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_key(environ=environ)
    assert info.value.message == (
        "no pseudonymisation key: set RISK_MODEL_PSEUDONYM_KEY or pass --key-file PATH"
    )
    assert info.value.hint == (
        'make a key once with `python -c "import secrets; print(secrets.token_hex(32))"`, '
        "keep it outside the workspace, and use the same key for every run so pseudonyms "
        "stay stable"
    )


def test_short_key_refused_without_showing_it(tmp_path: Path) -> None:
    short = "tooshort-secret-xyz"  # 19 characters
    with pytest.raises(ConfigError) as info:
        load_key(environ={KEY_ENV: short})
    assert info.value.message == (
        "pseudonymisation key is too short: 19 characters, at least 32 needed"
    )
    assert short not in str(info.value)

    key_file = tmp_path / "key.txt"
    key_file.write_text(short + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="too short: 19 characters"):
        load_key(key_file)


def test_key_of_exactly_32_characters_is_accepted() -> None:
    assert len(load_key(environ={KEY_ENV: "k" * 32}).secret) == 32


def test_missing_key_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "key.txt"
    with pytest.raises(ConfigError) as info:
        load_key(missing, environ={KEY_ENV: SECRET})
    assert info.value.message == f"pseudonymisation key file not found: {missing}"


def test_unreadable_key_file_names_the_path_not_the_content(tmp_path: Path) -> None:
    as_folder = tmp_path / "key_dir"
    as_folder.mkdir()
    with pytest.raises(ConfigError, match="cannot be read") as info:
        load_key(as_folder)
    assert str(as_folder) in info.value.message

    not_utf8 = tmp_path / "key.bin"
    not_utf8.write_bytes(b"\xff\xfe" + SECRET.encode())
    with pytest.raises(ConfigError, match="not UTF-8 text") as info:
        load_key(not_utf8)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_key_file_inside_workspace_is_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "config").mkdir(parents=True)
    inside = workspace / "config" / "key.txt"
    inside.write_text(SECRET, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_key(inside, workspace=workspace)
    assert info.value.message == f"pseudonymisation key file is inside the workspace: {inside}"
    assert "must never live in the workspace" in str(info.value.hint)
    assert "move it" in str(info.value.hint)

    # A relative path written from inside the workspace is caught too.
    outside = tmp_path / "secrets" / "key.txt"
    outside.parent.mkdir()
    outside.write_text(SECRET, encoding="utf-8")
    assert load_key(outside, workspace=workspace).secret == SECRET.encode()


def test_symlink_in_workspace_to_key_outside_is_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    outside = tmp_path / "key.txt"
    outside.write_text(SECRET, encoding="utf-8")
    link = workspace / "key.txt"
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match="inside the workspace"):
        load_key(link, workspace=workspace)


def test_fingerprint_is_stable_and_repr_hides_the_secret() -> None:
    first = PseudonymKey(SECRET.encode())
    again = load_key(environ={KEY_ENV: SECRET})
    other = PseudonymKey(OTHER_SECRET.encode())
    assert re.fullmatch(r"[0-9a-f]{12}", first.fingerprint)
    assert first.fingerprint == again.fingerprint
    assert first.fingerprint != other.fingerprint
    expected = hashlib.sha256(b"risk_model-key-fingerprint" + SECRET.encode()).hexdigest()[:12]
    assert first.fingerprint == expected
    for shown in (repr(first), str(first), f"{first}", repr([first])):
        assert SECRET not in shown
        assert SECRET[:8] not in shown
        assert "<hidden>" in shown


def test_key_is_frozen(key: PseudonymKey) -> None:
    with pytest.raises(AttributeError):
        key.secret = b"x" * 64  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# pseudonymise
# ---------------------------------------------------------------------------------------------


def test_pseudonymise_known_answer(key: PseudonymKey) -> None:
    # Pins the construction (domain, 0x1f, value; HMAC-SHA256; 32 hex characters) so a change
    # that would silently break linkage with earlier runs fails here.
    out = pseudonymise(pd.Series(["SMITH"]), key, domain="surname")
    expected = hmac.new(SECRET.encode(), b"surname\x1fSMITH", hashlib.sha256).hexdigest()[:32]
    assert out.iloc[0] == expected


def test_pseudonymise_is_deterministic_and_32_hex(key: PseudonymKey) -> None:
    values = pd.Series(["9990000018", "SMITH", "O'BRIEN"])
    first = pseudonymise(values, key, domain="x")
    second = pseudonymise(values.copy(), PseudonymKey(SECRET.encode()), domain="x")
    pd.testing.assert_series_equal(first, second)
    assert str(first.dtype) == "string"
    assert all(HEX32.fullmatch(v) for v in first)
    assert first.nunique() == 3


def test_pseudonymise_differs_by_key_and_domain(key: PseudonymKey) -> None:
    values = pd.Series(["JAMES"])
    surname = pseudonymise(values, key, domain="surname").iloc[0]
    forename = pseudonymise(values, key, domain="forename").iloc[0]
    other_key = pseudonymise(values, PseudonymKey(OTHER_SECRET.encode()), domain="surname")
    assert surname != forename
    assert surname != other_key.iloc[0]


def test_pseudonymise_keeps_missing_values_missing(key: PseudonymKey) -> None:
    values = pd.Series(["A", None, "", np.nan, "  ", "A"], dtype=object)
    out = pseudonymise(values, key, domain="d")
    assert out.isna().tolist() == [False, True, True, True, True, False]
    assert out.iloc[1] is pd.NA
    assert out.iloc[0] == out.iloc[5]


def test_pseudonymise_unique_mapping_matches_row_by_row(key: PseudonymKey) -> None:
    rng = np.random.default_rng(7)
    pool = np.array([f"{n:010d}" for n in range(50)], dtype=object)
    raw = pool[rng.integers(0, 50, size=2_000)]
    raw[rng.random(2_000) < 0.1] = None
    values = pd.Series(raw, index=rng.permutation(2_000) + 10_000, name="nhs_number")
    out = pseudonymise(values, key, domain="nhs_number")

    assert out.index.equals(values.index)
    assert out.name == "nhs_number"
    for value, pseudonym in zip(values, out, strict=True):
        if pd.isna(value):
            assert pseudonym is pd.NA
        else:
            msg = f"nhs_number\x1f{value}".encode()
            expected = hmac.new(SECRET.encode(), msg, hashlib.sha256).hexdigest()[:32]
            assert pseudonym == expected


def test_pseudonymise_integer_identifiers_match_their_text(key: PseudonymKey) -> None:
    as_int = pseudonymise(pd.Series([100023336956, None], dtype="Int64"), key, domain="uprn")
    as_text = pseudonymise(pd.Series(["100023336956", None]), key, domain="uprn")
    pd.testing.assert_series_equal(as_int, as_text)


def test_pseudonymise_refuses_floats(key: PseudonymKey) -> None:
    with pytest.raises(DataError, match="float64"):
        pseudonymise(pd.Series([123.0, np.nan]), key, domain="uprn")


@pytest.mark.parametrize("domain", ["", "a\x1fb"])
def test_pseudonymise_refuses_bad_domain(key: PseudonymKey, domain: str) -> None:
    with pytest.raises(ValueError, match="domain"):
        pseudonymise(pd.Series(["A"]), key, domain=domain)


def test_pseudonymise_empty_series(key: PseudonymKey) -> None:
    out = pseudonymise(pd.Series([], dtype="string"), key, domain="d")
    assert len(out) == 0
    assert str(out.dtype) == "string"


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", "OBRIEN"),
        ("Taylor-Clarke", "TAYLORCLARKE"),
        ("  mary ann ", "MARYANN"),
        ("Zoë", "ZOE"),
        ("José", "JOSE"),
        ("Søren", "SOREN"),
        ("Strauß", "STRAUSS"),
        ("O’Neill", "ONEILL"),
        ("", None),
        ("  -' ", None),
        (None, None),
    ],
)
def test_normalise_name(raw: str | None, expected: str | None) -> None:
    out = normalise_name(pd.Series([raw], dtype=object))
    assert str(out.dtype) == "string"
    if expected is None:
        assert out.iloc[0] is pd.NA
    else:
        assert out.iloc[0] == expected


def test_normalise_name_keeps_index_and_repeats() -> None:
    values = pd.Series(["Khan", None, "khan", "Khan"], index=[5, 3, 9, 1])
    out = normalise_name(values)
    assert out.index.tolist() == [5, 3, 9, 1]
    assert out.tolist() == ["KHAN", pd.NA, "KHAN", "KHAN"]


@pytest.mark.parametrize(
    ("a", "b"),
    [("Mohammed", "Muhammad"), ("Chowdhury", "Choudhury"), ("Smith", "Smyth")],
)
def test_phonetic_code_matches_spelling_variants(a: str, b: str) -> None:
    codes = phonetic_code(pd.Series([a, b]))
    assert codes.iloc[0] == codes.iloc[1]
    assert pd.notna(codes.iloc[0])
    assert codes.iloc[0] != ""


def test_phonetic_code_separates_different_names_and_keeps_na() -> None:
    codes = phonetic_code(pd.Series(["Smith", "Jones", None, "O'Brien"]))
    assert codes.iloc[0] != codes.iloc[1]
    assert codes.iloc[2] is pd.NA
    assert str(codes.dtype) == "string"
    # Raw and normalised input give the same code.
    assert codes.iloc[3] == phonetic_code(pd.Series(["OBRIEN"])).iloc[0]


# ---------------------------------------------------------------------------------------------
# Dates of birth
# ---------------------------------------------------------------------------------------------


def test_birth_year_month() -> None:
    dates = pd.Series(pd.to_datetime(["1980-07-14", None, "2001-12-31"]), index=[2, 0, 1])
    year, month = birth_year_month(dates)
    assert str(year.dtype) == "Int64"
    assert str(month.dtype) == "Int64"
    assert year.tolist() == [1980, pd.NA, 2001]
    assert month.tolist() == [7, pd.NA, 12]
    assert year.index.tolist() == [2, 0, 1]


def test_birth_year_month_refuses_text_dates() -> None:
    with pytest.raises(DataError, match="datetime64"):
        birth_year_month(pd.Series(["1980-07-14"]))


# ---------------------------------------------------------------------------------------------
# Free text
# ---------------------------------------------------------------------------------------------


def scrub_one(text: str, known_names: set[str] | None = None) -> tuple[str, bool]:
    out, changed = scrub_free_text(pd.Series([text]), known_names=known_names or ())
    return out.iloc[0], bool(changed.iloc[0])


def test_scrub_repair_note_keeps_black_mould_but_removes_name_and_phone() -> None:
    text = "Black mould on bedroom ceiling. Spoke to Amelia Khan, call back on 07700 900123"
    out, changed = scrub_one(text, {"AMELIA", "KHAN", "BLACK"})
    assert changed
    assert "Amelia" not in out
    assert "Khan" not in out
    assert not re.search(r"\d", out)
    assert out.startswith("Black mould on bedroom ceiling.")
    assert out == (
        "Black mould on bedroom ceiling. Spoke to [name removed], call back on [phone removed]"
    )


def test_scrub_email() -> None:
    out, changed = scrub_one("Tenant email amelia.khan@example.com")
    assert changed
    assert out == "Tenant email [email removed]"


def test_scrub_nhs_number() -> None:
    out, changed = scrub_one("GP letter attached, NHS no 999 123 4567")
    assert changed
    assert out == "GP letter attached, NHS no [NHS number removed]"


@pytest.mark.parametrize("number", ["9991234567", "999-123-4567", "999 000 0018"])
def test_scrub_ten_digit_forms(number: str) -> None:
    out, _ = scrub_one(f"ref {number} noted")
    assert out == "ref [NHS number removed] noted"


def test_scrub_title_and_surname() -> None:
    out, changed = scrub_one("Mrs Khan says it has been like this since winter")
    assert changed
    assert out == "[name removed] says it has been like this since winter"


@pytest.mark.parametrize(
    "text",
    ["mr. Jones called", "Dr Amelia Khan called", "MX Taylor-Clarke called", "Miss O'Brien called"],
)
def test_scrub_titles_any_case_with_one_or_two_names(text: str) -> None:
    out, _ = scrub_one(text)
    assert out == "[name removed] called"


@pytest.mark.parametrize(
    "phone",
    [
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "+447700900123",
        "020 7946 0958",
        "0113 496 0000",
        "01632 960983",
        "+44 (0)20 7946 0958",
    ],
)
def test_scrub_uk_phone_numbers(phone: str) -> None:
    out, changed = scrub_one(f"ring {phone} today")
    assert changed
    assert out == "ring [phone removed] today"


def test_scrub_lone_known_name_is_kept_but_adjacent_known_names_go() -> None:
    known = {"white", "Rose", "KHAN", "AMELIA"}
    kept, changed = scrub_one("White goods fine; Rose bush blocks the gutter", known)
    assert kept == "White goods fine; Rose bush blocks the gutter"
    assert not changed
    out, _ = scrub_one("Letter to Khan, Amelia re damp", known)
    assert out == "Letter to [name removed] re damp"


def test_scrub_text_with_nothing_to_scrub_is_unchanged() -> None:
    text = "Leak under kitchen sink, contractor booked for Tuesday 14/03 at 10am."
    texts = pd.Series([text, None, text], index=["a", "b", "c"])
    out, changed = scrub_free_text(texts, known_names={"AMELIA", "KHAN"})
    assert out.iloc[0] == text
    assert out.iloc[1] is pd.NA
    assert changed.tolist() == [False, False, False]
    assert changed.dtype == bool
    assert str(out.dtype) == "string"
    assert out.index.tolist() == ["a", "b", "c"]


def test_scrub_repeated_texts_map_back_correctly() -> None:
    texts = pd.Series(["call 07700 900123", "dry", None, "call 07700 900123", "dry"])
    out, changed = scrub_free_text(texts)
    assert out.tolist() == ["call [phone removed]", "dry", pd.NA, "call [phone removed]", "dry"]
    assert changed.tolist() == [True, False, False, True, False]


def test_scrubbed_text_passes_the_leak_scan() -> None:
    texts = pd.Series(
        [
            "NHS 999 000 0018, mobile 07700 900123, mail a.b@example.org",
            "Dr Smith on 020 7946 0958",
        ]
    )
    assert scan_for_identifiers(texts.iloc[0]) == ["nhs_number", "phone", "email"]
    out, _ = scrub_free_text(texts)
    assert all(scan_for_identifiers(t) == [] for t in out)


def test_scan_for_identifiers_needs_a_valid_nhs_check_digit() -> None:
    assert scan_for_identifiers("ref 999 000 0019") == []
    assert scan_for_identifiers("ref 999-000-0018") == ["nhs_number"]
    assert scan_for_identifiers("nothing here") == []
