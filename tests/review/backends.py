"""The review database's backends for tests: a fresh workspace on SQLite, or on a throwaway
PostgreSQL database (marked ``postgres`` and ``slow``; it fails, not skips, when PostgreSQL is
not there: CI must exercise this path).

Test modules import the fixtures they use: ``from tests.review.backends import review_ws``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.review.store import DATABASE_URL_ENV, dispose_engines

__all__ = ["ADMIN_DSN", "BACKENDS", "review_ws", "sqlite_ws"]

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
NO_POSTGRES = (
    "PostgreSQL must run on 127.0.0.1:5432 with trust auth for user 'postgres' for the "
    "postgres-marked tests (CI provides it); could not connect: {error}"
)

#: Each test that takes ``review_ws`` runs on SQLite, then on PostgreSQL (marked).
BACKENDS = ["sqlite",
            pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]


def _admin(statement: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=10) as con:
        con.execute(sql.SQL(statement).format(sql.Identifier(dbname)))


@pytest.fixture
def sqlite_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh workspace whose review database is ``review.db`` in it."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    yield Workspace.at(tmp_path / "ws")
    dispose_engines()


@pytest.fixture(params=BACKENDS)
def review_ws(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh workspace on SQLite, then on a throwaway PostgreSQL database."""
    ws = Workspace.at(tmp_path / "ws")
    if request.param == "sqlite":
        monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
        yield ws
        dispose_engines()
        return
    import psycopg

    dbname = f"risk_model_review_{secrets.token_hex(6)}"
    try:
        _admin("CREATE DATABASE {}", dbname)
    except psycopg.OperationalError as error:
        pytest.fail(NO_POSTGRES.format(error=error), pytrace=False)
    monkeypatch.setenv(DATABASE_URL_ENV,
                       f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}")
    try:
        yield ws
    finally:
        dispose_engines()
        _admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", dbname)
