"""Artifact roots: a folder (shared or not), a file:// URL, or an fsspec URL (memory:// here),
used by the client for files and by every store for tables' files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import tracklm
from tracklm import StoreError
from tracklm._run_manager.records import AppendRows, Batch, CreateExperiment, CreateRun
from tracklm.cli import main
from tracklm.stores import open_store
from tracklm.stores._sql_store import SQLStore
from tracklm.stores.artifacts import LocalArtifactRepository, open_artifact_repository
from tracklm.stores.artifacts.fsspec import FsspecArtifactRepository


@pytest.fixture
def memory_root(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    import fsspec

    root = f"memory://tracklm-test/{request.node.name.replace('[', '-').rstrip(']')}"
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", root)
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_roots_name_their_repository(tmp_path: Path) -> None:
    local = open_artifact_repository(tmp_path / "a")
    assert isinstance(local, LocalArtifactRepository)
    assert local.root == str(tmp_path / "a")
    by_url = open_artifact_repository((tmp_path / "b c").as_uri())
    assert isinstance(by_url, LocalArtifactRepository)
    assert by_url.root == str(tmp_path / "b c")
    assert isinstance(open_artifact_repository("memory://x/y"), FsspecArtifactRepository)


def test_an_fsspec_root_without_fsspec_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    with pytest.raises(StoreError, match=r"pip install 'tracklm\[fsspec\]'"):
        open_artifact_repository("s3://bucket/prefix")


def test_an_unknown_protocol_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="nosuchproto"):
        open_artifact_repository("nosuchproto://bucket/prefix")


def test_a_shared_root_from_the_environment_holds_every_store_s_artifacts(
    tracking_uri: str, artifact_root: Path
) -> None:
    tracklm.set_tracking_uri(tracking_uri)
    with tracklm.start_run() as run:
        tracklm.log_text("hi", "notes/a.txt")
        tracklm.log_table({"x": [1]}, "t.csv")
    client = tracklm.TracklmClient()
    folder = artifact_root / run.info.experiment_id / run.info.run_id / "artifacts"
    assert client.artifact_dir(run.info.run_id) == folder
    assert (folder / "notes" / "a.txt").read_text() == "hi"
    assert (folder / "t.csv").read_text() == "x\n1\n"
    assert run.info.artifact_uri == folder.as_uri()


def test_client_artifacts_go_to_an_fsspec_root(tracking_uri: str, memory_root: str) -> None:
    tracklm.set_tracking_uri(tracking_uri)
    with tracklm.start_run() as run:
        tracklm.log_text("héllo", "notes/readme.txt")
        tracklm.log_dict({"k": [1, 2]}, "config.json")
        tracklm.log_table({"a": [1, 2]}, "t.csv")
    client = tracklm.TracklmClient()
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("memory://")
    assert client.artifact_uri(run_id) == run.info.artifact_uri
    assert client.list_artifacts(run_id) == ["config.json", "notes/readme.txt", "t.csv"]
    assert client.read_artifact(run_id, "notes/readme.txt").decode() == "héllo"
    assert json.loads(client.read_artifact(run_id, "config.json")) == {"k": [1, 2]}
    assert client.read_artifact(run_id, "t.csv") == b"a\n1\n2\n"
    with pytest.raises(StoreError, match="not in a local folder"):
        client.artifact_dir(run_id)


def test_log_artifact_copies_a_folder_to_an_fsspec_root(
    tracking_uri: str, memory_root: str, tmp_path: Path
) -> None:
    source = tmp_path / "plots"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")
    tracklm.set_tracking_uri(tracking_uri)
    with tracklm.start_run() as run:
        tracklm.log_artifact(source, artifact_path="figures")
    client = tracklm.TracklmClient()
    assert client.list_artifacts(run.info.run_id) == [
        "figures/plots/a.txt",
        "figures/plots/sub/b.txt",
    ]
    assert client.read_artifact(run.info.run_id, "figures/plots/sub/b.txt") == b"b"


def test_an_object_store_table_file_is_rewritten_at_most_every_interval_and_at_flush(
    tracking_uri: str, memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tracking_uri)
    assert isinstance(store, SQLStore)
    repository = store.artifacts
    assert isinstance(repository, FsspecArtifactRepository)
    puts: list[str] = []
    real_put = repository._put

    def counting_put(path: str, data: bytes) -> None:
        puts.append(path)
        real_put(path, data)

    monkeypatch.setattr(repository, "_put", counting_put)
    store.write_batch(
        Batch([CreateExperiment("e", "e", 1), CreateRun("r", "e", "e", "run", 1, {}, None)])
    )
    for i in range(10):
        store.write_batch(Batch([AppendRows("r", "t.csv", [{"i": i}])]))
    assert len(puts) == 1  # the first append, at once; the next ones wait for the interval
    assert repository.read_bytes("e", "r", "t.csv") == b"i\n0\n"
    store.sync_files(force=True)  # what flush() and exit do
    assert len(puts) == 2
    expected = "i\n" + "".join(f"{i}\n" for i in range(10))
    assert repository.read_bytes("e", "r", "t.csv") == expected.encode()
    store.sync_files(force=True)
    assert len(puts) == 2  # nothing changed since
    store.close()


def test_the_cli_reads_artifacts_from_the_root_it_is_given(
    tracking_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "elsewhere"
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(root))
    tracklm.set_tracking_uri(tracking_uri)
    with tracklm.start_run() as run:
        tracklm.log_text("x", "only-here.txt")
    assert tracklm.flush().ok
    tracklm._run_manager.shutdown_all(timeout=10)  # the CLI opens the store anew
    monkeypatch.delenv("TRACKLM_ARTIFACT_ROOT")
    capsys.readouterr()
    args = ["--tracking-uri", tracking_uri, "--artifact-root", str(root)]
    assert main([*args, "show", run.info.run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["artifacts"] == ["only-here.txt"]
    assert shown["info"]["artifact_uri"].startswith(root.as_uri())
