"""The command line: one JSON object on stdout, refusals, clear errors, the workspace option.

These run the real generator on a few hundred residents; only the test of an unexpected error
replaces it, because a bug is the behaviour under test there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from risk_model import __version__
from risk_model.cli import app
from risk_model.config import WORKSPACE_ENV
from risk_model.ingest import KEY_ENV

SMALL = ["--residents", "300", "--months", "3"]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in an empty folder, with no workspace or key set in the environment."""
    monkeypatch.delenv(WORKSPACE_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _json(result: Result) -> dict[str, object]:
    """The whole of stdout parsed as one JSON object."""
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    assert result.stdout.count("\n") == 1, "the JSON object should be one line"
    return payload


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root``: modification time and content digest."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---- version ---------------------------------------------------------------------------------


def test_version(runner: CliRunner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"risk-model {__version__}\n"


@pytest.mark.parametrize("how", ["python -m risk_model", "risk-model console script"])
def test_version_from_a_real_process(how: str, tmp_path: Path):
    if how == "python -m risk_model":
        command = [sys.executable, "-m", "risk_model", "--version"]
    else:
        script = Path(sysconfig.get_path("scripts")) / "risk-model"
        assert script.exists(), f"{script} missing: install the package with pip install -e ."
        command = [str(script), "--version"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"risk-model {__version__}\n"


def test_help_lists_the_commands(runner: CliRunner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "synth" in result.stdout
    assert "demo" in result.stdout


# ---- synth: output ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_synth_json_is_one_object_on_stdout(runner: CliRunner, tmp_path: Path, fmt: str):
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["synth", *SMALL, "--format", fmt, "--workspace", str(ws),
                                 "--json"])
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert summary["ok"] is True
    assert summary["command"] == "synth"
    assert summary["workspace"] == str(ws.resolve())
    assert (summary["residents"], summary["months"], summary["seed"]) == (300, 3, 1)
    assert (summary["start"], summary["format"]) == ("2021-04", fmt)
    landing = summary["landing"]
    assert isinstance(landing, dict)
    assert set(landing) == {p.name for p in (ws / "landing").iterdir()}
    assert all(name.endswith(f".{fmt}") for name in landing)
    assert all(isinstance(rows, int) and rows >= 0 for rows in landing.values())
    assert summary["truth"]
    assert (ws / "truth").is_dir()


def test_synth_without_json_keeps_stdout_empty_and_tells_people(runner: CliRunner,
                                                                tmp_path: Path):
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["synth", *SMALL, "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "gp_registrations.csv" in result.stderr
    assert str(ws.resolve() / "landing") in result.stderr


def test_verbose_shows_the_stages_on_stderr(runner: CliRunner, tmp_path: Path):
    args = ["synth", *SMALL, "--json"]
    quiet = runner.invoke(app, [*args, "--workspace", str(tmp_path / "a")])
    loud = runner.invoke(app, [*args, "--workspace", str(tmp_path / "b"), "-v"])
    assert quiet.exit_code == loud.exit_code == 0
    assert "simulating 3 months" not in quiet.stderr
    assert "simulating 3 months" in loud.stderr
    assert _json(loud)["ok"] is True
    assert not [h for h in logging.getLogger("risk_model").handlers
                if type(h).__module__ == "risk_model.cli"], "the CLI log handler stays behind"


# ---- synth: refusing to overwrite ------------------------------------------------------------


def test_second_synth_needs_overwrite(runner: CliRunner, tmp_path: Path):
    ws = tmp_path / "ws"
    first = runner.invoke(app, ["synth", *SMALL, "--workspace", str(ws)])
    assert first.exit_code == 0, first.output
    before = _snapshot(ws)
    assert before

    refused = runner.invoke(app, ["synth", *SMALL, "--workspace", str(ws), "--json"])
    assert refused.exit_code == 1
    assert "error:" in refused.stderr
    assert "--overwrite" in refused.stderr
    payload = _json(refused)
    assert payload["ok"] is False
    assert payload["command"] == "synth"
    assert payload["error"]["type"] == "OutputExistsError"
    assert "--overwrite" in payload["error"]["message"]

    refused_human = runner.invoke(app, ["synth", *SMALL, "--workspace", str(ws)])
    assert refused_human.exit_code == 1
    assert refused_human.stdout == ""
    assert "--overwrite" in refused_human.stderr
    assert _snapshot(ws) == before, "a refused run must leave the workspace as it was"

    replaced = runner.invoke(app, ["synth", *SMALL, "--seed", "2", "--workspace", str(ws),
                                   "--overwrite", "--json"])
    assert replaced.exit_code == 0, replaced.output
    assert _json(replaced)["seed"] == 2
    after = _snapshot(ws)
    assert set(after) == set(before)
    assert after != before
    assert not [p.name for p in ws.iterdir() if p.name.startswith(".")], "staging left behind"


# ---- synth: bad values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--start", "2021-13", "YYYY-MM"),
        ("--residents", "5", "from 200 to"),
        ("--months", "0", "from 1 to"),
        ("--format", "xlsx", "csv, parquet"),
    ],
)
def test_bad_value_names_the_option(runner: CliRunner, tmp_path: Path, option: str, value: str,
                                    allowed: str):
    ws = tmp_path / "ws"
    args = ["synth", *SMALL, option, value, "--workspace", str(ws)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), "a bad value is not a crash"
    payload = _json(result)
    assert payload["ok"] is False
    assert payload["error"]["type"] == "ConfigError"
    message = payload["error"]["message"]
    assert option in message
    assert value in message
    assert allowed in message
    assert f"error: {message}" in result.stderr
    assert "Traceback" not in result.output

    human = runner.invoke(app, args)
    assert human.exit_code == 1
    assert human.stdout == ""
    assert option in human.stderr
    assert "Traceback" not in human.output
    assert not (ws / "landing").exists()


def test_workspace_that_is_a_file_is_an_error(runner: CliRunner, tmp_path: Path):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    result = runner.invoke(app, ["synth", *SMALL, "--workspace", str(target), "--json"])
    assert result.exit_code == 1
    assert _json(result)["error"]["type"] == "WorkspaceError"
    assert "not a folder" in result.stderr


# ---- the workspace ---------------------------------------------------------------------------


def test_workspace_comes_from_the_environment(runner: CliRunner, tmp_path: Path):
    from_env = tmp_path / "from-env"
    result = runner.invoke(app, ["synth", *SMALL, "--json"], env={WORKSPACE_ENV: str(from_env)})
    assert result.exit_code == 0, result.output
    assert _json(result)["workspace"] == str(from_env.resolve())
    assert (from_env / "landing").is_dir()
    assert not (tmp_path / "workspace").exists()


def test_workspace_defaults_to_the_current_folder(runner: CliRunner, tmp_path: Path):
    result = runner.invoke(app, ["synth", *SMALL, "--json"])
    assert result.exit_code == 0, result.output
    assert _json(result)["workspace"] == str((tmp_path / "workspace").resolve())
    assert (tmp_path / "workspace" / "landing").is_dir()


# ---- demo ------------------------------------------------------------------------------------


def test_demo_runs_its_steps_and_says_what_next(runner: CliRunner, tmp_path: Path):
    ws = tmp_path / "ws"
    # 4,000 residents: the fewest the emergency-admission model trains and audits on reliably
    result = runner.invoke(app, ["demo", "--residents", "4000", "--workspace", str(ws),
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = _json(result)
    assert (payload["ok"], payload["command"]) == (True, "demo")
    assert [step["step"] for step in payload["steps"]] == ["synth", "ingest", "link",
                                                           "features", "model", "score",
                                                           "reports", "review"]
    synth = payload["steps"][0]["summary"]
    assert (synth["residents"], synth["months"], synth["seed"], synth["format"]) == (
        4000, 48, 1, "csv")
    assert set(synth["landing"]) == {p.name for p in (ws / "landing").iterdir()}
    ingested = payload["steps"][1]["summary"]
    assert {f["file"] for f in ingested["files"]} == set(synth["landing"])
    assert ingested["reconciled"] is True
    linked = payload["steps"][2]["summary"]
    assert linked["counts"]["linked"] > 0
    assert linked["person_linkage"]["precision"] is not None  # the demo has a truth folder
    featured = payload["steps"][3]["summary"]
    assert [s["as_of"] for s in featured["snapshots"]] == ["2024-03-31", "2025-03-31"]
    assert all(s["rows"] > 3000 for s in featured["snapshots"])
    model = payload["steps"][4]["summary"]
    assert model["promote"]["aliases"]["champion"] == model["train"]["version"] == "1"
    assert len(model["audit"]["gates"]) == 10  # audited; forced only if a gate failed
    failed = [g["gate"] for g in model["promote"]["gates"] if not g["passed"]]
    assert model["forced"] == bool(failed)
    assert ("fairness" in failed) == (not model["audit"]["passed"])
    scored = payload["steps"][5]["summary"]["months"]
    assert [m["month"] for m in scored] == ["2025-02", "2025-03"]
    assert all(m["counts"]["listed"] > 0 for m in scored)
    assert (ws / "lists" / "2025-03" / "summary.json").exists()
    reported = payload["steps"][6]["summary"]["models"]
    assert [(r["model"], r["version"]) for r in reported] == [("emergency_admission_12m", "1")]
    index = ws.resolve() / "reports" / "emergency_admission_12m" / "v1" / "index.html"
    assert reported[0]["index"] == str(index) and index.exists()
    assert {"model-card.html", "transparency-record.html", "explainer.html",
            "data-dictionary.html"} <= set(reported[0]["files"])
    review = payload["steps"][7]["summary"]
    assert [a["user"] for a in review["accounts"]][-2:] == ["analyst", "admin"]
    assert review["accounts"][0]["role"] == "housing_officer" and review["accounts"][0]["patches"]
    accounts = ws / "demo-accounts.txt"
    assert accounts.stat().st_mode & 0o777 == 0o600
    assert "password" not in json.dumps(payload)  # passwords only in the file
    # the demo's key lives outside the workspace
    key_file = tmp_path / "config" / "risk_model" / "demo-pseudonym.key"
    assert key_file.exists()
    assert not any(p.name.endswith(".key") for p in ws.rglob("*"))

    again = runner.invoke(app, ["demo", "--residents", "4000", "--workspace", str(ws)])
    assert again.exit_code == 1
    assert "--overwrite" in again.stderr

    human = runner.invoke(app, ["demo", "--residents", "4000", "--workspace", str(ws),
                                "--overwrite"])
    assert human.exit_code == 0, human.output
    assert human.stdout == ""
    last = human.stderr.strip().splitlines()[-1]
    assert last.startswith("Next:")
    assert str(ws.resolve() / "lists" / "2025-03") in last
    assert f"risk-model review serve --workspace {ws.resolve()}" in last
    assert str(ws.resolve() / "demo-accounts.txt") in last
    # where the reports are: the new champion's (the second run trained version 2)
    shown = Path(last.split("the reports (")[1].split(" are ")[1].split(";")[0])
    assert shown == index.parent.parent / "v2" / "index.html" and shown.exists()
    assert "mlflow ui --backend-store-uri sqlite:///" in last


def test_report_without_a_model_says_how_to_make_one(runner: CliRunner, tmp_path: Path):
    result = runner.invoke(app, ["report", "emergency_admission_12m", "--workspace",
                                 str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 1
    payload = _json(result)
    assert payload["ok"] is False and payload["error"]["type"] == "ConfigError"
    assert "risk-model train emergency_admission_12m" in payload["error"]["message"]
    assert "risk-model audit emergency_admission_12m" in payload["error"]["message"]


# ---- ingest ----------------------------------------------------------------------------------


def test_synth_then_ingest_reports_reconciliation_per_file(runner: CliRunner, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    ws = str(tmp_path / "ws")
    assert runner.invoke(app, ["synth", *SMALL, "--workspace", ws]).exit_code == 0
    key_file = tmp_path / "secret.key"
    key_file.write_text("k" * 64)
    result = runner.invoke(app, ["ingest", "--key-file", str(key_file), "--workspace", ws,
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = _json(result)
    assert (payload["ok"], payload["command"]) == (True, "ingest")
    files = payload["files"]
    assert len(files) == 19
    for f in files:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_quarantined"] + f["rows_opted_out"]
        assert f["reconciled"] is True
    # the same key from the environment: nothing new to ingest
    monkeypatch.setenv(KEY_ENV, "k" * 64)
    again = runner.invoke(app, ["ingest", "--workspace", ws])
    assert again.exit_code == 0, again.output
    assert "were ingested before; the warehouse is unchanged" in again.stderr


def test_ingest_without_a_key_is_a_clear_error(runner: CliRunner, tmp_path: Path):
    ws = str(tmp_path / "ws")
    assert runner.invoke(app, ["synth", *SMALL, "--workspace", ws]).exit_code == 0
    result = runner.invoke(app, ["ingest", "--workspace", ws, "--json"])
    assert result.exit_code == 1
    payload = _json(result)
    assert payload["ok"] is False
    assert payload["error"]["type"] == "ConfigError"
    assert payload["error"]["message"].startswith(
        "no pseudonymisation key: set RISK_MODEL_PSEUDONYM_KEY or pass --key-file PATH")
    assert not (tmp_path / "ws" / "warehouse.duckdb").exists()


def test_ingest_refuses_a_key_file_inside_the_workspace(runner: CliRunner, tmp_path: Path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["synth", *SMALL, "--workspace", str(ws)]).exit_code == 0
    (ws / "my.key").write_text("k" * 64)
    result = runner.invoke(app, ["ingest", "--key-file", str(ws / "my.key"), "--workspace",
                                 str(ws)])
    assert result.exit_code == 1
    assert "workspace" in result.stderr
    assert not (ws / "warehouse.duckdb").exists()


def test_cli_defaults_are_the_generator_defaults():
    from risk_model.synth import SynthConfig

    config = SynthConfig()
    group = typer.main.get_command(app)
    synth = {p.name: p.default for p in group.commands["synth"].params}
    demo = {p.name: p.default for p in group.commands["demo"].params}
    assert synth["residents"] == demo["residents"] == config.residents == 20_000
    assert (synth["start"], synth["months"], synth["seed"], synth["file_format"]) == (
        config.start, config.months, config.seed, config.format)


# ---- bugs ------------------------------------------------------------------------------------


def test_unexpected_errors_are_not_hidden(runner: CliRunner, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch):
    # a fake is the only way to make the generator fail with a bug
    import risk_model.synth

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(risk_model.synth, "generate", broken)
    result = runner.invoke(app, ["synth", *SMALL, "--workspace", str(tmp_path / "ws"), "--json"])
    assert isinstance(result.exception, RuntimeError)
    assert result.stdout == ""
