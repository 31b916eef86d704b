"""The review database on SQLite and PostgreSQL: actions and versions, concurrent updates,
the append-only audit log, capacity overrides and the hold-back read."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from risk_model.config import Workspace
from risk_model.errors import ConfigError
from risk_model.review import store
from risk_model.review.store import (
    StaleUpdate,
    actions_for,
    audit_events,
    capacity_overrides,
    engine,
    log_event,
    recent_actions,
    record_action,
    resident_state,
)
from tests.review.backends import review_ws, sqlite_ws

__all__ = ["review_ws", "sqlite_ws"]  # the fixtures, imported for pytest

MONTH = "2025-02"


def _record(ws: Workspace, officer: str, action: str = "contacted", *,
            person: str = "p1", expected: int | None = None, **kw: object) -> int:
    return record_action(ws, person_id=person, month=MONTH, patch="North", action=action,
                         officer=officer, expected_version=expected, **kw)  # type: ignore[arg-type]


def test_the_old_call_still_records_and_moves_the_version_on(review_ws: Workspace) -> None:
    assert resident_state(review_ws, "p1", MONTH).version == 0
    first = record_action(review_ws, person_id="p1", month=MONTH, patch="North",
                          action="visit_booked", officer="o1", note="door knocked",
                          at=datetime(2025, 2, 10, 9, 30))
    second = _record(review_ws, "o2")
    assert second > first
    state = resident_state(review_ws, "p1", MONTH)
    assert state.version == 2
    assert state.updated_by == "o2"
    assert [a.action for a in state.actions] == ["contacted", "visit_booked"]
    booked = state.actions[1]
    assert booked.note == "door knocked" and booked.officer == "o1"
    assert booked.recorded_at == datetime(2025, 2, 10, 9, 30, tzinfo=UTC)  # naive means UTC
    assert resident_state(review_ws, "p1", "2025-03").version == 0  # versions are per month
    assert [a.id for a in actions_for(review_ws, "p1")] == [second, first]


def test_times_are_stored_in_utc(review_ws: Workspace) -> None:
    bst = timezone(timedelta(hours=1))
    _record(review_ws, "o1", at=datetime(2025, 6, 1, 10, 0, tzinfo=bst))
    (done,) = resident_state(review_ws, "p1", MONTH).actions
    assert done.recorded_at == datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    assert done.recorded_at.utcoffset() == timedelta(0)


def test_a_second_officer_on_a_stale_version_is_told_and_nothing_is_lost(
        review_ws: Workspace) -> None:
    _record(review_ws, "o0", "unable_to_contact")
    # two officers open the resident's page: both see version 1
    seen_a = resident_state(review_ws, "p1", MONTH).version
    seen_b = resident_state(review_ws, "p1", MONTH).version
    assert seen_a == seen_b == 1
    kept = _record(review_ws, "alice", "visit_booked", expected=seen_a, note="Tuesday")
    with pytest.raises(StaleUpdate) as caught:
        _record(review_ws, "bob", "referred", expected=seen_b, service="Warm Homes")
    current = caught.value.current
    assert caught.value.expected == 1
    assert current.version == 2 and current.updated_by == "alice"
    assert current.actions[0].id == kept and current.actions[0].note == "Tuesday"
    assert "updated by alice" in str(caught.value)
    # bob's action was not written, alice's is there; bob tries again on what he was shown
    state = resident_state(review_ws, "p1", MONTH)
    assert [a.officer for a in state.actions] == ["alice", "o0"]
    _record(review_ws, "bob", "referred", expected=current.version, service="Warm Homes")
    state = resident_state(review_ws, "p1", MONTH)
    assert state.version == 3
    assert [a.officer for a in state.actions] == ["bob", "alice", "o0"]
    # the refused attempt left no audit entry
    assert [e.username for e in audit_events(review_ws, events=["record_action"])] == [
        "bob", "alice", "o0"]


def test_the_first_action_on_a_resident_is_checked_too(review_ws: Workspace) -> None:
    _record(review_ws, "alice", expected=0)
    with pytest.raises(StaleUpdate) as caught:
        _record(review_ws, "bob", expected=0)
    assert caught.value.current.version == 1
    assert len(resident_state(review_ws, "p1", MONTH).actions) == 1


def test_officers_racing_on_one_resident_never_lose_an_update(review_ws: Workspace) -> None:
    officers, tries = 6, 2
    stale: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(officers)

    def officer(name: str) -> None:
        try:
            start.wait()
            for _ in range(tries):
                while True:
                    seen = resident_state(review_ws, "p1", MONTH).version
                    try:
                        _record(review_ws, name, expected=seen)
                        break
                    except StaleUpdate:
                        stale.append(1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=officer, args=(f"o{i}",)) for i in range(officers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    state = resident_state(review_ws, "p1", MONTH)
    assert state.version == officers * tries == len(state.actions)


def test_record_action_refuses_bad_input(review_ws: Workspace) -> None:
    with pytest.raises(ConfigError, match="unknown action 'hugged'"):
        _record(review_ws, "o1", "hugged")
    with pytest.raises(ConfigError, match="501 characters"):
        _record(review_ws, "o1", note="x" * 501)
    with pytest.raises(ConfigError, match="expected_version"):
        _record(review_ws, "o1", expected=-1)
    assert resident_state(review_ws, "p1", MONTH).version == 0


def test_recent_actions_reads_each_residents_latest_in_the_window(review_ws: Workspace) -> None:
    _record(review_ws, "o1", "contacted", at=datetime(2025, 2, 1))
    _record(review_ws, "o1", "visit_booked", at=datetime(2025, 2, 20))
    _record(review_ws, "o1", "declined", person="p2", at=datetime(2025, 1, 1))
    got = recent_actions(review_ws, datetime(2025, 1, 15), datetime(2025, 3, 1))
    assert got[["person_id", "action"]].values.tolist() == [["p1", "visit_booked"]]
    got = recent_actions(review_ws, datetime(2024, 12, 1), datetime(2025, 3, 1),
                         actions=["declined", "contacted"])
    assert sorted(got[["person_id", "action"]].values.tolist()) == [
        ["p1", "contacted"], ["p2", "declined"]]


def test_no_review_database_means_no_actions_and_no_overrides(sqlite_ws: Workspace) -> None:
    assert recent_actions(sqlite_ws, datetime(2025, 1, 1), datetime(2025, 3, 1)).empty
    assert capacity_overrides(sqlite_ws) == {}
    assert not (sqlite_ws.root / "review.db").exists()  # reading did not create it


def test_capacity_overrides_read_what_was_set(review_ws: Workspace) -> None:
    assert capacity_overrides(review_ws) == {}
    now = datetime.now(UTC)
    with engine(review_ws).begin() as con:
        con.execute(store.CAPACITY_TABLE.insert(), [
            {"patch": "North", "capacity": 7, "set_by": "admin", "set_at": now},
            {"patch": "South", "capacity": 0, "set_by": "admin", "set_at": now}])
    assert capacity_overrides(review_ws) == {"North": 7, "South": 0}


# ---- the audit log ----------------------------------------------------------------------------


def test_audit_events_are_recorded_and_filtered(review_ws: Workspace) -> None:
    t0 = datetime(2025, 2, 1, 9, 0, tzinfo=UTC)
    log_event(review_ws, "sign_in", username="alice", ip="10.0.0.1", at=t0)
    log_event(review_ws, "view_list", username="alice", detail={"month": MONTH},
              at=t0 + timedelta(minutes=1))
    log_event(review_ws, "view_resident", username="alice", person_id="p9",
              at=t0 + timedelta(minutes=2))
    log_event(review_ws, "export", username="bob", detail={"rows": 12},
              at=t0 + timedelta(minutes=3))
    everything = audit_events(review_ws)
    assert [e.event for e in everything] == ["export", "view_resident", "view_list", "sign_in"]
    assert everything[0].detail == {"rows": 12}
    assert everything[-1].ip == "10.0.0.1" and everything[-1].at == t0
    assert [e.event for e in audit_events(review_ws, username="alice")] == [
        "view_resident", "view_list", "sign_in"]
    assert [e.event for e in audit_events(review_ws, person_id="p9")] == ["view_resident"]
    assert [e.event for e in audit_events(review_ws, since=t0 + timedelta(minutes=1),
                                          until=t0 + timedelta(minutes=3))] == [
        "view_resident", "view_list"]
    assert [e.event for e in audit_events(review_ws, events=["sign_in", "export"],
                                          limit=1)] == ["export"]


def test_audit_log_refuses_unknown_events_and_secrets(review_ws: Workspace) -> None:
    with pytest.raises(ConfigError, match="unknown audit event 'peeked'"):
        log_event(review_ws, "peeked", username="alice")
    with pytest.raises(ConfigError, match="may not hold password"):
        log_event(review_ws, "sign_in_failed", username="alice",
                  detail={"password": "hunter2hunter2"})
    assert audit_events(review_ws) == []


def test_events_from_many_threads_are_all_committed_before_each_call_returns(
        review_ws: Workspace) -> None:
    """The group commit: 40 threads at once; each event is readable as soon as its call ends."""
    seen_at_return: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def view(n: int) -> None:
        start.wait()
        log_event(review_ws, "view_list", username=f"officer{n}", detail={"page": n})
        found = audit_events(review_ws, username=f"officer{n}")
        with lock:
            seen_at_return.append([e.detail for e in found] == [{"page": n}])

    threads = [threading.Thread(target=view, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_at_return == [True] * 40
    assert len(audit_events(review_ws, events=["view_list"])) == 40


def test_an_audit_event_that_cannot_be_written_fails_the_call(
        sqlite_ws: Workspace) -> None:
    from risk_model.errors import RiskModelError

    log_event(sqlite_ws, "view_list", username="north")
    with engine(sqlite_ws).begin() as con:  # the table gone: every insert fails
        con.execute(sa.text("ALTER TABLE review_audit_log RENAME TO review_audit_log_gone"))
    with pytest.raises(RiskModelError, match="audit log could not be written"):
        log_event(sqlite_ws, "view_list", username="north")


def test_audit_log_is_append_only(review_ws: Workspace) -> None:
    changers = [n for n in dir(store) if any(w in n.lower() for w in
                                             ("delete", "update", "remove", "edit", "purge"))]
    assert changers == ["StaleUpdate"]  # the store offers nothing that changes history
    log_event(review_ws, "sign_in", username="alice")
    for statement in ("UPDATE review_audit_log SET username = 'mallory'",
                      "DELETE FROM review_audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
                engine(review_ws).begin() as con:
            con.execute(sa.text(statement))
    assert [e.username for e in audit_events(review_ws)] == ["alice"]


def test_an_event_logged_in_a_transaction_goes_or_stays_with_it(review_ws: Workspace) -> None:
    with pytest.raises(RuntimeError), engine(review_ws).begin() as con:
        log_event(con, "export", username="alice", detail={"rows": 3})
        raise RuntimeError("the export failed")
    assert audit_events(review_ws) == []
    with engine(review_ws).begin() as con:
        log_event(con, "export", username="alice", detail={"rows": 3})
    assert [e.detail for e in audit_events(review_ws)] == [{"rows": 3}]


def test_a_database_url_that_cannot_be_used_is_named_without_its_password(
        sqlite_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store.DATABASE_URL_ENV,
                       "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(ConfigError) as caught:
        resident_state(sqlite_ws, "p1", MONTH)
    assert "postgresql+psycopg://someone:***@127.0.0.1:1/nowhere" in caught.value.message
    assert "s3cret" not in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)
