"""The SQLite store's schema and its migrations.

``MIGRATIONS[n]`` takes a store from version ``n`` to ``n + 1``; a store records its version in
``tracklm_schema``. Opening a store of an older version applies what is missing in one
transaction; a store written by a newer tracklm is refused with a message rather than changed.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

from typing import Final

from tracklm.stores._migrations import Migration
from tracklm.stores._sql_store import add_row_columns

MIGRATIONS: Final[tuple[Migration, ...]] = (
    # 0 -> 1: the first release
    """
    CREATE TABLE experiments (
        experiment_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        creation_time INTEGER NOT NULL
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL REFERENCES experiments (experiment_id),
        run_name TEXT NOT NULL,
        status TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER,
        parent_run_id TEXT
    );
    CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time);
    CREATE TABLE params (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE metrics (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value REAL,
        is_nan INTEGER NOT NULL,
        step INTEGER NOT NULL,
        timestamp INTEGER NOT NULL
    );
    CREATE INDEX metrics_by_run ON metrics (run_id, key, step, timestamp);
    CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value REAL,
        is_nan INTEGER NOT NULL,
        step INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE tables (
        run_id TEXT NOT NULL,
        artifact_file TEXT NOT NULL,
        table_id INTEGER NOT NULL UNIQUE,
        columns TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        file_size INTEGER NOT NULL,
        PRIMARY KEY (run_id, artifact_file)
    ) WITHOUT ROWID;
    CREATE TABLE table_rows (
        -- table_id * 2**32 + the row's number: rows append at the end of one B-tree, with no
        -- second index to keep, and a table's rows are one range of it
        row_key INTEGER PRIMARY KEY,
        row TEXT NOT NULL
    );
    CREATE TABLE applied_batches (
        batch_id TEXT PRIMARY KEY,
        applied_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 1 -> 2: the columns a browser filters and joins table rows on, and their index
    add_row_columns,
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
