"""``tracklm demo``: a small app with ``tracklm.autolog()``, offline, then what it recorded.

It starts :class:`tracklm.testing.LLMServer` on localhost, points the real ``openai`` SDK at
it, and makes the calls an app makes: a chat with a temperature, a stream, an embedding, a
tool call and one failing call. Without the ``openai`` SDK and its integration it logs a run
with the tracking API instead.
"""

from __future__ import annotations

import contextlib
import importlib.util

import tracklm
from tracklm.stores import mask_password


def run_demo(tracking_uri: str | None = None) -> int:
    """Run the demo app into ``tracking_uri`` (default store) and print what was recorded."""
    if tracking_uri is not None:
        tracklm.set_tracking_uri(tracking_uri)
    tracklm.set_experiment("tracklm-demo")
    if importlib.util.find_spec("openai") and importlib.util.find_spec("tracklm_openai"):
        run_id = _autolog_app()
        story = "Ran a small app with tracklm.autolog() against a local OpenAI-compatible server:"
    else:
        run_id = _tracking_api_run()
        story = (
            "Logged a run with the tracking API (install `openai` and `tracklm-openai` to see "
            "autolog):"
        )
    tracklm.flush()

    from tracklm.cli import main

    uri = tracklm.get_tracking_uri()
    print(story + "\n")
    main(["--tracking-uri", uri, "show", run_id])
    print("\nIts predictions table (a few of its columns):")
    columns = "step,operation,model,inputs,outputs,latency_ms,output_tokens,status"
    main(["--tracking-uri", uri, "table", run_id, "predictions.csv", "--columns", columns])
    print(f"\nEverything is stored in {mask_password(uri)}")
    print(f"  look again:  tracklm show {run_id}")
    print(f"               tracklm table {run_id} --format csv")
    print("  in Python:   tracklm.load_table('predictions.csv', run_ids=[...])")
    return 0


def _autolog_app() -> str:
    import openai

    from tracklm.testing import LLMServer

    tracklm.autolog()
    weather_tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    with LLMServer() as server, tracklm.start_run(run_name="demo-support-bot") as run:
        client = openai.OpenAI(api_key="demo-key", base_url=server.openai_base_url)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            temperature=0.2,
            extra_body={"top_k": 40},
        )
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Tell me a short story"}],
            stream=True,
        )
        for _chunk in stream:
            pass
        client.embeddings.create(model="text-embedding-3-small", input=["refund policy"])
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": 'call get_weather {"city": "Paris"}'}],
            tools=[weather_tool],  # type: ignore[list-item]
        )
        server.queue_response(
            404, {"error": {"message": "The model does not exist", "type": "invalid_request_error"}}
        )
        with contextlib.suppress(openai.NotFoundError):  # recorded with status=error
            client.chat.completions.create(
                model="gpt-9", messages=[{"role": "user", "content": "Hello?"}]
            )
    tracklm.autolog(disable=True)
    return run.info.run_id


def _tracking_api_run() -> str:
    questions = ["What is the capital of France?", "Is 17 a prime number?"]
    answers = ["Paris.", "Yes, 17 is prime."]
    with tracklm.start_run(run_name="demo-prompt-v1") as run:
        tracklm.log_params({"model": "demo-model", "temperature": 0.2, "top_k": 40})
        for step, latency in enumerate((332.2, 250.9)):
            tracklm.log_metric("latency_ms", latency, step=step)
        tracklm.log_table({"inputs": questions, "outputs": answers}, "predictions.csv")
    return run.info.run_id
