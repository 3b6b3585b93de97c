"""The composition root: configuration from the environment, secrets, stores, first admin."""

from __future__ import annotations

import asyncio
import stat
import sys
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from alertwhisperer_adapters.bootstrap import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_DATABASE_URL,
    ConfigurationError,
    ServerConfig,
    SystemClock,
    SystemIds,
    ThreadedPasswordHasher,
    build_app_services,
    create_admin,
    serve,
)
from alertwhisperer_adapters.http import create_app

PASSWORD = "bootstrap test password"


def _config(tmp_path: Path, **env: str) -> ServerConfig:
    return ServerConfig.from_env(env, host="127.0.0.1", port=8123, var_dir=tmp_path / "var")


def test_defaults_follow_the_spec(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.database_url == DEFAULT_DATABASE_URL == "sqlite:///./var/alertwhisperer.db"
    assert config.admin_email == DEFAULT_ADMIN_EMAIL == "admin@alertwhisperer.local"
    assert config.admin_password is None
    assert config.public_url == "http://127.0.0.1:8123"
    assert config.redis_url is None


def test_environment_overrides_the_defaults(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        AW_DATABASE_URL="memory://",
        AW_PUBLIC_URL="https://aw.example/",
        AW_ADMIN_EMAIL="ops@example.test",
        AW_ADMIN_PASSWORD=PASSWORD,
        AW_SECRET_KEY="k" * 40,
    )
    assert config.in_memory
    assert config.public_url == "https://aw.example"
    assert (config.admin_email, config.admin_password) == ("ops@example.test", PASSWORD)
    assert config.secret_key == b"k" * 40
    assert not (tmp_path / "var").exists()


def test_secret_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    first = _config(tmp_path).secret_key
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert _config(tmp_path).secret_key == first


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        _config(tmp_path, AW_SECRET_KEY="short")


def test_a_damaged_key_file_is_refused_rather_than_replaced(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text("x\n")
    with pytest.raises(ConfigurationError):
        _config(tmp_path)


def test_redis_url_without_the_redis_package_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import fail as it does when the extra is not installed.
    monkeypatch.setitem(sys.modules, "alertwhisperer_adapters.redis", None)
    config = _config(tmp_path, AW_DATABASE_URL="memory://", AW_REDIS_URL="redis://127.0.0.1")
    with pytest.raises(ConfigurationError, match=r"AW_REDIS_URL.*alertwhisperer\[redis\]"):
        build_app_services(config)


def test_a_malformed_redis_url_is_a_clear_error(tmp_path: Path) -> None:
    config = _config(tmp_path, AW_DATABASE_URL="memory://", AW_REDIS_URL="http://127.0.0.1")
    with pytest.raises(ConfigurationError, match="AW_REDIS_URL"):
        build_app_services(config)


def test_memory_store_refuses_several_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AW_DATABASE_URL", "memory://")
    monkeypatch.setenv("AW_SECRET_KEY", "k" * 40)
    with pytest.raises(SystemExit, match="workers"):
        serve("127.0.0.1", 8000, 2)


def test_in_memory_app_creates_and_prints_the_first_admin_at_startup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, AW_DATABASE_URL="memory://")
    app = create_app(build_app_services(config, create_first_admin=True))
    with TestClient(app) as client:
        printed = capsys.readouterr().out
        password = printed.split("login): ")[1].split()[0]
        response = client.post(
            "/api/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": password}
        )
        assert response.status_code == 200
        assert client.get("/readyz").status_code == 200


def test_sqlite_store_opens_at_startup_and_answers_readiness(tmp_path: Path) -> None:
    config = _config(
        tmp_path, AW_DATABASE_URL=f"sqlite:///{tmp_path}/aw.db", AW_ADMIN_PASSWORD=PASSWORD
    )
    with TestClient(create_app(build_app_services(config, create_first_admin=True))) as client:
        assert client.get("/readyz").json() == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "not configured"},
            "degraded": [],
        }
        response = client.post(
            "/api/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": PASSWORD}
        )
        assert response.status_code == 200
    assert (tmp_path / "aw.db").exists()


def test_create_admin_adds_an_msp_admin_and_refuses_a_taken_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AW_DATABASE_URL", f"sqlite:///{tmp_path}/aw.db")
    monkeypatch.delenv("AW_ADMIN_PASSWORD", raising=False)
    create_admin("boss@example.test", PASSWORD)
    assert "boss@example.test" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="already exists"):
        create_admin("BOSS@example.test", PASSWORD)
    config = ServerConfig.from_env()
    with TestClient(create_app(build_app_services(config))) as client:
        response = client.post(
            "/api/auth/login", json={"email": "boss@example.test", "password": PASSWORD}
        )
        assert response.json()["user"]["role"] == "msp_admin"


def test_create_admin_generates_and_prints_a_password_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AW_DATABASE_URL", f"sqlite:///{tmp_path}/aw.db")
    monkeypatch.delenv("AW_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    create_admin("boss@example.test")
    assert "Generated password (shown only now)" in capsys.readouterr().out


def test_system_clock_is_aware_utc_and_ids_are_random() -> None:
    assert SystemClock().now().utcoffset() is not None
    ids = SystemIds()
    assert ids.new_id() != ids.new_id()
    assert len(ids.token_bytes(32)) == 32


def test_system_ids_are_distinct_uuid4_hex_across_refills() -> None:
    ids = SystemIds()
    made = [ids.new_id() for _ in range(3 * SystemIds._BATCH + 7)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_threaded_hasher_round_trips() -> None:
    hasher = ThreadedPasswordHasher()

    async def run() -> tuple[bool, bool]:
        encoded = await hasher.hash(PASSWORD)
        return await hasher.verify(PASSWORD, encoded), await hasher.verify("nope", encoded)

    assert asyncio.run(run()) == (True, False)
