"""Administrator commands: users, officers' patches, capacities, and what scoring does with
the capacities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from risk_model.config import Workspace
from risk_model.errors import ConfigError
from risk_model.review.admin import (
    COMMAND_LINE,
    add_user,
    known_patches,
    list_users,
    set_active,
    set_capacity,
    set_password,
    set_patches,
)
from risk_model.review.auth import (
    PASSWORD_TOO_SHORT,
    SignInFailed,
    create_session,
    read_session,
    sign_in,
    verify_password,
)
from risk_model.review.store import (
    CAPACITY_TABLE,
    audit_events,
    capacity_overrides,
    engine,
)
from tests.review.backends import review_ws, sqlite_ws
from tests.scoring.conftest import scoring_copy

__all__ = ["review_ws", "sqlite_ws"]  # the fixtures, imported for pytest

PASSWORD = "a long enough passphrase"
NAMED = {"patches": {"named": [{"name": "North team", "lsoas": ["E01000001"], "capacity": 7},
                               {"name": "Rest", "lsoas": ["E01000002"], "capacity": 12}],
                     "others": "none"}}


def _named(ws: Workspace) -> Workspace:
    ws.settings_file.write_text(yaml.safe_dump(NAMED))
    return ws


def _add(ws: Workspace, username: str, role: str = "housing_officer", **kw: str) -> None:
    add_user(ws, username, role, display_name=username.title(), password=PASSWORD, **kw)


# ---- users ------------------------------------------------------------------------------------


def test_add_user_stores_a_hash_and_the_user_can_sign_in(review_ws: Workspace) -> None:
    made = add_user(review_ws, " Alice.Smith ", "housing_officer", display_name="Alice Smith",
                    password=PASSWORD)
    assert made.username == "alice.smith" and made.patches == ()
    _add(review_ws, "ana", "analyst")
    users = list_users(review_ws)
    assert [(u.username, u.role, u.active) for u in users] == [
        ("alice.smith", "housing_officer", True), ("ana", "analyst", True)]
    assert not hasattr(users[0], "password_hash")
    with engine(review_ws).connect() as con:
        stored = con.exec_driver_sql("SELECT password_hash FROM review_users").scalars().all()
    assert all(PASSWORD not in h and verify_password(PASSWORD, h) for h in stored)
    sign_in(review_ws, "alice.smith", PASSWORD)
    added = audit_events(review_ws, events=["admin_add_user"])
    assert [(e.username, e.detail) for e in added] == [
        (COMMAND_LINE, {"user": "ana", "role": "analyst"}),
        (COMMAND_LINE, {"user": "alice.smith", "role": "housing_officer"})]


def test_add_user_refuses_bad_input_and_says_how_to_fix_it(sqlite_ws: Workspace) -> None:
    _add(sqlite_ws, "alice")
    with pytest.raises(ConfigError) as caught:
        add_user(sqlite_ws, "bob", "officer", display_name="Bob", password=PASSWORD)
    assert caught.value.message == "unknown role 'officer'"
    assert "housing_officer, analyst, administrator" in str(caught.value)
    with pytest.raises(ConfigError, match="the username 'alice' is taken"):
        _add(sqlite_ws, "ALICE")
    with pytest.raises(ConfigError, match="username 'bob smith' is not allowed"):
        _add(sqlite_ws, "bob smith")
    with pytest.raises(ConfigError, match="display name"):
        add_user(sqlite_ws, "bob", "analyst", display_name="  ", password=PASSWORD)
    with pytest.raises(ConfigError) as caught:
        add_user(sqlite_ws, "bob", "analyst", display_name="Bob", password="short")
    assert caught.value.message == PASSWORD_TOO_SHORT.format(length=5, minimum=12)
    assert [u.username for u in list_users(sqlite_ws)] == ["alice"]


def test_only_an_administrator_or_the_command_line_may_make_changes(
        sqlite_ws: Workspace) -> None:
    _add(sqlite_ws, "boss", "administrator")
    _add(sqlite_ws, "ana", "analyst")
    _add(sqlite_ws, "olly", by="boss")
    with pytest.raises(ConfigError, match="'ana' is not an active administrator"):
        _add(sqlite_ws, "mallory", by="ana")
    set_active(sqlite_ws, "boss", False)
    with pytest.raises(ConfigError, match="'boss' is not an active administrator"):
        set_capacity(sqlite_ws, "anything", 3, by="boss")
    assert [u.username for u in list_users(sqlite_ws)] == ["ana", "boss", "olly"]
    assert audit_events(sqlite_ws, events=["admin_add_user"])[0].username == "boss"


def test_a_new_password_or_deactivation_ends_the_users_sessions(sqlite_ws: Workspace) -> None:
    _add(sqlite_ws, "alice")
    token = create_session(sqlite_ws, "alice")
    set_password(sqlite_ws, "alice", "another long passphrase")
    assert read_session(sqlite_ws, token) is None
    with pytest.raises(SignInFailed):
        sign_in(sqlite_ws, "alice", PASSWORD)
    token = sign_in(sqlite_ws, "alice", "another long passphrase")
    set_active(sqlite_ws, "alice", False)
    assert read_session(sqlite_ws, token) is None
    with pytest.raises(SignInFailed):
        sign_in(sqlite_ws, "alice", "another long passphrase")
    events = [e.event for e in audit_events(sqlite_ws, username=COMMAND_LINE)]
    assert events == ["admin_set_active", "admin_set_password", "admin_add_user"]


# ---- patches ----------------------------------------------------------------------------------


def test_officers_get_patches_and_others_none(review_ws: Workspace) -> None:
    ws = _named(review_ws)
    _add(ws, "olly")
    _add(ws, "ana", "analyst")
    assert set_patches(ws, "olly", ["Rest", "North team", "Rest"]) == ("North team", "Rest")
    token = create_session(ws, "olly")
    session = read_session(ws, token)
    assert session is not None and session.patches == ("North team", "Rest")
    assert set_patches(ws, "olly", ["Rest"]) == ("Rest",)
    with pytest.raises(ConfigError, match="'ana' is an analyst; only housing officers"):
        set_patches(ws, "ana", ["Rest"])
    assert set_patches(ws, "ana", []) == ()
    with pytest.raises(ConfigError, match="there is no user 'nobody'"):
        set_patches(ws, "nobody", [])
    with pytest.raises(ConfigError) as caught:
        set_patches(ws, "olly", ["South team"])
    assert caught.value.message == "unknown patch(es): 'South team'"
    assert "North team, Rest" in str(caught.value)
    with pytest.raises(ConfigError, match="a list of names"):
        set_patches(ws, "olly", "Rest")
    assert [u.patches for u in list_users(ws) if u.username == "olly"] == [("Rest",)]
    changes = audit_events(ws, events=["admin_set_patches"])
    assert [e.detail for e in changes][::-1] == [
        {"user": "olly", "patches": ["North team", "Rest"], "previous": []},
        {"user": "olly", "patches": ["Rest"], "previous": ["North team", "Rest"]},
        {"user": "ana", "patches": [], "previous": []}]


def test_known_patches_come_from_settings_and_the_lists(sqlite_ws: Workspace) -> None:
    assert known_patches(sqlite_ws) is None  # ward patches, nothing scored: cannot know yet
    set_capacity(sqlite_ws, "Abbey", 4)  # so any name is taken, and a warning logged
    with duckdb.connect(str(sqlite_ws.warehouse)) as con:
        con.execute("CREATE TABLE lists (month VARCHAR, patch VARCHAR)")
        con.execute("INSERT INTO lists VALUES ('2025-02', 'Abbey'), ('2025-02', 'Castle'), "
                    "('2025-02', '')")
    assert known_patches(sqlite_ws) == {"Abbey", "Castle"}
    _named(sqlite_ws)
    assert known_patches(sqlite_ws) == {"Abbey", "Castle", "North team", "Rest"}
    with pytest.raises(ConfigError, match="unknown patch"):
        set_capacity(sqlite_ws, "Moor", 4)


# ---- capacities -------------------------------------------------------------------------------


def test_set_capacity_overrides_and_can_be_removed(review_ws: Workspace) -> None:
    ws = _named(review_ws)
    set_capacity(ws, "North team", 3)
    set_capacity(ws, "Rest", 0)
    set_capacity(ws, "North team", 5)
    assert capacity_overrides(ws) == {"North team": 5, "Rest": 0}
    set_capacity(ws, "Rest", None)
    assert capacity_overrides(ws) == {"North team": 5}
    for bad in (-1, 2.5, True, "7"):
        with pytest.raises(ConfigError, match="capacity must be a whole number of at least 0"):
            set_capacity(ws, "North team", bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown patch"):
        set_capacity(ws, "Nowhere", 5)
    changes = audit_events(ws, events=["admin_set_capacity"])
    assert [(e.detail["patch"], e.detail["capacity"], e.detail["previous"])
            for e in changes][::-1] == [
        ("North team", 3, None), ("Rest", 0, None), ("North team", 5, 3), ("Rest", None, 0)]


@pytest.mark.slow
def test_a_capacity_set_by_an_administrator_changes_the_scored_list(
        champion: Workspace, tmp_path: Path) -> None:
    from risk_model.scoring.run import score

    ws = scoring_copy(champion, tmp_path / "ws")
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        lsoas = [r[0] for r in con.execute(
            "SELECT DISTINCT lsoa_code FROM lsoa_imd ORDER BY 1").fetchall()]
    settings = {"patches": {"named": [
        {"name": "North team", "lsoas": lsoas[:1], "capacity": 7},
        {"name": "Rest", "lsoas": lsoas[1:], "capacity": 12}], "others": "none"}}
    ws.settings_file.write_text(yaml.safe_dump(settings))
    set_capacity(ws, "North team", 3)
    with engine(ws).begin() as con:  # an override for a patch that no longer exists
        con.execute(CAPACITY_TABLE.insert().values(patch="Old team", capacity=9,
                                                   set_by="admin", set_at=datetime.now(UTC)))
    result = score(ws, "2025-02")
    sizes = {p["patch"]: (p["capacity"], p["listed"]) for p in result.patches}
    assert sizes == {"North team": (3, 3), "Rest": (12, 12)}
    set_capacity(ws, "North team", None)
    again = score(ws, "2025-02", overwrite=True)
    assert {p["patch"]: p["listed"] for p in again.patches} == {"North team": 7, "Rest": 12}
