"""Move what one store holds into another: ``tracklm migrate SRC_URI DST_URI``.

From the embedded store to PostgreSQL or an MLflow server, or back, without losing history::

    from tracklm.migrate import migrate

    report = migrate("./tracklm-runs", "postgresql://me@db.internal:5432/tracking")
    print(report.summary())

Experiments, runs (name, status, start and end time, parent, params, every metric value with
its step and timestamp, tags), tables (every row, in order) and artifact files are copied
between any two stores: the source is read through the :class:`~tracklm.stores.Store`
interface, the destination written through :meth:`~tracklm.stores.Store.write_batch` and its
artifact repository.

Running it again copies only what the destination lacks:

- experiments are matched by name; one new to the destination keeps its id and creation
  time, unless another experiment there has that id (then it gets the id tracklm derives from
  its name) or the destination numbers experiments itself (an MLflow server);
- runs keep their ids; a run the destination has gets the params, tags, metric values
  (each ``(step, timestamp, value)`` counted), table rows and files it lacks, then the
  source's status and end time; a file the destination holds with the same size is skipped;
- each batch has an id derived from the run, what the destination held and what the batch
  holds, so a batch written again after a lost acknowledgement is skipped by the store.

So a migration that was interrupted (killed, the destination down) is completed by the next,
and a source still being written can be migrated again later for what came since.
"""

from __future__ import annotations

from tracklm.migrate._copy import migrate
from tracklm.migrate._report import MigrationReport

__all__ = ["MigrationReport", "migrate"]
