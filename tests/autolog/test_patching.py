"""Installing and undoing autolog, and what happens when tracklm's own code fails."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import wrapt

import tracklm
from tracklm.autolog import set_strict

from . import fake_sdk
from .fake_integration import BrokenReaderIntegration

ORIGINAL_GENERATE = fake_sdk.Client.__dict__["generate"]
ORIGINAL_AGENERATE = fake_sdk.Client.__dict__["agenerate"]


def test_autolog_twice_wraps_once_and_disable_restores_the_same_functions(
    installed: Callable[..., None],
) -> None:
    tracklm.autolog()
    tracklm.autolog(log_outputs=False)
    wrapped = fake_sdk.Client.__dict__["generate"]
    assert isinstance(wrapped, wrapt.FunctionWrapper)
    assert wrapped.__wrapped__ is ORIGINAL_GENERATE  # one layer, around the original

    assert tracklm.autolog(disable=True) == []
    assert fake_sdk.Client.__dict__["generate"] is ORIGINAL_GENERATE
    assert fake_sdk.Client.__dict__["agenerate"] is ORIGINAL_AGENERATE
    assert fake_sdk.Client.__dict__["list_models"] is not wrapped


def test_exclude_leaves_an_sdk_untouched(installed: Callable[..., None]) -> None:
    assert tracklm.autolog(exclude=["fake"]) == []
    assert fake_sdk.Client.__dict__["generate"] is ORIGINAL_GENERATE


def test_a_later_autolog_without_an_integration_unpatches_it(
    installed: Callable[..., None],
) -> None:
    tracklm.autolog()
    tracklm.autolog(include=[])
    assert fake_sdk.Client.__dict__["generate"] is ORIGINAL_GENERATE


def test_an_error_inside_tracklm_never_reaches_the_call(
    installed: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    set_strict(False)
    installed(BrokenReaderIntegration())
    tracklm.autolog()
    with caplog.at_level(logging.WARNING, logger="tracklm"), tracklm.start_run() as run:
        assert fake_sdk.Client().generate("a", model="explode").text == "echo: a"
        assert fake_sdk.Client().generate("b", model="explode").text == "echo: b"
        reply = fake_sdk.Client().generate("c", model="m1")
        assert reply.text == "echo: c"
        assert tracklm.flush(timeout=30).ok
    start_errors = [r for r in caplog.records if "starting to record" in r.getMessage()]
    assert len(start_errors) == 1  # logged once, not once per call
    (row,) = tracklm.load_table("predictions.csv", run_ids=[run.info.run_id]).to_dict("records")
    assert row["inputs"] == "c"  # the reader failed: the row is kept without the response
    assert any("reading a fake response failed" in r.getMessage() for r in caplog.records)


def test_strict_mode_raises_tracklm_errors_for_tests(installed: Callable[..., None]) -> None:
    installed(BrokenReaderIntegration())
    tracklm.autolog()
    with pytest.raises(RuntimeError, match="start bug"):
        fake_sdk.Client().generate("a", model="explode")


def test_autolog_before_the_sdk_is_imported_patches_it_on_import(tmp_path: Path) -> None:
    code = """
    import sys
    import tracklm
    from tests.autolog.fake_integration import FakeIntegration
    sys.modules["tracklm.autolog"].discover = lambda: {"fake": FakeIntegration()}
    assert "tests.autolog.fake_sdk" not in sys.modules
    tracklm.autolog()
    from tests.autolog import fake_sdk    # imported after autolog()
    with tracklm.start_run() as run:
        fake_sdk.Client().generate("late import", model="m1")
    tracklm.flush()
    print(list(tracklm.load_table("predictions.csv")["inputs"]))
    """
    assert _run_script(code, tmp_path) == "['late import']"


def test_autolog_runs_are_ended_finished_at_exit(tmp_path: Path) -> None:
    code = """
    import sys
    import tracklm
    from tests.autolog.fake_integration import FakeIntegration
    from tests.autolog import fake_sdk
    sys.modules["tracklm.autolog"].discover = lambda: {"fake": FakeIntegration()}
    tracklm.autolog()
    fake_sdk.Client().generate("no run active", model="m1")
    """
    _run_script(code, tmp_path)
    (run,) = tracklm.TracklmClient(str(tmp_path / "store")).search_runs(["0"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["tracklm.autolog"] == "true"


def _run_script(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a new interpreter on this test's store; return what it printed."""
    env = {
        **os.environ,
        "TRACKLM_TRACKING_URI": str(tmp_path / "store"),
        "TRACKLM_JOURNAL_DIR": str(tmp_path / "journal"),
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
