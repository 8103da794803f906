"""Stores shared by the web app's tests, built once per test session (they take seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tracklm.stores import Store, open_store
from tracklm.ui import create_app

from ._data import RealisticStore, big_store, realistic_store


@pytest.fixture(scope="session")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> RealisticStore:
    return realistic_store(tmp_path_factory.mktemp("realistic"))


@pytest.fixture(scope="session")
def big_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "store"
    big_store(path)
    return path


def client_for(store: Store) -> TestClient:
    """A client of the app over ``store``, as a browser on this machine would reach it."""
    return TestClient(create_app(store), base_url="http://127.0.0.1:5731")


@pytest.fixture
def realistic_client(realistic: RealisticStore) -> Iterator[TestClient]:
    store = open_store(str(realistic.path))
    with client_for(store) as client:
        yield client
    store.close()


@pytest.fixture
def big_client(big_path: Path) -> Iterator[TestClient]:
    store = open_store(str(big_path))
    with client_for(store) as client:
        yield client
    store.close()
