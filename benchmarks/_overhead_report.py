"""The markdown report of the autolog overhead benchmark: per SDK, a table per measurement,
and one table of the direct overhead against the targets."""

from __future__ import annotations

import json
from typing import Any

from _common import fmt, markdown_table, percentile
from _sdk_clients import WORKLOADS, Workload

PAIRED = ("paired", "paced")  # the modes that switch the instrumentation on and off in-process

# Targets (2-core machine), in µs added to a call, by kind of figure.
TARGETS = {
    ("tracklm", "call"): 25.0,
    ("tracklm+otel", "call"): 100.0,
    ("tracklm", "ttfc"): 5.0,
    ("tracklm+otel", "ttfc"): 5.0,
    ("tracklm", "chunk"): 2.0,
    ("tracklm+otel", "chunk"): 2.0,
}

TITLES = {
    "paired": (
        "Direct overhead, back to back: fake transport, in one process, the instrumentation "
        "switched on and off in alternating blocks of 20 iterations (added = on - off)"
    ),
    "paced": (
        "Direct overhead, paced: as above with 2 ms of sleep after each call (standing in for the "
        "network wait of a real call: background threads run then, and caches go cold)"
    ),
    "fake": (
        "Fake transport, back to back, each variant in its own process (added = variant - bare): "
        "the caller path plus what background threads take from the caller"
    ),
    "server": (
        "Real HTTP to the local LLMServer, each variant in its own process "
        "(added = variant - bare): round trip included, noisy"
    ),
}

Samples = dict[str, list[int]]


def _stats(values: list[int]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50) / 1000, percentile(ordered, 99) / 1000


def signed(value: float) -> str:
    """``value`` with its sign: ``+1.5``, ``-0.2``."""
    return ("+" if value >= 0 else "-") + fmt(abs(value))


def _cell(data: Samples, base: Samples | None, key: str) -> str:
    median, p99 = _stats(data[key])
    cpu, _ = _stats(data[f"{key}_cpu"])
    if base is None:
        return f"{fmt(median)} / {fmt(p99)} (CPU {fmt(cpu)})"
    base_median, base_p99 = _stats(base[key])
    base_cpu, _ = _stats(base[f"{key}_cpu"])
    return (
        f"{signed(median - base_median)} / {signed(p99 - base_p99)} (CPU {signed(cpu - base_cpu)})"
    )


def added(measured: Samples, base: Samples, key: str) -> tuple[float, float]:
    """Added median wall time and added median caller CPU, µs."""
    wall = _stats(measured[key])[0] - _stats(base[key])[0]
    return wall, _stats(measured[f"{key}_cpu"])[0] - _stats(base[f"{key}_cpu"])[0]


def _counts(sample: Samples, workload: Workload) -> str:
    parts = []
    for call in workload.calls:
        if call.stream:
            chunks = fmt(percentile(sorted(sample[f"{call.key}.chunks"]), 50))
            streams = len(sample[f"{call.key}.ttfc"])
            parts.append(f"{streams} {call.label} streams of {chunks} chunks")
        else:
            parts.append(f"{len(sample[call.key])} {call.label} calls")
    return ", ".join(parts)


def _how_many(pooled_mode: dict[str, Any], workload: Workload, mode: str, rounds: int) -> str:
    """How many calls each variant made, variants with the same counts together."""
    first_key = workload.columns()[0][0]
    groups: dict[str, list[str]] = {}
    for variant, data in pooled_mode.items():
        sample = data.get("off", {}) if mode in PAIRED else data
        if first_key in sample:
            groups.setdefault(_counts(sample, workload), []).append(variant)
    if not groups:
        return ""
    state = " (each state)" if mode in PAIRED else ""
    parts = [f"{', '.join(variants)}{state}: {counts}" for counts, variants in groups.items()]
    return "; ".join(parts) + f"; pooled over {rounds} rounds."


def report_sdk(
    workload: Workload, pooled: dict[str, dict[str, Any]], sizes: dict[str, Any]
) -> tuple[list[str], list[list[str]]]:
    """The SDK's tables (markdown lines) and its rows of the table against the targets."""
    columns = workload.columns()
    keys = [key for key, _, _ in columns]
    lines: list[str] = []
    summary: dict[tuple[str, str], list[str]] = {}
    headers = [
        "variant",
        *(f"{label}: median / p99 µs" for _, label, _ in columns),
        "other threads' CPU per iteration µs",
    ]
    for mode, pooled_mode in pooled.items():
        lines += [f"#### {workload.title}: {TITLES[mode]}", ""]
        bare = pooled_mode.get("bare", {})
        rows = []
        for variant, data in pooled_mode.items():
            has = "on" in data if mode in PAIRED else keys[0] in data
            if not has or (mode not in PAIRED and variant != "bare" and keys[0] not in bare):
                errors = "; ".join(sorted(set(data.get("errors", ["not run (or no bare)"]))))
                rows.append([variant, f"not run: {errors[:300]}"] + [""] * len(columns))
                continue
            bg = fmt(sum(data["background_us"]) / len(data["background_us"]))
            if mode in PAIRED:
                rows.append([f"{variant} (off)", *(_cell(data["off"], None, k) for k in keys), ""])
                on_off = [_cell(data["on"], data["off"], k) for k in keys]
                rows.append([f"{variant} (on - off)", *on_off, bg])
                for key, label, kind in columns:
                    target = TARGETS.get((variant, kind))
                    if target is None:
                        continue
                    wall, cpu = added(data["on"], data["off"], key)
                    cells = summary.setdefault(
                        (variant, label),
                        [workload.title, variant, label, "—", "—", "—", fmt(target), ""],
                    )
                    if mode == "paired":
                        cells[3], cells[4] = signed(wall), signed(cpu)
                        cells[7] = "met" if wall <= target else "**missed**"
                    else:
                        cells[5] = signed(wall)
            elif variant == "bare":
                rows.append([variant, *(_cell(data, None, k) for k in keys), bg])
            else:
                rows.append([f"{variant} (- bare)", *(_cell(data, bare, k) for k in keys), bg])
        lines += [markdown_table(headers, rows), ""]
        how_many = _how_many(pooled_mode, workload, mode, sizes[mode]["rounds"])
        if how_many:
            lines += [f"Calls: {how_many}", ""]
        recorded = {v: d["recorded"][0] for v, d in pooled_mode.items() if d.get("recorded")}
        lines += [f"What the first child of each variant recorded: `{json.dumps(recorded)}`", ""]
    return lines, list(summary.values())


def lost_records(pooled: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Warnings for children whose tracklm dropped records or wrote none (a failing store
    changes the background work: such figures do not measure tracklm as it should run)."""
    found = []
    for sdk, by_mode in pooled.items():
        for mode, by_variant in by_mode.items():
            for variant, data in by_variant.items():
                for recorded in data.get("recorded", []):
                    if recorded.get("dropped") or recorded.get("written", 1) == 0:
                        found.append(
                            f"WARNING: {sdk}, {mode}, {variant}: tracklm wrote "
                            f"{recorded.get('written')} records and dropped "
                            f"{recorded.get('dropped')}: its figures are not valid."
                        )
                        break
    return found


def report(
    pooled: dict[str, dict[str, dict[str, Any]]],
    sizes: dict[str, Any],
    info: dict[str, Any],
    notes: list[str],
    command: str,
) -> str:
    notes = notes + lost_records(pooled)
    lines = ["## Autolog overhead: OpenAI, Anthropic and Google Gen AI SDK calls", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [f"- command: `{command}`", ""]
    lines += [f"> {note}" for note in notes]
    if notes:
        lines.append("")
    body: list[str] = []
    summary: list[list[str]] = []
    for sdk, by_mode in pooled.items():
        workload = WORKLOADS[sdk]
        body += [f"### {workload.title}", ""]
        sdk_lines, sdk_summary = report_sdk(workload, by_mode, sizes)
        body += sdk_lines
        summary += sdk_summary
    if summary:
        headers = [
            "SDK",
            "variant",
            "figure",
            "paired: added median µs",
            "paired: added caller CPU µs",
            "paced: added median µs",
            "target ≤ µs",
            "paired vs target",
        ]
        lines += ["### Against the targets (direct overhead, added median)", ""]
        lines += [markdown_table(headers, summary), ""]
    return "\n".join(lines + body)
