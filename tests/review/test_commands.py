"""``risk-model review add-user | set-patch | set-capacity | users`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_model.cli import PASSWORD_ENV, app
from risk_model.config import Workspace
from risk_model.review.auth import sign_in
from risk_model.review.store import audit_events, capacity_overrides


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    out = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, out, result.stderr


def test_an_administrator_sets_up_an_officer_from_the_command_line(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    secret = tmp_path / "password.txt"
    secret.write_text("a long enough passphrase\n")
    code, out, err = _run("review", "add-user", "alice", "--role", "housing_officer",
                          "--name", "Alice Smith", "--password-file", str(secret),
                          "--workspace", ws)
    assert code == 0, err
    assert out["user"] == "alice" and out["role"] == "housing_officer"
    code, out, err = _run("review", "set-patch", "alice", "North team", "East",
                          "--workspace", ws)
    assert code == 0, err
    assert sorted(out["patches"]) == ["East", "North team"]
    code, out, _ = _run("review", "set-capacity", "North team", "40", "--workspace", ws)
    assert code == 0 and out["capacity"] == 40
    assert capacity_overrides(Workspace.at(ws)) == {"North team": 40}
    code, out, _ = _run("review", "set-capacity", "North team", "--clear", "--workspace", ws)
    assert code == 0 and capacity_overrides(Workspace.at(ws)) == {}
    code, out, _ = _run("review", "users", "--workspace", ws)
    assert out["users"] == [{"user": "alice", "name": "Alice Smith", "role": "housing_officer",
                             "active": True, "patches": ["East", "North team"]}]
    # the password from the file works, and every change is in the audit log
    sign_in(Workspace.at(ws), "alice", "a long enough passphrase")
    events = {e.event for e in audit_events(Workspace.at(ws))}
    assert {"admin_add_user", "admin_set_patches", "admin_set_capacity", "sign_in"} <= events


def test_no_password_and_no_terminal_is_a_clear_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code, out, err = _run("review", "add-user", "bob", "--role", "analyst", "--name", "Bob",
                          "--workspace", str(tmp_path / "ws"))
    assert code == 1 and out["error"]["message"].startswith("no password given")
    assert PASSWORD_ENV in err


@pytest.mark.parametrize(("args", "message"), [
    (["add-user", "carol", "--role", "boss", "--name", "C"], "unknown role 'boss'"),
    (["set-capacity", "North team"], "give a capacity, or --clear"),
    (["set-capacity", "North team", "40", "--clear"], "give a capacity, or --clear"),
])
def test_bad_requests_say_what_is_wrong(tmp_path: Path, args: list[str], message: str) -> None:
    code, out, _ = _run("review", *args, "--workspace", str(tmp_path / "ws"),
                        env={PASSWORD_ENV: "a long enough passphrase"})
    assert code == 1 and message in out["error"]["message"]


def test_publishing_a_month_that_was_never_scored_says_to_score_it(tmp_path: Path) -> None:
    code, out, _ = _run("review", "publish", "--month", "2025-03",
                        "--workspace", str(tmp_path / "ws"))
    assert code == 1 and "no warehouse" in out["error"]["message"]
