"""With no OpenTelemetry SDK configured, tracklm starts no span at all.

Run in a fresh interpreter: this package sets an SDK for its other tests, and the global
providers of OpenTelemetry are per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SCRIPT = textwrap.dedent(
    """
    import json, sys

    from opentelemetry import context as otel_context
    from opentelemetry import trace

    made = {"otel_spans": 0, "tracklm_spans": 0, "attached": 0, "instruments": 0}
    span_init = trace.NonRecordingSpan.__init__
    attach = otel_context.attach

    def counting_span_init(self, *args, **kwargs):
        made["otel_spans"] += 1
        span_init(self, *args, **kwargs)

    def counting_attach(ctx):
        made["attached"] += 1
        return attach(ctx)

    trace.NonRecordingSpan.__init__ = counting_span_init
    otel_context.attach = counting_attach

    import openai
    import tracklm
    from tracklm import _telemetry
    from tracklm.autolog import set_strict
    from tracklm.testing import LLMServer

    tracker_init = _telemetry.Span.__init__

    def counting_tracker_init(self, *args, **kwargs):
        made["tracklm_spans"] += 1
        tracker_init(self, *args, **kwargs)

    _telemetry.Span.__init__ = counting_tracker_init
    instruments_init = _telemetry._Instruments.__init__

    def counting_instruments_init(self, *args, **kwargs):
        made["instruments"] += 1
        instruments_init(self, *args, **kwargs)

    _telemetry._Instruments.__init__ = counting_instruments_init
    set_strict(True)
    tracklm.set_tracking_uri(sys.argv[1])
    tracklm.autolog()
    hi = [{"role": "user", "content": "hello there"}]
    with LLMServer() as server, tracklm.start_run() as run:
        client = openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=hi)
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=hi, stream=True):
            assert trace.get_current_span() is trace.INVALID_SPAN
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    tracklm.flush(timeout=30)
    table = tracklm.load_table("predictions.csv", run_ids=[run.info.run_id])
    print(json.dumps({
        **made,
        "rows": len(table),
        "trace_ids_empty": bool(table["trace_id"].isna().all()),
        "span_ids_empty": bool(table["span_id"].isna().all()),
        "sdk_imported": "opentelemetry.sdk" in sys.modules,
        "start_span": repr(_telemetry.start_span("chat", "m", "openai", 0)),
    }))
    """
)


def run_fresh(script: str, tmp_path: Path) -> Any:
    """Run ``script`` in a fresh interpreter with no OpenTelemetry or tracklm settings; what
    it printed last, as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLM_", "OTEL_"))}
    env["TRACKLM_JOURNAL_DIR"] = str(tmp_path / "journal")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_sdk_no_span_object_and_empty_trace_ids(tmp_path: Path) -> None:
    result = run_fresh(SCRIPT, tmp_path)
    assert result == {
        "otel_spans": 0,
        "tracklm_spans": 0,
        "attached": 0,
        "instruments": 0,
        "rows": 3,
        "trace_ids_empty": True,
        "span_ids_empty": True,
        "sdk_imported": False,
        "start_span": "None",
    }


LATE_SDK = textwrap.dedent(
    """
    import json, sys

    import openai
    import tracklm
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from tracklm.autolog import set_strict
    from tracklm.testing import LLMServer

    set_strict(True)
    tracklm.set_tracking_uri(sys.argv[1])
    tracklm.autolog()
    hi = [{"role": "user", "content": "hello there"}]
    reader = InMemoryMetricReader()
    with LLMServer() as server, tracklm.start_run():
        client = openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=hi)
        tracklm.flush(timeout=30)  # recorded while no SDK was set
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=hi)
    tracklm.flush(timeout=30)
    counts = {
        metric.name: sum(point.count for point in metric.data.data_points)
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if scope.scope.name == "tracklm"
    }
    print(json.dumps(counts))
    """
)


def test_a_meter_provider_set_after_the_first_call_gets_the_later_calls(tmp_path: Path) -> None:
    counts = run_fresh(LATE_SDK, tmp_path)
    # the two calls made once the SDK was set; input and output tokens for each
    assert counts == {"gen_ai.client.operation.duration": 2, "gen_ai.client.token.usage": 4}


ENV_PROVIDER = textwrap.dedent(
    """
    import json, os, sys

    import openai
    import tracklm
    from tracklm.autolog import set_strict
    from tracklm.testing import LLMServer

    set_strict(True)
    tracklm.set_tracking_uri(sys.argv[1])
    tracklm.autolog()
    hi = [{"role": "user", "content": "hello there"}]
    with LLMServer() as server, tracklm.start_run() as run:
        client = openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=hi)
        os.environ["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
        client.chat.completions.create(model="gpt-4o-mini", messages=hi)
    tracklm.flush(timeout=30)
    table = tracklm.load_table("predictions.csv", run_ids=[run.info.run_id])
    print(json.dumps([None if v != v else v for v in table.sort_values("step")["trace_id"]]))
    """
)


def test_a_tracer_provider_named_by_the_environment_is_used(tmp_path: Path) -> None:
    # OTEL_PYTHON_TRACER_PROVIDER, set (here, after a first call) with no provider set in code
    first, second = run_fresh(ENV_PROVIDER, tmp_path)
    assert first is None
    assert isinstance(second, str)
    assert len(second) == 32
