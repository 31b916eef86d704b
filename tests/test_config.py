from __future__ import annotations

from pathlib import Path

import pytest

from risk_model.config import SETTINGS_FILE, WORKSPACE_ENV, Settings, SmallNumbers, Workspace
from risk_model.errors import ConfigError, OutputExistsError, RiskModelError, WorkspaceError


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


# ---- settings.yaml -------------------------------------------------------------------------


def test_settings_without_a_file_are_the_defaults(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    assert ws.settings_file == ws.root / SETTINGS_FILE
    assert ws.settings() == Settings()
    assert ws.settings().small_numbers == SmallNumbers(threshold=8, rounding=5,
                                                       suppress_zero=False)
    assert list(ws.root.iterdir()) == []  # reading settings writes nothing


@pytest.mark.parametrize("text", ["", "small_numbers:\n", "# nothing set yet\n"])
def test_an_empty_file_or_section_means_defaults(tmp_path: Path, text: str):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text(text)
    assert ws.settings() == Settings()


def test_settings_are_read_from_the_file_each_time(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text("small_numbers:\n  threshold: 11\n  suppress_zero: true\n")
    assert ws.settings().small_numbers == SmallNumbers(threshold=11, rounding=5,
                                                       suppress_zero=True)
    ws.settings_file.write_text("small_numbers: {rounding: 10}\n")
    assert ws.settings().small_numbers == SmallNumbers(threshold=8, rounding=10)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("small_numbers: {treshold: 11}", "small_numbers.treshold: unknown key 'treshold'"),
        ("small_numbers: {threshold: 0}",
         "small_numbers.threshold: must be a whole number of at least 1, got 0"),
        ("small_numbers: {rounding: 2.5}",
         "small_numbers.rounding: must be a whole number of at least 1, got 2.5"),
        ("small_numbers: {threshold: '11'}",
         "small_numbers.threshold: must be a whole number of at least 1, got '11'"),
        ("small_numbers: {threshold: true}",
         "small_numbers.threshold: must be a whole number of at least 1, got True"),
        ("small_numbers: {suppress_zero: 1}",
         "small_numbers.suppress_zero: must be true or false, got 1"),
        ("capacity: 50", "capacity: unknown key 'capacity'"),
        ("small_numbers: 8", "small_numbers: Input should be a valid dictionary"),
        ("- small_numbers", "must be a mapping of sections, got list"),
    ],
)
def test_a_bad_settings_file_names_the_file_and_the_key(tmp_path: Path, text: str,
                                                          problem: str):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        ws.settings()
    assert caught.value.message.startswith(f"{ws.settings_file}: {problem}")
    assert "small_numbers: threshold, rounding, suppress_zero" in caught.value.hint


def test_settings_that_are_not_yaml_name_the_file(tmp_path: Path):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text("small_numbers: [")
    with pytest.raises(ConfigError, match=f"{ws.settings_file}: cannot read it as YAML"):
        ws.settings()
