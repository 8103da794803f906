"""The fluent API's artifacts (log_text, log_dict, log_artifact) and tracking URIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tracklm


def client() -> tracklm.TracklmClient:
    return tracklm.TracklmClient(tracklm.get_tracking_uri())


# -- artifacts -----------------------------------------------------------------------------


def test_log_text_and_log_dict_write_files_in_the_run_artifacts() -> None:
    with tracklm.start_run() as run:
        tracklm.log_text("héllo\n", "notes/readme.txt")
        tracklm.log_dict({"b": [1, 2], "a": "é"}, "config.json")
        tracklm.log_dict({"k": "v"}, "config.yaml")
    folder = client().artifact_dir(run.info.run_id)
    assert (folder / "notes" / "readme.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((folder / "config.json").read_text(encoding="utf-8")) == {
        "b": [1, 2],
        "a": "é",
    }
    assert (folder / "config.yaml").read_text(encoding="utf-8") == "k: v\n"
    assert Path(run.info.artifact_uri.removeprefix("file://")) == folder


def test_log_artifact_copies_a_file_and_a_folder_under_artifact_path(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("# r")
    src = tmp_path / "plots"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    with tracklm.start_run() as run:
        tracklm.log_artifact(tmp_path / "report.md")
        tracklm.log_artifact(str(tmp_path / "report.md"), artifact_path="docs")
        tracklm.log_artifact(src, artifact_path="figures")
    c = client()
    assert c.list_artifacts(run.info.run_id) == [
        "docs/report.md",
        "figures/plots/a.txt",
        "figures/plots/sub/b.txt",
        "report.md",
    ]
    assert (c.artifact_dir(run.info.run_id) / "figures/plots/sub/b.txt").read_text() == "b"


# -- tracking URIs -------------------------------------------------------------------------


def _log_one_param() -> str:
    with tracklm.start_run() as run:
        tracklm.log_param("where", "here")
    return run.info.run_id


def test_sqlite_uri_stores_in_that_file(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "runs.db"
    tracklm.set_tracking_uri(f"sqlite:///{db}")
    assert tracklm.get_tracking_uri() == f"sqlite:///{db}"
    run_id = _log_one_param()
    assert db.is_file()
    other = tracklm.TracklmClient(f"sqlite:///{db}").get_run(run_id)
    assert other.data.params == {"where": "here"}


def test_relative_sqlite_uri_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracklm.set_tracking_uri("sqlite:///rel.db")
    _log_one_param()
    assert tracklm.get_tracking_uri() == f"sqlite:///{tmp_path / 'rel.db'}"
    assert (tmp_path / "rel.db").is_file()


@pytest.mark.parametrize("form", ["folder", "file_uri"])
def test_folder_and_file_uri_store_in_that_folder(tmp_path: Path, form: str) -> None:
    folder = tmp_path / "my runs"
    tracklm.set_tracking_uri(folder if form == "folder" else folder.as_uri())
    run_id = _log_one_param()
    assert (folder / "tracklm.db").is_file()
    assert tracklm.TracklmClient(str(folder)).get_run(run_id).data.params == {"where": "here"}


def test_tracking_uri_comes_from_env_when_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKLM_TRACKING_URI", str(tmp_path / "env-store"))
    tracklm.set_tracking_uri(None)
    _log_one_param()
    assert tracklm.get_tracking_uri() == f"sqlite:///{tmp_path / 'env-store' / 'tracklm.db'}"
    assert (tmp_path / "env-store" / "tracklm.db").is_file()


def test_unknown_uri_scheme_raises_invalid_tracking_uri() -> None:
    with pytest.raises(tracklm.InvalidTrackingUri, match="'s3'"):
        tracklm.TracklmClient("s3://bucket/runs")
    tracklm.set_tracking_uri("mysql://user:secret@db/runs")
    with pytest.raises(tracklm.InvalidTrackingUri, match="'mysql'") as info:
        tracklm.start_run()
    assert "secret" not in str(info.value)
    assert issubclass(tracklm.InvalidTrackingUri, tracklm.TracklmError)
