"""Records reach every store through the run manager: they wait in the journal while the store
refuses writes, and many processes writing one run lose nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

import tracklm
from tracklm.stores import open_store
from tracklm.stores._sql_store import SQLStore

from ..run_manager._subprocess import start
from .conftest import hold_writes


def test_records_wait_in_the_journal_while_the_store_refuses_and_all_arrive_after(
    tracking_uri: str, artifact_root: Path
) -> None:
    tracklm.set_tracking_uri(tracking_uri)
    with tracklm.start_run() as active:
        tracklm.log_metric("before", 1.0)
        assert tracklm.flush().ok
        store = open_store(tracking_uri)
        assert isinstance(store, SQLStore)
        holder = hold_writes(store)
        try:
            for i in range(300):
                tracklm.log_metric("during", i, step=i)
                tracklm.log_table({"i": [i]}, "rows.csv")
            held = tracklm.flush(timeout=0.5)
            assert held.pending == 600  # kept in the journal, reported, not lost
            assert held.dropped == 0
        finally:
            holder.release()
    result = tracklm.flush(timeout=60)
    assert result.ok, result
    run_id = active.info.run_id
    history = tracklm.TracklmClient().get_metric_history(run_id, "during")
    assert [m.value for m in history] == [float(i) for i in range(300)]
    assert list(tracklm.load_table("rows.csv")["i"]) == list(range(300))
    on_disk = pd.read_csv(tracklm.TracklmClient().artifact_dir(run_id) / "rows.csv")
    assert list(on_disk["i"]) == list(range(300))
    assert tracklm.get_run(run_id).info.status == "FINISHED"


WRITER = """
import tracklm
n, run_id = N_AND_RUN_ID
client = tracklm.TracklmClient()
for i in range(1000):
    client.log_metric(run_id, "shared", i, step=i)
    client.log_metric(run_id, "writer_%d" % n, i, step=i)
    if i % 10 == 0:
        client.log_table(run_id, {"writer": [n], "i": [i // 10]}, "rows.csv")
print(client.flush(60))
"""


def test_eight_processes_writing_one_run_all_arrive(
    tracking_uri: str, artifact_root: Path, tmp_path: Path
) -> None:
    tracklm.set_tracking_uri(tracking_uri)
    tracklm.set_experiment("shared")
    with tracklm.start_run(run_name="one-run") as active:
        pass
    assert tracklm.flush().ok
    run_id = active.info.run_id
    env = {
        "TRACKLM_TRACKING_URI": tracking_uri,
        "TRACKLM_ARTIFACT_ROOT": str(artifact_root),
        "TRACKLM_JOURNAL_DIR": str(tmp_path / "journal"),
        "PYTHONUNBUFFERED": "1",
    }
    procs = [
        start(WRITER.replace("N_AND_RUN_ID", repr((n, run_id))), {**os.environ, **env})
        for n in range(8)
    ]
    for n, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        if tracking_uri.startswith("postgresql"):
            assert err.strip() == "", err  # no warning, no traceback: nothing was refused
        else:  # one SQLite write lock for 8 busy writers: waits beyond it go to the journal
            assert "dropped" not in err, err
            assert "could not" not in err, err
        assert "dropped=0" in out, (n, out)
        assert "pending=0" in out, (n, out)

    client = tracklm.TracklmClient()
    assert len(client.get_metric_history(run_id, "shared")) == 8 * 1000
    stored = client.get_run(run_id)
    assert stored.data.metrics["shared"] == 999.0
    assert all(stored.data.metrics[f"writer_{n}"] == 999.0 for n in range(8))
    rows = tracklm.load_table("rows.csv", run_ids=[run_id])
    assert len(rows) == 8 * 100
    for _, group in rows.groupby("writer"):
        assert list(group["i"]) == list(range(100))  # each writer's rows in its order
    on_disk = pd.read_csv(client.artifact_dir(run_id) / "rows.csv")
    assert len(on_disk) == 8 * 100
    frame = tracklm.search_runs(experiment_names=["shared"])
    assert frame["metrics.shared"].tolist() == [999.0]
