"""The ``tracklm`` command: look at experiments, runs and tables, and run the demo.

::

    tracklm experiments
    tracklm runs [--experiment NAME]
    tracklm show RUN_ID
    tracklm table RUN_ID [ARTIFACT] [--format csv|json|xlsx] [--output FILE]
    tracklm demo
    tracklm ui [--port 5731] [--host 127.0.0.1]
    tracklm migrate SRC_URI DST_URI

``--tracking-uri`` (or ``TRACKLM_TRACKING_URI``) chooses the store, ``--artifact-root`` (or
``TRACKLM_ARTIFACT_ROOT``) where artifact files go; ``--json`` prints machine-readable output
for scripts. A password in the tracking URI is never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from typing import IO, Any

from tracklm import _config
from tracklm._errors import TracklmError
from tracklm.client import TracklmClient
from tracklm.entities import Run
from tracklm.stores import mask_password


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tracklm`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    saved = _config.artifact_root
    if args.artifact_root is not None:
        _config.artifact_root = args.artifact_root
    try:
        return int(args.handler(args) or 0)
    except TracklmError as exc:
        print(f"tracklm: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `tracklm table ... | head`
        return 0
    finally:
        _config.artifact_root = saved


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracklm", description="Look at what tracklm recorded, or run the demo."
    )
    parser.add_argument(
        "--tracking-uri",
        help="store to read (default: TRACKLM_TRACKING_URI, then ./tracklm-runs); a folder, "
        "sqlite:///file.db, postgresql://user:password@host:5432/database or "
        "mlflow+http://host:5000 (an MLflow tracking server)",
    )
    parser.add_argument(
        "--artifact-root",
        help="where artifact files are: a folder or an fsspec URL such as s3://bucket/prefix "
        "(default: TRACKLM_ARTIFACT_ROOT, then the store's own folder)",
    )
    parser.set_defaults(handler=lambda _args: parser.print_help())
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.add_argument("--json", action="store_true", help="print JSON for scripts")
        return sub

    sub = command("experiments", "list experiments with their run counts")
    sub.set_defaults(handler=_experiments)
    sub = command("runs", "list the runs of an experiment, newest first")
    sub.add_argument("--experiment", "-e", default=None, help="experiment name (default: all)")
    sub.add_argument("--filter", default="", help='a search_runs filter, e.g. "metrics.x > 1"')
    sub.set_defaults(handler=_runs)
    sub = command("show", "show a run: params, latest metrics, tags, artifacts")
    sub.add_argument("run_id")
    sub.set_defaults(handler=_show)
    sub = command("table", "print a table of a run (default predictions.csv)")
    sub.add_argument("run_id")
    sub.add_argument("artifact", nargs="?", default=None)
    sub.add_argument(
        "--format",
        choices=("csv", "json", "xlsx"),
        default=None,
        help="csv, json (JSON lines) or xlsx (a workbook for spreadsheets, every cell text: "
        "needs --output) instead of a readable table",
    )
    sub.add_argument("--output", "-o", default=None, help="write to this file, not to stdout")
    sub.add_argument("--limit", type=int, default=None, help="print at most this many rows")
    sub.add_argument("--columns", default=None, help="comma-separated columns to print")
    sub.set_defaults(handler=_table)
    sub = command("demo", "log a small example run and show where it went")
    sub.set_defaults(handler=_demo)
    sub = command(
        "migrate",
        "copy experiments, runs, tables and artifacts from one store into another; run it "
        "again to copy what is new (nothing is copied twice)",
    )
    sub.add_argument("src_uri", metavar="SRC_URI", help="the store to copy from")
    sub.add_argument("dst_uri", metavar="DST_URI", help="the store to copy into")
    sub.add_argument("--src-artifact-root", help="where the source's artifact files are")
    sub.add_argument("--dst-artifact-root", help="where the destination's artifact files go")
    sub.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    sub.set_defaults(handler=_migrate)
    ui_help = "browse experiments, runs, metrics and tables in a local web app (read-only)"
    sub = commands.add_parser("ui", help=ui_help, description=ui_help)
    sub.add_argument("--port", type=int, default=5731, help="port to listen on (default 5731)")
    sub.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every "
        "network the machine is on: anyone who reaches it can read every run)",
    )
    sub.set_defaults(handler=_ui)
    return parser


def _client(args: argparse.Namespace) -> TracklmClient:
    return TracklmClient(args.tracking_uri)


# -- commands --------------------------------------------------------------------------------


def _experiments(args: argparse.Namespace) -> int:
    client = _client(args)
    rows = []
    for experiment in client.list_experiments():
        runs = client.search_runs([experiment.experiment_id])
        last = max((r.info.end_time or r.info.start_time for r in runs), default=None)
        rows.append(
            {
                "experiment_id": experiment.experiment_id,
                "name": experiment.name,
                "runs": len(runs),
                "last_activity": _time(last),
            }
        )
    _emit(
        args,
        rows,
        ["experiment_id", "name", "runs", "last_activity"],
        empty=f"No experiments yet in {mask_password(client.tracking_uri)}.",
    )
    return 0


def _runs(args: argparse.Namespace) -> int:
    client = _client(args)
    experiments = client.list_experiments()
    if args.experiment is not None:
        experiments = [e for e in experiments if e.name == args.experiment]
        if not experiments:
            print(
                f"tracklm: no experiment is named {args.experiment!r}; see `tracklm experiments`.",
                file=sys.stderr,
            )
            return 1
    names = {e.experiment_id: e.name for e in experiments}
    runs = client.search_runs(list(names), args.filter)
    rows = [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "experiment": names.get(r.info.experiment_id, r.info.experiment_id),
            "status": r.info.status,
            "start_time": _time(r.info.start_time),
            "duration_s": _duration(r),
            "params": len(r.data.params),
            "metrics": len(r.data.metrics),
        }
        for r in runs
    ]
    _emit(args, rows, list(rows[0]) if rows else [], empty="No runs found.")
    return 0


def _show(args: argparse.Namespace) -> int:
    client = _client(args)
    run = client.get_run(args.run_id)
    info = run.info
    artifacts = client.list_artifacts(info.run_id)
    tables = client.list_tables(info.run_id)
    if args.json:
        print(
            json.dumps(
                {
                    "info": asdict(info),
                    "params": dict(run.data.params),
                    "metrics": _json_floats(dict(run.data.metrics)),
                    "tags": dict(run.data.tags),
                    "artifacts": artifacts,
                    "tables": tables,
                },
                indent=2,
            )
        )
        return 0
    print(f"Run {info.run_id}  ({info.run_name})")
    print(f"  experiment  {info.experiment_id}")
    print(f"  status      {info.status}")
    duration = _duration(run)
    took = "running" if duration is None else f"took {duration} s"
    print(f"  started     {_time(info.start_time)} UTC, {took}")
    if info.parent_run_id:
        print(f"  parent      {info.parent_run_id}")
    print(f"  artifacts   {info.artifact_uri}")
    for title, values in (
        ("Params", run.data.params),
        ("Metrics (latest)", run.data.metrics),
        ("Tags", run.data.tags),
    ):
        print(f"\n{title}")
        if not values:
            print("  (none)")
        for key in sorted(values):
            print(f"  {key:<30} {_cell(values[key])}")
    print("\nArtifacts")
    for path in artifacts or ["(none)"]:
        print(f"  {path}")
    return 0


def _table(args: argparse.Namespace) -> int:
    client = _client(args)
    run = client.get_run(args.run_id)
    artifact = args.artifact
    if artifact is None:
        tables = client.list_tables(run.info.run_id)
        artifact = "predictions.csv" if "predictions.csv" in tables or not tables else tables[0]
    frame = client.load_table(None, artifact, run_ids=[run.info.run_id])
    if args.limit is not None:
        frame = frame.head(args.limit)
    if args.columns:
        wanted = [c.strip() for c in args.columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            print(
                f"tracklm: no column {', '.join(missing)}; the table has "
                f"{', '.join(map(str, frame.columns))}",
                file=sys.stderr,
            )
            return 1
        frame = frame[wanted]
    if args.format == "xlsx":
        return _xlsx(args, client, run.info.run_id, artifact, [str(c) for c in frame.columns])
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if args.output is not None:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
        if args.format == "csv":
            frame.to_csv(out, index=False)
        elif args.format == "json" or args.json:
            for record in frame.to_dict(orient="records"):
                line = json.dumps(
                    _json_floats({str(k): v for k, v in record.items()}),
                    ensure_ascii=False,
                    default=str,
                )
                print(line, file=out)
        else:
            rows = [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
            _print_table(rows, [str(c) for c in frame.columns], file=out)
            print(f"({len(frame)} rows)", file=out)
    return 0


def _xlsx(
    args: argparse.Namespace,
    client: TracklmClient,
    run_id: str,
    artifact: str,
    columns: list[str],
) -> int:
    """Write the table as a workbook in which every cell is text (no formula runs)."""
    from tracklm._xlsx import write_xlsx

    if args.output is None:
        print("tracklm: --format xlsx writes a file: add --output FILE.xlsx", file=sys.stderr)
        return 1
    # the stored rows, not the DataFrame: pandas would turn 0 into 0.0 beside a missing value
    rows = client._store.read_table(run_id, artifact) or []
    if args.limit is not None:
        rows = rows[: max(0, args.limit)]
    with open(args.output, "wb") as out:
        write_xlsx(
            out,
            columns,
            ([row.get(c) for c in columns] for row in rows),
            sheet=artifact.rsplit("/", 1)[-1].rsplit(".", 1)[0],
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tracklm._demo import run_demo

    return run_demo(args.tracking_uri)


def _migrate(args: argparse.Namespace) -> int:
    from tracklm.migrate import migrate
    from tracklm.migrate._progress import ProgressBar

    bar = None if args.quiet else ProgressBar(sys.stderr)
    try:
        report = migrate(
            args.src_uri,
            args.dst_uri,
            src_artifact_root=args.src_artifact_root,
            dst_artifact_root=args.dst_artifact_root,
            progress=bar,
        )
    except KeyboardInterrupt:
        print(
            "\ntracklm: migration interrupted; what was copied is kept. Run the same command "
            "again to finish it.",
            file=sys.stderr,
        )
        return 130
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return 0


def _ui(args: argparse.Namespace) -> int:
    from tracklm.stores import open_store
    from tracklm.ui import UIServer  # says how to install the `ui` extra when it is missing

    uri = args.tracking_uri if args.tracking_uri is not None else _config.current_tracking_uri()
    store = open_store(uri)
    try:
        store.list_experiments()  # a store that cannot be read fails now, with its reason
        server = UIServer(store, args.host, args.port)
        print(f"tracklm ui: reading {mask_password(store.uri)}")
        print(f"Open {server.url} in a browser (Ctrl+C stops).", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    finally:
        store.close()
    return 0


# -- output ----------------------------------------------------------------------------------


def _emit(
    args: argparse.Namespace, rows: list[dict[str, Any]], columns: list[str], empty: str
) -> None:
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    elif not rows:
        print(empty)
    else:
        _print_table(rows, columns)


def _print_table(
    rows: list[dict[str, Any]], columns: list[str], width: int = 40, file: IO[str] | None = None
) -> None:
    """Print rows as aligned columns, each cell cut to ``width`` characters on one line."""
    cells = [[_cell(row.get(c), width) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=file)


def _cell(value: Any, width: int = 60) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = ""
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= width else text[: width - 1] + "…"


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: Run) -> float | None:
    if run.info.end_time is None:
        return None
    return round((run.info.end_time - run.info.start_time) / 1000, 3)


def _json_floats(values: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN or infinity: print them as strings rather than as invalid JSON
    return {
        k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in values.items()
    }
