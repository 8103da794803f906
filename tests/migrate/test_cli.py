"""``tracklm migrate SRC_URI DST_URI``: progress on stderr, a summary (or JSON) on stdout."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest

from tracklm.cli import main
from tracklm.migrate import MigrationReport, migrate
from tracklm.migrate._progress import ProgressBar

from ._data import snapshot
from .conftest import Source


def test_migrate_prints_progress_then_a_summary_and_again_nothing_new(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = str(tmp_path / "destination")

    assert main(["migrate", source.uri, destination]) == 0

    out, err = capsys.readouterr()
    progress = err.splitlines()
    assert progress[0].startswith("migrate: 0/5 runs")
    assert progress[-1].startswith("migrate: 5/5 runs, ")
    assert "\r" not in err  # not a terminal: plain lines
    assert f"Migrated sqlite:///{source.uri}/tracklm.db" in out
    assert "runs         5 (5 new, 0 updated, 0 already there)" in out
    assert "files        3 copied (16.4 KB), 0 already there" in out
    assert snapshot(destination) == snapshot(source.uri)

    assert main(["migrate", source.uri, destination]) == 0
    out, _err = capsys.readouterr()
    assert "runs         5 (0 new, 0 updated, 5 already there)" in out
    assert "Nothing new to copy" in out


def test_migrate_json_is_the_report_and_quiet_prints_no_progress(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = str(tmp_path / "destination")
    assert main(["migrate", "--json", "--quiet", source.uri, destination]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["runs_created"] == 5
    assert report["rows"] == 11
    assert report["skipped"] == []
    assert set(report) >= {"source", "destination", "experiments", "metrics", "files_copied"}


def test_on_a_terminal_the_progress_bar_is_redrawn_in_place(source: Source, tmp_path: Path) -> None:
    stream = StringIO()
    bar = ProgressBar(stream, tty=True)
    bar.REDRAW = 0.0  # draw every update
    migrate(source.uri, tmp_path / "destination", progress=bar)
    bar.close()
    text = stream.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) > 5
    assert frames[0].startswith("[------------------------] 0/5 runs")
    assert frames[-1].startswith("[########################] 5/5 runs")
    assert text.endswith("\n")
    assert text.count("\n") == 1


def test_a_progress_line_is_written_at_each_tenth_of_the_runs_elsewhere() -> None:
    stream = StringIO()
    bar = ProgressBar(stream, tty=False)
    report = MigrationReport("a", "b", runs_total=200)
    for done in range(201):
        report.runs_done = done
        bar(report)
        bar(report)  # batches within a run: no new line
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [f"{20 * i}/200" for i in range(11)]


def test_an_interrupted_migration_says_how_to_finish_and_the_same_command_does(
    source: Source,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    destination = str(tmp_path / "destination")
    original = ProgressBar.__call__

    def interrupt_after_two_runs(self: ProgressBar, report: MigrationReport) -> None:
        original(self, report)
        if report.runs_done == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressBar, "__call__", interrupt_after_two_runs)
    assert main(["migrate", source.uri, destination]) == 130
    assert "run the same command again" in capsys.readouterr().err.lower()
    monkeypatch.undo()

    assert main(["migrate", source.uri, destination]) == 0
    out = capsys.readouterr().out
    assert "runs         5 (3 new, 0 updated, 2 already there)" in out
    assert snapshot(destination) == snapshot(source.uri)


def test_the_artifact_roots_of_each_side_can_be_given(
    source: Source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "moved-artifacts"
    destination = str(tmp_path / "destination")
    code = main(["migrate", "-q", "--dst-artifact-root", str(moved), source.uri, destination])
    assert code == 0
    assert (moved / "0").is_dir()
    assert not (tmp_path / "destination" / "artifacts").exists()

    back = str(tmp_path / "back")
    code = main(["migrate", "-q", "--src-artifact-root", str(moved), destination, back])
    assert code == 0
    assert snapshot(back) == snapshot(source.uri)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{src}", "sqlite:///{src}/tracklm.db"], "are the same store"),
        (["{tmp}/missing", "{tmp}/destination"], "There is no tracklm store at"),
        (["{src}", "postgresql://tracklm@127.0.0.1:{port}/none"], "Cannot read the store"),
        (["{src}", "mlflow+ftp://somewhere"], "scheme"),
    ],
)
def test_misuse_and_unreachable_stores_exit_1_with_a_message(
    source: Source,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    from ..stores.conftest import closed_port

    values = {"src": source.uri, "tmp": str(tmp_path), "port": str(closed_port())}
    argv = [a.format(**values) for a in args]
    assert main(["migrate", "-q", "--dst-artifact-root", str(tmp_path / "a"), *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tracklm: ")
    assert message in err
