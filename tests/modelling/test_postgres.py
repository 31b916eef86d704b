"""``risk-model train`` and ``promote`` against a real MLflow tracking server on PostgreSQL.

The server runs on loopback in its own process group, backed by a throwaway database on the
machine's PostgreSQL (``127.0.0.1:5432``, user ``postgres``, trust auth). The test fails rather
than skips when PostgreSQL is not there: CI must exercise this path.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.modelling.spec import MODELS_ENV
from risk_model.tracking import TRACKING_URI_ENV
from tests.conftest import copy_workspace
from tests.modelling.test_run import _specs

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MODEL = "emergency_admission_12m"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_START_TIMEOUT = 120.0
NO_POSTGRES = (
    "PostgreSQL must run on 127.0.0.1:5432 with trust auth for user 'postgres' for the "
    "postgres-marked tests (CI provides it); could not connect: {error}"
)


def _cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.stdout.strip(), result.stderr[-3000:]
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:  # --json promises exactly one JSON object on stdout
        pytest.fail(f"stdout of {args[0]} --json is not one JSON object:\n"
                    f"{result.stdout[:600]}", pytrace=False)


def _admin(dbname: str, statement: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=10) as con:
        con.execute(sql.SQL(statement).format(sql.Identifier(dbname)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of an ``mlflow server`` on loopback, backed by a fresh PostgreSQL database."""
    import psycopg

    dbname = f"risk_model_mlflow_{secrets.token_hex(6)}"
    try:
        _admin(dbname, "CREATE DATABASE {}")
    except psycopg.OperationalError as error:
        pytest.fail(NO_POSTGRES.format(error=error), pytrace=False)

    root = tmp_path_factory.mktemp("mlflow_server")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    command = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    env = {k: v for k, v in os.environ.items() if k != TRACKING_URI_ENV}
    try:
        with open(log_path, "wb") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      cwd=root, start_new_session=True)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _healthy(f"{uri}/health"):
                if server.poll() is not None or time.monotonic() > deadline:
                    state = (f"exited with code {server.returncode}"
                             if server.poll() is not None
                             else f"not healthy after {SERVER_START_TIMEOUT:.0f} s")
                    tail = log_path.read_text(errors="replace")[-4000:]
                    pytest.fail(f"mlflow server {state}; log tail:\n{tail}", pytrace=False)
                time.sleep(0.5)
            yield uri
        finally:
            _stop(server)
    finally:
        _admin(dbname, "DROP DATABASE IF EXISTS {} WITH (FORCE)")


def test_train_and_promote_against_a_tracking_server_on_postgres(
        mlflow_server: str, featured: Workspace, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    uri = mlflow_server
    monkeypatch.setenv(TRACKING_URI_ENV, uri)
    monkeypatch.setenv(MODELS_ENV, str(_specs(tmp_path / "lenient", auroc_lower_min=0.5,
                                              calibration_slope=[0.3, 3.0])))
    ws = copy_workspace(featured, tmp_path / "ws")

    code, out = _cli("train", MODEL, "--workspace", str(ws.root))
    assert code == 0, out
    assert out["version"] == "1"
    run_id = out["mlflow_run_id"]
    # the audit logs into the version's run and tags the version, through the server
    code, out = _cli("audit", MODEL, "1", "--workspace", str(ws.root))
    assert code == 0 and out["passed"] is True, out
    code, out = _cli("promote", MODEL, "1", "--workspace", str(ws.root))
    assert code == 0, out
    assert out["aliases"] == {"champion": "1"}

    from mlflow import MlflowClient

    client = MlflowClient(uri)
    registered = client.get_registered_model(MODEL)
    assert registered.aliases == {"champion": "1"}
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert version.version == "1" and version.run_id == run_id
    assert "test.lightgbm.auroc.point" in client.get_run(run_id).data.metrics
    assert version.tags["risk_model.fairness.passed"] == "true"
    assert {a.path for a in client.list_artifacts(run_id, "audit")} == {
        "audit/audit.json", "audit/audit.html"}
    assert not (ws.root / "mlflow" / "mlflow.db").exists()

    script = f"""
import mlflow
model = mlflow.pyfunc.load_model("models:/{MODEL}@champion")
print(len(model.metadata.get_input_schema().inputs))
"""
    env = {**os.environ, TRACKING_URI_ENV: uri}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 0
