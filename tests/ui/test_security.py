"""Logged text is shown as text, nothing changes the store, and no file outside a run is served."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    SetTag,
)
from tracklm.stores import open_store
from tracklm.stores._sql_store import SQLStore

from ._data import SCRIPT_PROMPT, RealisticStore
from .conftest import client_for

EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)">'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt;"


@pytest.fixture
def evil_store(tmp_path: Path) -> Iterator[SQLStore]:
    """A store whose every name, key and value tries to run a script."""
    store = open_store(str(tmp_path / "evil"))
    assert isinstance(store, SQLStore)
    row = {"inputs": EVIL, "outputs": EVIL, "status": EVIL, "model": EVIL, "params": EVIL}
    store.write_batch(
        Batch(
            [
                CreateExperiment("1", EVIL, 1),
                CreateRun("r1", "1", EVIL, EVIL, 2, {EVIL: EVIL}, None),
                CreateRun("r2", "1", EVIL, "other", 3, {}, None),
                LogParam("r1", EVIL, EVIL),
                LogMetric("r1", "m</script><script>alert(3)</script>", 1.0, 0, 5),
                SetTag("r1", "note", EVIL),
                AppendRows("r1", "predictions.csv", [row]),
                AppendRows("r2", "predictions.csv", [row]),
            ]
        )
    )
    yield store
    store.close()


def test_no_logged_text_reaches_a_page_as_markup(evil_store: SQLStore) -> None:
    with client_for(evil_store) as client:
        pages = [
            client.get("/"),
            client.get("/experiments/1"),
            client.get("/experiments/1", params={"filter": EVIL}),  # an error quoting it
            client.get("/runs/r1"),
            client.get("/runs/r1", params={"q": EVIL, "status": EVIL}),
            client.get("/runs/r1/rows/0"),
            client.get("/compare", params={"run": ["r1", "r2"]}),
            client.get("/runs/r1/rows/9", params={"table": EVIL}),  # a 404 quoting it
        ]
    for page in pages:
        html, _, data = page.text.partition('<script type="application/json" id="page-data">')
        assert "<" not in data.split("</script>", 1)[0], page.url  # JSON, closed only by us
        assert "<script>alert" not in html, page.url
        assert "onerror=" not in html.replace("onerror=&#34;", ""), page.url
        assert "<img" not in html, page.url
    assert ESCAPED in pages[3].text
    assert ESCAPED in pages[5].text


def test_chart_data_is_json_that_cannot_close_its_script_element(evil_store: SQLStore) -> None:
    with client_for(evil_store) as client:
        html = client.get("/runs/r1").text
    data = html.split('<script type="application/json" id="page-data">', 1)[1]
    data = data.split("</script>", 1)[0]
    assert "\\u003c/script\\u003e" in data
    assert "<" not in data


def test_a_prompt_with_a_script_is_shown_as_text(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    html = realistic_client.get(f"/runs/{realistic.run_ids['prompt-v2']}").text
    assert SCRIPT_PROMPT not in html
    assert "&lt;script&gt;alert(&#34;prompt&#34;)&lt;/script&gt;" in html


def test_every_response_forbids_inline_scripts_and_sniffing(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    for path in ("/", f"/runs/{realistic.run_ids['prompt-v1']}", "/nope", "/static/app.js"):
        headers = realistic_client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_no_request_changes_anything(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    run_id = realistic.run_ids["prompt-v1"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/", f"/runs/{run_id}", f"/runs/{run_id}/artifacts/notes.md", "/compare"):
            answer = realistic_client.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers["allow"] == "GET, HEAD"


def test_requests_naming_another_host_are_refused(realistic: RealisticStore) -> None:
    """A web page on another site cannot read the app through DNS rebinding."""
    store = open_store(str(realistic.path))
    with TestClient(client_for(store).app, base_url="http://evil.example:5731") as client:
        assert client.get("/").status_code == 400
    with client_for(store) as client:
        assert client.get("/", headers={"host": "localhost:5731"}).status_code == 200
    store.close()


# -- artifacts ---------------------------------------------------------------------------------


@pytest.fixture
def planted(realistic: RealisticStore, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A run folder with links planted in it, pointing out of it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.txt").write_text("also secret")
    store = open_store(str(realistic.path))
    run_id = realistic.run_ids["prompt-v3"]
    run = store.get_run(run_id)
    assert run is not None
    folder = store.artifacts.local_dir(run.info.experiment_id, run_id)
    assert folder is not None
    links = [folder / "link.txt", folder / "linked_dir"]
    os.symlink(secret, links[0])
    os.symlink(outside, links[1])
    try:
        with client_for(store) as client:
            yield client, run_id
    finally:
        for link in links:
            link.unlink()
        store.close()


@pytest.mark.parametrize(
    "path",
    [
        "../../../../../../etc/passwd",
        "..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "notes.md/../../../prompt-v1/artifacts/notes.md",
        "link.txt",
        "linked_dir/inner.txt",
        "..\\..\\secret.txt",
        "C:/Windows/win.ini",
    ],
)
def test_an_artifact_path_out_of_the_run_folder_is_refused(
    planted: tuple[TestClient, str], path: str
) -> None:
    client, run_id = planted
    answer = client.get(f"/runs/{run_id}/artifacts/{path}")
    assert answer.status_code == 404, answer.text
    assert "the secret" not in answer.text
    assert "also secret" not in answer.text
    assert "root:" not in answer.text
    view = client.get(f"/runs/{run_id}/artifacts/{path}", params={"view": "1"})
    assert view.status_code == 404
    assert "the secret" not in view.text


def test_the_runs_own_artifacts_are_served_beside_planted_links(
    planted: tuple[TestClient, str],
) -> None:
    client, run_id = planted
    answer = client.get(f"/runs/{run_id}/artifacts/notes.md")
    assert (answer.status_code, answer.text) == (200, "# prompt-v3\n\nAnswers 12 questions.\n")
