"""Back ends for the port contract suite.

Every test in ``tests/contract`` takes the ``store`` fixture (a unit-of-work factory) and runs
once per back end. Adding a back end is adding one factory to :data:`BACKENDS`: an async
context manager that yields a fresh, empty store (and its replay guard) and cleans up after.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import attrs
import pytest

from alertwhisperer_core.memory import InMemoryReplayGuard, InMemoryStore
from alertwhisperer_core.ports import ReplayGuard, UnitOfWorkFactory

from ..conftest import service_url
from ._databases import mongo_database, postgres_schema, truncate_postgres

SECRET_KEY = "contract-suite-secret-key-0123456789"


@attrs.frozen
class Backend:
    name: str
    store: UnitOfWorkFactory
    replay_guard: ReplayGuard


BackendFactory = Callable[[pytest.FixtureRequest, Path], AbstractAsyncContextManager[Backend]]


@asynccontextmanager
async def memory_backend(_request: pytest.FixtureRequest, _tmp: Path) -> AsyncIterator[Backend]:
    yield Backend("memory", InMemoryStore(), InMemoryReplayGuard())


@asynccontextmanager
async def sqlite_backend(request: pytest.FixtureRequest, tmp: Path) -> AsyncIterator[Backend]:
    from alertwhisperer_adapters.sql import open_sql_store

    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp / "contract.db"
    shutil.copyfile(template, path)
    store = await open_sql_store(f"sqlite:///{path}", secret_key=SECRET_KEY)
    try:
        yield Backend("sqlite", store, store.replay_guard())
    finally:
        await store.close()


@asynccontextmanager
async def postgres_backend(request: pytest.FixtureRequest, _tmp: Path) -> AsyncIterator[Backend]:
    from alertwhisperer_adapters.sql import open_sql_store

    url: str = request.getfixturevalue("postgres_schema_url")
    truncate_postgres(url)
    store = await open_sql_store(url, secret_key=SECRET_KEY)
    try:
        yield Backend("postgres", store, store.replay_guard())
    finally:
        await store.close()


@asynccontextmanager
async def mongo_backend(request: pytest.FixtureRequest, _tmp: Path) -> AsyncIterator[Backend]:
    from alertwhisperer_adapters.mongo import open_mongo_store

    url, database = request.getfixturevalue("mongo_session_database")
    store = await open_mongo_store(url, secret_key=SECRET_KEY, database=database)
    try:
        for name in await store.db.list_collection_names():
            await store.db[name].delete_many({})
        yield Backend("mongo", store, store.replay_guard())
    finally:
        await store.close()


BACKENDS: dict[str, BackendFactory] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
    "mongo": mongo_backend,
}
MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "postgres": (pytest.mark.postgres,),
    "mongo": (pytest.mark.mongo,),
}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in BACKENDS])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with BACKENDS[request.param](request, tmp_path) as made:
        yield made


@pytest.fixture
def store(backend: Backend) -> UnitOfWorkFactory:
    return backend.store


# --- SQL scaffolding ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating each time is slower)."""
    from alertwhisperer_adapters.sql import upgrade_database

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A migrated schema of our own for this test session; tests empty it before use."""
    base = service_url("AW_TEST_POSTGRES_URL")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(scope="session")
def mongo_session_database() -> Iterator[tuple[str, str]]:
    """A MongoDB database of our own for this test session (collections and indexes made by
    the first store opened on it); tests empty it before use, it is dropped at the end."""
    url = service_url("AW_TEST_MONGO_URL")
    with mongo_database(url) as name:
        yield url, name
