"""``tracklm demo``: log a small example run and show what was recorded and where."""

from __future__ import annotations

import random

import tracklm


def run_demo(tracking_uri: str | None = None) -> int:
    """Log a run that looks like an evaluation of two prompts, then print it."""
    if tracking_uri is not None:
        tracklm.set_tracking_uri(tracking_uri)
    tracklm.set_experiment("tracklm-demo")
    questions = [
        "What is the capital of France?",
        "Summarize: the meeting moved to Tuesday.",
        "Translate 'good morning' to Spanish.",
        "Is 17 a prime number?",
    ]
    answers = ["Paris.", "The meeting is now on Tuesday.", "Buenos días.", "Yes, 17 is prime."]
    rng = random.Random(7)
    with tracklm.start_run(run_name="demo-prompt-v1", tags={"source": "tracklm demo"}) as run:
        tracklm.log_params({"model": "demo-model", "temperature": 0.2, "top_k": 40})
        rows: dict[str, list[object]] = {"inputs": [], "outputs": [], "latency_ms": []}
        for step, (question, answer) in enumerate(zip(questions, answers, strict=True)):
            latency = round(rng.uniform(180, 650), 1)
            tracklm.log_metric("latency_ms", latency, step=step)
            tracklm.log_metric("output_tokens", len(answer.split()), step=step)
            rows["inputs"].append(question)
            rows["outputs"].append(answer)
            rows["latency_ms"].append(latency)
        tracklm.log_table(rows, "predictions.csv")
    tracklm.flush()

    from tracklm.cli import main

    uri = tracklm.get_tracking_uri()
    print("Logged a run into experiment 'tracklm-demo' with the tracking API.\n")
    main(["--tracking-uri", uri, "show", run.info.run_id])
    print("\nIts predictions table:")
    main(["--tracking-uri", uri, "table", run.info.run_id, "predictions.csv"])
    print(f"\nThe data is in {uri}")
    print(f"  look again:  tracklm show {run.info.run_id}")
    print("  in Python:   tracklm.search_runs(experiment_names=['tracklm-demo'])")
    return 0
