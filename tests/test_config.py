from __future__ import annotations

from pathlib import Path

import pytest

from risk_model.config import WORKSPACE_ENV, Workspace
from risk_model.errors import OutputExistsError, RiskModelError, WorkspaceError


def test_default_workspace_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "ws"))
    ws = Workspace.at()
    assert ws.root == (tmp_path / "ws").resolve()
    assert ws.root.is_dir()
    assert ws.landing == ws.root / "landing"


def test_default_workspace_is_relative_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(WORKSPACE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert Workspace.at().root == (tmp_path / "workspace").resolve()


def test_workspace_that_is_a_file_is_refused(tmp_path: Path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="is not a folder") as err:
        Workspace.at(f)
    assert "--workspace" in str(err.value)
    assert isinstance(err.value, RiskModelError)


def test_check_can_write_names_the_outputs_and_the_flag(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    ws.check_can_write([ws.landing], overwrite=False, step="synth")  # nothing there yet
    ws.landing.mkdir()
    ws.check_can_write([ws.landing], overwrite=False, step="synth")  # empty folder is fine
    (ws.landing / "a.csv").write_text("x")
    with pytest.raises(OutputExistsError, match=r"synth would overwrite .*landing.*--overwrite"):
        ws.check_can_write([ws.landing], overwrite=False, step="synth")
    ws.check_can_write([ws.landing], overwrite=True, step="synth")


def test_staging_is_removed_on_failure_and_publish_replaces(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    target = ws.root / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), ws.staging("step") as stage:
        (stage / "new.txt").write_text("new")
        raise RuntimeError("midway")
    assert (target / "old.txt").read_text() == "old"
    assert [p.name for p in ws.root.iterdir()] == ["out"]
    with ws.staging("step") as stage:
        built = stage / "out"
        built.mkdir()
        (built / "new.txt").write_text("new")
        ws.publish(built, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in ws.root.iterdir()] == ["out"]
