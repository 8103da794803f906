"""The server itself: lifecycle, recording of requests, cassette lookup, the pytest plugin."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tracklm.testing import LLMServer, RecordedRequest

RawPost = Callable[..., tuple[int, dict[str, str], bytes]]


def test_context_manager_gives_urls_and_frees_the_port() -> None:
    with LLMServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.openai_base_url == server.url + "/v1"
        assert server.running
    assert not server.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_explicit_start_and_stop_and_restart(raw_post: RawPost) -> None:
    server = LLMServer().start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert raw_post(server, "/v1/embeddings", {"input": "a"})[0] == 200
    finally:
        server.stop()
    server.stop()  # stopping twice is harmless
    with server:
        assert raw_post(server, "/v1/embeddings", {"input": "a"})[0] == 200


def test_stop_ends_an_idle_keep_alive_connection() -> None:
    server = LLMServer().start()
    with openai.OpenAI(api_key="t", base_url=server.openai_base_url, max_retries=0) as client:
        client.embeddings.create(model="e", input="a")
        server.stop()
        with pytest.raises(openai.APIConnectionError):
            client.embeddings.create(model="e", input="a")


def test_requests_records_method_path_query_headers_and_body(
    llm_server: LLMServer, raw_post: RawPost
) -> None:
    with openai.OpenAI(api_key="sk-test", base_url=llm_server.openai_base_url) as client:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Custom": "yes"},
            extra_query={"trace": "1"},
        )

    [request] = llm_server.requests
    assert isinstance(request, RecordedRequest)
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.query == {"trace": "1"}
    assert request.header("Authorization") == "Bearer sk-test"
    assert request.headers["x-custom"] == "yes"
    assert request.json() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
    }
    with pytest.raises(AttributeError):
        request.method = "GET"  # type: ignore[misc]


def test_clear_forgets_recorded_requests(llm_server: LLMServer, raw_post: RawPost) -> None:
    raw_post(llm_server, "/v1/embeddings", {"input": "a"})
    llm_server.clear()
    raw_post(llm_server, "/v1/embeddings", {"input": "b"})

    assert [r.json()["input"] for r in llm_server.requests] == ["b"]


def test_concurrent_requests_are_all_answered_and_recorded(
    llm_server: LLMServer, raw_post: RawPost
) -> None:
    def call(index: int) -> int:
        return raw_post(llm_server, "/v1/embeddings", {"input": str(index)})[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(64)))

    assert statuses == [200] * 64
    inputs = sorted(int(r.json()["input"]) for r in llm_server.requests)
    assert inputs == list(range(64))


def test_loading_a_cassette_turns_default_echo_off(
    cassette: Callable[[str, str], Path], raw_post: RawPost
) -> None:
    with LLMServer(cassette("openai", "test_embeddings_with_content")) as server:
        assert raw_post(server, "/v1/chat/completions", {"messages": []})[0] == 404
    path = cassette("openai", "test_embeddings_with_content")
    with LLMServer(path, echo=True) as server:
        assert raw_post(server, "/v1/chat/completions", {"messages": []})[0] == 200


def test_cassette_is_found_by_name_in_cassette_dir(fixtures_dir: Path) -> None:
    server = LLMServer(cassette_dir=fixtures_dir / "openai" / "cassettes")
    server.load_cassette("test_chat_completion_with_content")
    server.load_cassette("test_chat_completion_404.yaml")
    assert "2 recorded interactions" in repr(server)
    with pytest.raises(FileNotFoundError, match="no cassette 'nope'"):
        server.load_cassette("nope")


def test_missing_pyyaml_is_reported_with_the_install_command(
    cassette: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match="pip install pyyaml"):
        LLMServer(cassette("openai", "test_chat_completion_with_content"))


def test_get_requests_are_answered_too(llm_server: LLMServer) -> None:
    llm_server.queue_response(200, {"data": []})
    with urllib.request.urlopen(llm_server.url + "/v1/models?limit=1", timeout=5) as response:
        assert response.read() == b'{"data": []}'
    assert llm_server.requests[0].method == "GET"
    assert llm_server.requests[0].query == {"limit": "1"}


def test_importing_the_package_loads_no_sdk_yaml_or_pandas() -> None:
    code = (
        "import sys, tracklm.testing\n"
        "bad = {'pandas', 'openai', 'yaml', 'anthropic', 'google.genai', 'pytest'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_pytest_plugin_gives_a_started_echo_server(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tracklm.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import json, urllib.request

            def test_echo(llm_server):
                request = urllib.request.Request(
                    llm_server.openai_base_url + "/chat/completions",
                    data=json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(),
                )
                with urllib.request.urlopen(request) as response:
                    body = json.load(response)
                assert body["choices"][0]["message"]["content"] == "echo: x"
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_pytest_plugin_gives_each_test_a_store_of_its_own(tmp_path: Path) -> None:
    """A user's app tested with autolog: each test sees only the calls it made."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tracklm.testing.pytest_plugin"]\n')
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            import openai, pytest, tracklm

            @pytest.mark.parametrize("question", ["one", "two"])
            def test_app_is_recorded(llm_server, tracklm_store, question):
                tracklm.autolog()
                client = openai.OpenAI(api_key="t", base_url=llm_server.openai_base_url)
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": question}]
                )
                table = tracklm.load_table("predictions.csv")
                assert list(table["outputs"]) == [f"echo: {question}"]
                assert str(tracklm_store) in tracklm.get_tracking_uri()
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
