"""Several processes write one store at once; a killed process loses at most its last moment."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import tracklm

from ._subprocess import WriteLockHolder, env_for, run, start

WRITER = """
import tracklm
tracklm.set_experiment("shared")
with tracklm.start_run(run_name="writer-{n}"):
    for i in range(2500):
        tracklm.log_metric("value", i, step=i)
        if i % 10 == 0:
            tracklm.log_table({{"writer": [{n}], "i": [i]}}, "rows.csv")
print(tracklm.flush())
"""


def test_four_processes_writing_2500_records_each_all_arrive(
    store_dir: Path, tmp_path: Path
) -> None:
    env = env_for(store_dir, tmp_path / "journal")
    procs = [start(WRITER.format(n=n), env) for n in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        assert "locked" not in err, err
        assert "dropped=0" in out

    client = tracklm.TracklmClient()
    runs = tracklm.search_runs(experiment_names=["shared"])
    assert sorted(runs["run_name"]) == [f"writer-{n}" for n in range(4)]
    total = sum(len(client.get_metric_history(r, "value")) for r in runs["run_id"])
    assert total == 10_000
    rows = tracklm.load_table("rows.csv", run_ids=list(runs["run_id"]))
    assert len(rows) == 4 * 250
    assert sorted(rows.groupby("writer").size()) == [250] * 4


def test_a_process_killed_half_a_second_after_logging_keeps_every_record(
    store_dir: Path, tmp_path: Path
) -> None:
    code = """
    import time, tracklm
    with tracklm.start_run(run_name="killed") as run:
        for i in range(1000):
            tracklm.log_metric("value", i, step=i)
        print(run.info.run_id, flush=True)
        time.sleep(60)  # killed here, before any exit flush
    """
    proc = start(code, env_for(store_dir, tmp_path / "journal"))
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    history = tracklm.TracklmClient().get_metric_history(run_id, "value")
    assert len(history) == 1000


def test_exit_flushes_what_is_buffered(store_dir: Path, tmp_path: Path) -> None:
    code = """
    import tracklm
    tracklm.set_experiment("exit")
    run = tracklm.start_run(run_name="never-ended")
    for i in range(20_000):
        tracklm.log_metric("value", i, step=i)
    print(run.info.run_id)
    """
    result = run(code, env_for(store_dir, tmp_path / "journal"))
    run_id = result.stdout.strip()
    fetched = tracklm.get_run(run_id)
    assert fetched.info.status == "FINISHED"  # ended at exit, as MLflow does
    assert len(tracklm.TracklmClient().get_metric_history(run_id, "value")) == 20_000


def test_exit_is_bounded_when_the_store_is_locked_and_the_rest_is_journaled(
    store_dir: Path, tmp_path: Path
) -> None:
    """A store that stays locked must not hold the process at exit past its timeout."""
    tracklm.TracklmClient().list_experiments()  # create the store
    holder = WriteLockHolder(store_dir / "tracklm.db")
    code = """
    import tracklm
    with tracklm.start_run(run_name="locked-at-exit") as run:
        for i in range(5000):
            tracklm.log_metric("value", i, step=i)
    print(run.info.run_id)
    """
    started = time.monotonic()
    result = run(code, env_for(store_dir, tmp_path / "journal", TRACKLM_EXIT_TIMEOUT="1"))
    took = time.monotonic() - started
    holder.release()
    assert took < 20  # the exit flush gave up after about a second, not at the lock's end
    run_id = result.stdout.strip()
    assert "not yet in the store" in result.stderr  # the exit says what it left behind
    with tracklm.start_run():  # the next process adopts the journal
        pass
    assert tracklm.flush(timeout=30).ok
    assert len(tracklm.TracklmClient().get_metric_history(run_id, "value")) == 5000
