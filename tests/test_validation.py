"""Every misuse raises a TracklmError subclass whose message names what was wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tracklm


@pytest.fixture
def run() -> Iterator[tracklm.ActiveRun]:
    with tracklm.start_run() as active:
        yield active


def stored(run: tracklm.ActiveRun) -> tracklm.Run:
    return tracklm.get_run(run.info.run_id)


def test_every_error_is_a_tracklm_error() -> None:
    errors = [
        getattr(tracklm, n)
        for n in tracklm.__all__
        if isinstance(getattr(tracklm, n), type) and issubclass(getattr(tracklm, n), BaseException)
    ]
    assert len(errors) == 14
    assert all(issubclass(e, tracklm.TracklmError) for e in errors)
    for value_error in (
        tracklm.InvalidKey,
        tracklm.InvalidValue,
        tracklm.InvalidArtifactPath,
        tracklm.InvalidFilter,
        tracklm.InvalidTrackingUri,
    ):
        assert issubclass(value_error, ValueError)


# -- keys ----------------------------------------------------------------------------------

BAD_KEYS = [
    "",
    "x" * 251,
    "bang!",
    "new\nline",
    "tab\tkey",
    "/leading",
    "a//b",
    " padded",
    "trailing ",
    "semi;colon",
    "quote'",
    "star*",
    "nul\x00",
]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("log", ["param", "metric", "tag"])
def test_bad_keys_raise_invalid_key_naming_the_key(
    run: tracklm.ActiveRun, key: str, log: str
) -> None:
    call = {"param": tracklm.log_param, "metric": tracklm.log_metric, "tag": tracklm.set_tag}[log]
    with pytest.raises(tracklm.InvalidKey) as info:
        call(key, 1)
    assert repr(key) in str(info.value)
    assert log in str(info.value)


def test_a_bad_table_column_raises_invalid_key(run: tracklm.ActiveRun) -> None:
    with pytest.raises(tracklm.InvalidKey, match="'bad!'"):
        tracklm.log_table({"bad!": [1]}, "t.csv")


@pytest.mark.parametrize("key", [1, None, b"bytes", ("t",), ["unhashable"], {"a": 1}])
def test_non_string_keys_raise_invalid_key(run: tracklm.ActiveRun, key: object) -> None:
    with pytest.raises(tracklm.InvalidKey, match=type(key).__name__):
        tracklm.log_param(key, 1)  # type: ignore[arg-type]
    with pytest.raises(tracklm.InvalidKey, match="str"):
        tracklm.log_metric(key, 1.0)  # type: ignore[arg-type]


def test_longest_and_oddest_valid_keys_are_accepted(run: tracklm.ActiveRun) -> None:
    keys = ["x" * 250, "a/b.c-d_e:f g", "ключ", "名前", "v1.2", "trailing/"]
    tracklm.log_params(dict.fromkeys(keys, "v"))
    assert sorted(stored(run).data.params) == sorted(keys)


# -- values --------------------------------------------------------------------------------


def test_param_value_longer_than_6000_characters_is_refused(run: tracklm.ActiveRun) -> None:
    tracklm.log_param("ok", "x" * 6000)
    with pytest.raises(tracklm.InvalidValue, match=r"'long'.*6001.*6000.*log_text"):
        tracklm.log_param("long", "x" * 6001)
    assert stored(run).data.params == {"ok": "x" * 6000}


def test_tag_value_longer_than_8000_characters_is_refused(run: tracklm.ActiveRun) -> None:
    with pytest.raises(tracklm.InvalidValue, match=r"'big'.*8001"):
        tracklm.set_tag("big", "x" * 8001)


@pytest.mark.parametrize("log", ["param", "tag"])
def test_text_that_is_not_valid_unicode_is_refused_and_does_not_block_the_store(
    run: tracklm.ActiveRun, log: str
) -> None:
    """A lone surrogate cannot be stored; it must be refused at the call, not poison the
    batch it would travel in (and every later write)."""
    call = tracklm.log_param if log == "param" else tracklm.set_tag
    with pytest.raises(tracklm.InvalidValue, match=r"'k'.*surrogate '\\ud800' at position 4"):
        call("k", "bad \ud800 text")
    tracklm.log_param("after", "ok")
    assert stored(run).data.params == {"after": "ok"}
    assert tracklm.flush().ok


def test_param_overwrite_says_what_to_do_and_the_same_value_is_fine(
    run: tracklm.ActiveRun,
) -> None:
    tracklm.log_param("model", "gpt-4o")
    tracklm.log_param("model", "gpt-4o")
    with pytest.raises(tracklm.ParamOverwrite) as info:
        tracklm.log_param("model", "gpt-4o-mini")
    message = str(info.value)
    for part in ("'model'", "'gpt-4o'", "'gpt-4o-mini'", "another key", "tag", "new run"):
        assert part in message
    assert stored(run).data.params == {"model": "gpt-4o"}


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (True, "bool"),
        (np.bool_(False), "bool"),
        ("0.5", "str"),
        (None, "NoneType"),
        ([1.0], "list"),
        (1 + 2j, "complex"),
    ],
)
def test_metric_values_that_are_not_real_numbers_are_refused(
    run: tracklm.ActiveRun, value: object, type_name: str
) -> None:
    with pytest.raises(tracklm.InvalidValue, match=rf"'acc'.*{type_name}"):
        tracklm.log_metric("acc", value)  # type: ignore[arg-type]
    assert dict(stored(run).data.metrics) == {}


def test_numpy_numbers_are_accepted_as_metrics(run: tracklm.ActiveRun) -> None:
    tracklm.log_metric("f", np.float32(0.5), step=np.int64(3))
    tracklm.log_metric("i", np.int64(7))
    assert stored(run).data.metrics == {"f": 0.5, "i": 7.0}


@pytest.mark.parametrize("step", [1.5, "1", True, 2.0])
def test_metric_step_must_be_an_integer(run: tracklm.ActiveRun, step: object) -> None:
    with pytest.raises(tracklm.InvalidValue, match=rf"step.*{step!r}"):
        tracklm.log_metric("m", 1.0, step=step)  # type: ignore[arg-type]


@pytest.mark.parametrize("timestamp", [float("nan"), float("inf"), "now", True])
def test_metric_timestamp_must_be_finite_milliseconds(
    run: tracklm.ActiveRun, timestamp: object
) -> None:
    with pytest.raises(tracklm.InvalidValue, match="timestamp"):
        tracklm.log_metric("m", 1.0, timestamp=timestamp)  # type: ignore[arg-type]


def test_run_name_must_be_a_string() -> None:
    with pytest.raises(tracklm.InvalidValue, match="run_name"):
        tracklm.start_run(run_name=42)  # type: ignore[arg-type]
    assert tracklm.active_run() is None


# -- artifact paths ------------------------------------------------------------------------

BAD_PATHS = {
    "posix-absolute": ("/etc/passwd", "absolute"),
    "windows-drive": ("C:\\x", "backslash"),
    "windows-drive-slash": ("C:/x.txt", "absolute"),
    "unc": ("\\\\server\\share\\x.txt", "backslash"),
    "unc-slash": ("//server/share/x.txt", "absolute"),
    "dotdot": ("../x.txt", "leaves"),
    "inner-dotdot": ("a/../../x.txt", "leaves"),
    "nul": ("a\x00.txt", "NUL"),
    "empty": ("", "non-empty"),
    "dot": (".", "names no file"),
}


@pytest.mark.parametrize(("path", "why"), BAD_PATHS.values(), ids=BAD_PATHS.keys())
def test_bad_artifact_paths_raise_invalid_artifact_path_naming_the_path(
    run: tracklm.ActiveRun, tmp_path: Path, path: str, why: str
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    table = path + ".csv" if path not in ("", ".") else path
    calls = [
        (path, lambda: tracklm.log_text("x", path)),
        (path, lambda: tracklm.log_dict({}, path)),
        (table, lambda: tracklm.log_table({"a": [1]}, table)),
    ]
    if path:  # an empty artifact_path is the root folder
        calls.append((path, lambda: tracklm.log_artifact(source, artifact_path=path)))
    for named, call in calls:
        with pytest.raises(tracklm.InvalidArtifactPath) as info:
            call()
        assert why in str(info.value)
        if named:
            assert repr(named) in str(info.value)
    assert tracklm.TracklmClient(tracklm.get_tracking_uri()).list_artifacts(run.info.run_id) == []


def test_artifact_path_message_names_the_path(run: tracklm.ActiveRun) -> None:
    with pytest.raises(tracklm.InvalidArtifactPath, match=r"'\.\./secret\.txt'.*relative"):
        tracklm.log_text("x", "../secret.txt")


def test_a_link_out_of_the_run_folder_is_refused(run: tracklm.ActiveRun, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_text("keep")
    folder = tracklm.TracklmClient(tracklm.get_tracking_uri()).artifact_dir(run.info.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out").symlink_to(outside, target_is_directory=True)
    (folder / "file.txt").symlink_to(outside / "target.txt")
    source = tmp_path / "src.txt"
    source.write_text("new")
    for call in (
        lambda: tracklm.log_text("x", "out/x.txt"),
        lambda: tracklm.log_text("x", "file.txt"),
        lambda: tracklm.log_artifact(source, artifact_path="out"),
        lambda: tracklm.log_table({"a": [1]}, "out/t.csv"),
    ):
        with pytest.raises(tracklm.InvalidArtifactPath, match="link"):
            call()
    tracklm.flush()
    assert sorted(os.listdir(outside)) == ["target.txt"]
    assert (outside / "target.txt").read_text() == "keep"
