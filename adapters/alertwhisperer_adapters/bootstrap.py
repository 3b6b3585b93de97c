"""The one composition root: the environment (SPEC §13) → concrete ports → the HTTP app.

Nothing here runs at import time. ``serve`` is ``alertwhisperer serve``; ``create_admin`` is
``alertwhisperer create-admin``; ``app_from_env`` is the factory each uvicorn worker calls.

Environment:

``AW_DATABASE_URL``
    ``sqlite:///PATH`` (default ``sqlite:///./var/alertwhisperer.db``), ``postgresql://...``,
    ``mongodb://...`` (a replica set), or ``memory://`` (everything in this one process; for
    trying things out and tests).
``AW_ADMIN_EMAIL``, ``AW_ADMIN_PASSWORD``
    The first MSP admin, created at first start when no user exists. Without a password one
    is generated and printed once. There is no default password.
``AW_SECRET_KEY``
    Signs session cookies and encrypts webhook secrets at rest. Without it a random key is
    generated once into ``./var/secret_key`` (mode 0600) and reused.
``AW_PUBLIC_URL``
    The base of the webhook URLs shown to users; default ``http://HOST:PORT``.
``AW_REDIS_URL``
    ``redis://HOST:PORT/DB``: token buckets, the replay guard, delivery ids, real-time events
    and presence shared by every process (:func:`redis_backends`; ``docs/deployment.md``).
``AW_AWS_REGION``
    Runbooks run through AWS Systems Manager (credentials from the usual AWS variables or
    the instance role). Unset: a dry run, unless ``AW_LOCAL_EXECUTOR=1`` enables the local
    executor (``AW_LOCAL_EXECUTOR_ALLOW_ROOT=1`` if the server runs as root). Patch
    compliance syncs from Systems Manager Patch Manager with the same credentials; unset,
    ``POST /api/companies/{id}/compliance/sync`` answers 503. A company with AWS credentials
    of its own (``PUT /api/companies/{id}/aws-credentials``) uses those instead, for both,
    whatever this says. See ``docs/remediation.md``.
``AW_LOG_LEVEL``
    ``INFO`` by default; logs are JSON lines on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import importlib
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from starlette.applications import Starlette

from alertwhisperer_core import AwsCredentials, Conflict, ValidationError
from alertwhisperer_core._secrets import hash_password, verify_password
from alertwhisperer_core.memory import (
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    InMemoryStore,
)
from alertwhisperer_core.ports import (
    EventBus,
    PatchComplianceSource,
    RateLimiter,
    ReplayGuard,
    UnitOfWork,
)
from alertwhisperer_core.service import (
    RemediationRequest,
    Services,
    add_msp_admin,
    company_aws_credentials,
    ensure_first_admin,
    expire_approvals,
    recover_executions,
)

from .aws import CompanyAwsClients, CompanyPatchSource
from .executors import Remediator, remediator_from_env
from .http import AppServices, Metrics, configure_logging, create_app
from .realtime import EventFeed, LocalEventFeed, LocalPresence, Presence

if TYPE_CHECKING:
    from .redis import RedisBackends

__all__ = [
    "DEFAULT_ADMIN_EMAIL",
    "DEFAULT_DATABASE_URL",
    "ConfigurationError",
    "ServerConfig",
    "SystemClock",
    "SystemIds",
    "ThreadedPasswordHasher",
    "app_from_env",
    "build_app_services",
    "create_admin",
    "database_url",
    "realtime_backends",
    "redis_backends",
    "remediation_hook",
    "serve",
    "shared_backends",
    "sweep_approvals",
]

DEFAULT_DATABASE_URL = "sqlite:///./var/alertwhisperer.db"
DEFAULT_ADMIN_EMAIL = "admin@alertwhisperer.local"
MEMORY_URL = "memory://"
_SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
_PASSWORD_BYTES = 18
APPROVAL_SWEEP_SECONDS = 60.0

logger = logging.getLogger("alertwhisperer.bootstrap")


class ConfigurationError(RuntimeError):
    """The environment asks for something this installation cannot do."""


class SystemClock:
    """The wall clock, in UTC: the only place the server reads the time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemIds:
    """Random ids (UUID version 4, as 32 hex digits) and secure random bytes from the
    operating system.

    Ids are made 256 at a time from one read of the system's randomness: ``uuid4()`` makes
    one system call and one ``UUID`` object per id, about 10 µs here, and a 100-alert
    delivery needs more than a hundred ids.
    """

    _BATCH = 256

    def __init__(self) -> None:
        self._ready: list[str] = []

    def new_id(self) -> str:
        try:
            return self._ready.pop()  # atomic: safe from a worker thread too
        except IndexError:
            self._ready = _uuid4_hex(self._BATCH)
            return self.new_id()

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


def _uuid4_hex(n: int) -> list[str]:
    """``n`` random UUID4s in hex (RFC 9562: version nibble 4, variant bits 10)."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])
    text = raw.hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


class ThreadedPasswordHasher:
    """scrypt in a worker thread: a hash takes tens of milliseconds and must not stall the
    event loop that serves every other request."""

    def __init__(self, ids: SystemIds | None = None) -> None:
        self._ids = ids or SystemIds()

    async def hash(self, password: str) -> str:
        salt = self._ids.token_bytes(16)
        return await asyncio.to_thread(hash_password, password, salt)

    async def verify(self, password: str, encoded: str) -> bool:
        return await asyncio.to_thread(verify_password, password, encoded)


def database_url(env: Mapping[str, str] | None = None) -> str:
    """``AW_DATABASE_URL`` or the embedded SQLite default."""
    env = os.environ if env is None else env
    return env.get("AW_DATABASE_URL") or DEFAULT_DATABASE_URL


def _secret_key(env: Mapping[str, str], var_dir: Path) -> bytes:
    given = env.get("AW_SECRET_KEY")
    if given:
        if len(given) < 16:
            raise ConfigurationError("AW_SECRET_KEY must be at least 16 characters")
        return given.encode()
    path = var_dir / _SECRET_KEY_FILE
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several processes starting at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise ConfigurationError(
                f"{path} is damaged; delete it to generate a new key"
            ) from None
        return key.encode()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key.encode()


@attrs.frozen
class ServerConfig:
    """The server's configuration, read once from the environment."""

    database_url: str
    secret_key: bytes = attrs.field(repr=False)
    public_url: str
    admin_email: str
    admin_password: str | None = attrs.field(repr=False)
    redis_url: str | None
    aws_region: str | None
    log_level: str
    local_executor: bool = False
    local_executor_allow_root: bool = False

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        var_dir: Path | None = None,
    ) -> ServerConfig:
        env = os.environ if env is None else env
        return cls(
            database_url=database_url(env),
            secret_key=_secret_key(env, var_dir or Path.cwd() / "var"),
            public_url=(env.get("AW_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            admin_email=env.get("AW_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL,
            admin_password=env.get("AW_ADMIN_PASSWORD") or None,
            redis_url=env.get("AW_REDIS_URL") or None,
            aws_region=env.get("AW_AWS_REGION") or None,
            log_level=env.get("AW_LOG_LEVEL") or "INFO",
            local_executor=env.get("AW_LOCAL_EXECUTOR") == "1",
            local_executor_allow_root=env.get("AW_LOCAL_EXECUTOR_ALLOW_ROOT") == "1",
        )

    def remediator(self, aws: CompanyAwsClients | None = None) -> Remediator:
        """The executor this configuration asks for: SSM, local (opt-in) or a dry run; with
        ``aws``, SSM with the company's own client for companies that have credentials."""
        env = {"AW_AWS_REGION": self.aws_region or ""}
        if self.local_executor:
            env["AW_LOCAL_EXECUTOR"] = "1"
        if self.local_executor_allow_root:
            env["AW_LOCAL_EXECUTOR_ALLOW_ROOT"] = "1"
        return remediator_from_env(env, aws=aws)

    def compliance_source(self, *, ssm_client: Any = None) -> PatchComplianceSource | None:
        """Patch compliance from AWS Systems Manager when ``AW_AWS_REGION`` is set, else None
        (sync then answers 503). One client, with the server's credentials, serves every
        company; the sync keeps each company's own instances (its assets' instance ids)."""
        if not self.aws_region:
            return None
        from .aws import SsmPatchSource

        if ssm_client is None:
            import boto3

            ssm_client = boto3.client("ssm", region_name=self.aws_region)
        return SsmPatchSource(ssm_client)

    @property
    def in_memory(self) -> bool:
        return self.database_url.startswith(MEMORY_URL)


class _Store:
    """The unit-of-work factory, opened when the server starts (on the server's event loop:
    database connections belong to the loop that made them)."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._store: Any = InMemoryStore() if config.in_memory else None

    async def open(self) -> None:
        if self._store is not None:
            return
        url = self._config.database_url
        if url.startswith(("mongodb://", "mongodb+srv://")):
            from .mongo import open_mongo_store

            self._store = await open_mongo_store(url, secret_key=self._config.secret_key)
            return
        from .sql import open_sql_store

        self._store = await open_sql_store(url, upgrade=True, secret_key=self._config.secret_key)

    @property
    def opened(self) -> Any:
        if self._store is None:
            raise RuntimeError("the store is used before the server started")
        return self._store

    def __call__(self) -> UnitOfWork:
        factory: Callable[[], UnitOfWork] = self.opened
        return factory()

    def __getattr__(self, name: str) -> Any:
        # The SQL replay guard reaches for the store's dialect.
        return getattr(self.opened, name)

    async def ping(self) -> None:
        store = self.opened
        if hasattr(store, "ping") and not await store.ping():
            raise ConnectionError("the database does not answer")

    async def close(self) -> None:
        if self._store is not None and hasattr(self._store, "close"):
            await self._store.close()


class _DatabaseReplayGuard:
    """The database's replay guard (SQL or MongoDB), created once the store is open."""

    def __init__(self, store: _Store) -> None:
        self._store = store
        self._guard: ReplayGuard | None = None

    def _get(self) -> ReplayGuard:
        if self._guard is None:
            guard: ReplayGuard = self._store.opened.replay_guard()
            self._guard = guard
        return self._guard

    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        return await self._get().remember(key, expires_at, now)

    async def forget(self, key: str) -> None:
        await self._get().forget(key)


def redis_backends(config: ServerConfig, metrics: Metrics | None = None) -> RedisBackends | None:
    """The Redis adapters when ``AW_REDIS_URL`` is set, else None. Nothing connects yet: each
    uvicorn worker opens its own connections on its own event loop at first use. Rate-limit
    decisions made without Redis (it is down) are counted in ``metrics``."""
    if not config.redis_url:
        return None
    try:
        redis_adapter: Any = importlib.import_module(f"{__package__}.redis")
    except ImportError:
        raise ConfigurationError(
            "AW_REDIS_URL is set but the redis package is not installed "
            "(pip install 'alertwhisperer[redis]')"
        ) from None
    try:
        backends: RedisBackends = redis_adapter.open_redis_backends(
            config.redis_url,
            on_fallback=None if metrics is None else metrics.redis_fallbacks.inc,
        )
    except ValueError as exc:
        raise ConfigurationError(f"AW_REDIS_URL: {exc}") from None
    return backends


def shared_backends(
    config: ServerConfig, store: _Store, redis: RedisBackends | None = None
) -> tuple[RateLimiter, ReplayGuard, EventBus]:
    """Rate limiter, replay guard and event bus.

    Without ``AW_REDIS_URL`` the token buckets and the event bus (a :class:`LocalEventFeed`,
    which ``/ws`` reads) live in this process (exact for one process); the replay guard lives
    in the database when there is one, so a replayed signature is caught by whichever process
    sees it. With ``AW_REDIS_URL`` all three come from ``redis`` (:func:`redis_backends`), and
    the event bus is the Redis Stream feed every process's ``/ws`` reads.
    """
    if config.redis_url:
        redis = redis or redis_backends(config)
        assert redis is not None
        return redis.rate_limiter, redis.replay_guard, redis.feed
    guard: ReplayGuard = InMemoryReplayGuard() if config.in_memory else _DatabaseReplayGuard(store)
    return InMemoryRateLimiter(), guard, LocalEventFeed()


def realtime_backends(
    events: EventBus, redis: RedisBackends | None = None
) -> tuple[EventFeed, Presence]:
    """The feed ``/ws`` reads and who is connected: the event bus itself when it is a feed,
    else a feed of this process (the app then publishes to both); presence in this process.
    With Redis, both are shared by every process."""
    if redis is not None:
        return redis.feed, redis.presence
    feed: EventFeed = events if isinstance(events, LocalEventFeed) else LocalEventFeed()
    return feed, LocalPresence()


def remediation_hook(
    remediator: Remediator, services: Services
) -> Callable[[Sequence[RemediationRequest]], Awaitable[None]]:
    """What runs a low-risk runbook after its webhook committed: an execution is created and
    run with ``remediator`` (in the background of the webhook's response)."""

    async def remediate(requests: Sequence[RemediationRequest]) -> None:
        await remediator.auto(services, requests)

    return remediate


async def sweep_approvals(services: Services, every: float = APPROVAL_SWEEP_SECONDS) -> None:
    """Expire pending approval requests past their hour, forever (a task of the server)."""
    while True:
        try:
            expired = await expire_approvals(services)
            if expired:
                logger.info("expired %d approval request(s)", len(expired))
        except Exception:
            logger.exception("approval sweep failed; trying again later")
        await asyncio.sleep(every)


def _generated_password() -> str:
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def _announce_admin(email: str, password: str | None) -> None:
    # stdout, not the log: this is the one time the password is ever shown.
    print(f"Created the first MSP admin: {email}", flush=True)
    if password is not None:
        print(f"Generated password (shown only now, change it after login): {password}", flush=True)


def build_app_services(config: ServerConfig, *, create_first_admin: bool = False) -> AppServices:
    """Concrete ports for ``config``, opened when the app starts.

    ``create_first_admin`` creates (and prints) the first admin at startup; ``serve`` does that
    before the workers start instead, except for the in-memory store, which lives in the worker.
    """
    store = _Store(config)
    ids = SystemIds()
    metrics = Metrics()
    redis = redis_backends(config, metrics)
    rate_limiter, replay_guard, events = shared_backends(config, store, redis)
    feed, presence = realtime_backends(events, redis)
    services = Services(
        uow=store,
        rate_limiter=rate_limiter,
        replay_guard=replay_guard,
        events=events,
        clock=SystemClock(),
        ids=ids,
        deliveries=None if redis is None else redis.deliveries,
    )
    hasher = ThreadedPasswordHasher(ids)
    aws = _company_aws_clients(services)
    remediator = config.remediator(aws)
    sweeper: list[asyncio.Task[None]] = []

    async def startup() -> None:
        await store.open()
        if create_first_admin:
            await _first_admin(config, services, hasher)
        sweeper.append(asyncio.create_task(sweep_approvals(services)))

    async def close() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await store.close()
        finally:
            if redis is not None:
                await redis.close()

    return AppServices(
        services=services,
        hasher=hasher,
        secret_key=config.secret_key,
        public_url=config.public_url,
        metrics=metrics,
        ping=store.ping,
        redis_ping=None if redis is None else redis.ping,
        startup=startup,
        close=close,
        on_remediations=remediation_hook(remediator, services),
        remediator=remediator,
        compliance_source=CompanyPatchSource(aws, config.compliance_source()),
        on_aws_credentials_changed=aws.invalidate,
        feed=feed,
        presence=presence,
    )


def _company_aws_clients(services: Services) -> CompanyAwsClients:
    """Each company's AWS clients, made from the credentials stored for it."""

    async def load(company_id: str) -> AwsCredentials | None:
        return await company_aws_credentials(services, company_id)

    return CompanyAwsClients(load)


async def _first_admin(
    config: ServerConfig, services: Services, hasher: ThreadedPasswordHasher
) -> None:
    password = config.admin_password or _generated_password()
    created = await ensure_first_admin(services, hasher, config.admin_email, password)
    if created is not None:
        _announce_admin(created.email, None if config.admin_password else password)


def app_from_env() -> Starlette:
    """The uvicorn application factory: configuration from the environment ``serve`` set."""
    config = ServerConfig.from_env()
    # Worker processes start fresh interpreters: they need the JSON logging set up again.
    configure_logging(config.log_level)
    return create_app(build_app_services(config, create_first_admin=config.in_memory))


@contextlib.asynccontextmanager
async def _opened(config: ServerConfig) -> AsyncIterator[Services]:
    """The services over an open store, closed afterwards (for one-off commands)."""
    store = _Store(config)
    await store.open()
    redis = redis_backends(config)
    try:
        rate_limiter, replay_guard, events = shared_backends(config, store, redis)
        yield Services(
            uow=store,
            rate_limiter=rate_limiter,
            replay_guard=replay_guard,
            events=events,
            clock=SystemClock(),
            ids=SystemIds(),
            deliveries=None if redis is None else redis.deliveries,
        )
    finally:
        try:
            await store.close()
        finally:
            if redis is not None:
                await redis.close()


async def _prepare_database(config: ServerConfig) -> None:
    async with _opened(config) as services:
        await _first_admin(config, services, ThreadedPasswordHasher())
        # Once, before any worker runs executions: whatever is still in flight was cut off.
        for execution in await recover_executions(services):
            logger.warning("execution %s was interrupted by a restart", execution.id)


def serve(host: str, port: int, workers: int) -> None:
    """Run the reference server under uvicorn (``alertwhisperer serve``)."""
    if workers < 1:
        raise SystemExit("--workers must be at least 1")
    config = ServerConfig.from_env(host=host, port=port)
    if config.in_memory and workers > 1:
        raise SystemExit("AW_DATABASE_URL=memory:// keeps data in one process: use --workers 1")
    configure_logging(config.log_level)
    # Workers rebuild the configuration from the environment: give them the same answers.
    # (The secret key needs nothing: it is in AW_SECRET_KEY or in ./var/, which they read.)
    os.environ["AW_PUBLIC_URL"] = config.public_url
    if not config.in_memory:
        # Once, before any worker starts, so exactly one admin and one password appear.
        asyncio.run(_prepare_database(config))
    print(
        f"Alert Whisperer serving on http://{host}:{port} (public URL {config.public_url})",
        flush=True,
    )

    import uvicorn

    uvicorn.run(
        "alertwhisperer_adapters.bootstrap:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


def _ask_password() -> str:
    first = getpass.getpass("Password for the new admin: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("the passwords differ")
    return first


def create_admin(email: str, password: str | None = None) -> None:
    """Create an MSP admin in the configured database (``alertwhisperer create-admin``).

    The password comes from the argument, else ``AW_ADMIN_PASSWORD``, else a prompt on a
    terminal, else it is generated and printed once.
    """
    config = ServerConfig.from_env()
    if config.in_memory:
        raise SystemExit("AW_DATABASE_URL=memory:// has no database to add an admin to")
    generated = None
    if password is None:
        password = config.admin_password
    if password is None and sys.stdin.isatty():
        password = _ask_password()
    if password is None:
        password = generated = _generated_password()

    async def run() -> None:
        async with _opened(config) as services:
            await add_msp_admin(services, ThreadedPasswordHasher(), email, password)

    try:
        asyncio.run(run())
    except (Conflict, ValidationError) as exc:
        raise SystemExit(f"create-admin: {exc.detail}") from None
    print(f"Created MSP admin {email.strip().lower()}", flush=True)
    if generated is not None:
        print(f"Generated password (shown only now): {generated}", flush=True)
