"""PostgreSQL over TLS through DATABASE_URL (issue 15; server/storage/pg_tls.py).

A throwaway PostgreSQL with `ssl=on` and a certificate of a test CA made at test time (for 127.0.0.1 and
localhost, not 127.0.0.2, where it listens too), and `cert` authentication for the role `envoy` (the
test client certificate's name). Every connection goes through `db.create_engine`, as the server's;
`pg_stat_ssl` says whether the session is encrypted. The option checks stop the start with one line
that names the option and never shows the URL.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from rpc.errors import DependencyUnavailable
from server.config import ConfigError, load_settings
from server.storage import backup, db, pg_tls
from tests.support.pki import Pki, make_pki
from tests.support.postgres import PASSWORD, Postgres, throwaway_cluster
from tests.support.prod import prod_env

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pg-pki"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA that signed nothing the server has (same name as the test CA, another key)."""
    return make_pki(tmp_path_factory.mktemp("pg-other-pki")).ca


@pytest.fixture(scope="module")
def tls_postgres(pki: Pki) -> Iterator[Postgres]:
    with throwaway_cluster(
        settings={"ssl": "on", "ssl_cert_file": "server.pem", "ssl_key_file": "server.key", "ssl_ca_file": "ca.pem"},
        files={"server.pem": pki.server_cert, "server.key": pki.server_key, "ca.pem": pki.ca},
        hba_first=["hostssl all envoy 127.0.0.1/32 cert"],
        listen="127.0.0.1,127.0.0.2",
    ) as postgres:
        if postgres is None:
            pytest.skip("PostgreSQL is not installed and cannot be installed here")
        postgres._psql("CREATE ROLE envoy LOGIN")
        yield postgres


def _url(postgres: Postgres, query: str, *, host: str = "127.0.0.1", user: str = "postgres") -> str:
    port = make_url(postgres.admin_url).port
    return f"postgresql+asyncpg://{user}:{PASSWORD}@{host}:{port}/postgres?{query}"


async def _session_tls(database_url: str) -> tuple[bool, str | None]:
    """(encrypted, TLS version) of a session opened the server's way."""
    engine = db.create_engine(load_settings({"DATABASE_URL": database_url}).database.url)
    try:
        async with asyncio.timeout(10), engine.connect() as connection:
            row = (
                await connection.execute(text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
            ).one()
            return bool(row[0]), row[1]
    finally:
        await engine.dispose()


def _caused_by(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


async def test_verify_full_connects_over_tls(tls_postgres: Postgres, pki: Pki) -> None:
    for host in ("127.0.0.1", "localhost"):  # an IP SAN and a DNS SAN
        url = _url(tls_postgres, f"sslmode=verify-full&sslrootcert={pki.ca}", host=host)
        assert await _session_tls(url) == (True, "TLSv1.3")


async def test_verify_full_refuses_a_server_of_another_ca(tls_postgres: Postgres, other_ca: Path) -> None:
    with pytest.raises(DependencyUnavailable) as refused:
        await _session_tls(_url(tls_postgres, f"sslmode=verify-full&sslrootcert={other_ca}"))
    reason = _caused_by(refused.value, ssl.SSLCertVerificationError)
    assert reason is not None and "certificate verify failed" in str(reason), refused.value


async def test_verify_full_checks_the_host_name_verify_ca_does_not(tls_postgres: Postgres, pki: Pki) -> None:
    """127.0.0.2 reaches the same server, but its certificate does not name that address."""
    with pytest.raises(DependencyUnavailable) as refused:
        await _session_tls(_url(tls_postgres, f"sslmode=verify-full&sslrootcert={pki.ca}", host="127.0.0.2"))
    reason = _caused_by(refused.value, ssl.SSLCertVerificationError)
    assert reason is not None and "IP address mismatch" in str(reason), refused.value
    verify_ca = _url(tls_postgres, f"sslmode=verify-ca&sslrootcert={pki.ca}", host="127.0.0.2")
    assert (await _session_tls(verify_ca))[0] is True


async def test_require_encrypts_and_disable_does_not(tls_postgres: Postgres) -> None:
    assert (await _session_tls(_url(tls_postgres, "sslmode=require")))[0] is True
    assert (await _session_tls(_url(tls_postgres, "ssl=require")))[0] is True  # asyncpg's own spelling
    assert (await _session_tls(_url(tls_postgres, "sslmode=disable")))[0] is False
    assert (await _session_tls(_url(tls_postgres, "")))[0] is True  # unset is libpq's `prefer`


async def test_a_client_certificate_logs_in(tls_postgres: Postgres, pki: Pki) -> None:
    """pg_hba.conf lets the role `envoy` in by its client certificate alone (`cert`), over TLS only."""
    client = f"sslmode=verify-full&sslrootcert={pki.ca}&sslcert={pki.client_cert}&sslkey={pki.client_key}"
    assert (await _session_tls(_url(tls_postgres, client, user="envoy")))[0] is True
    with pytest.raises(DBAPIError, match="connection requires a valid client certificate"):  # the same without it
        await _session_tls(_url(tls_postgres, f"sslmode=verify-full&sslrootcert={pki.ca}", user="envoy"))


async def test_require_refuses_a_server_without_tls(tls_postgres: Postgres) -> None:
    """The same server with `ssl` switched off (a reload): `prefer` falls back to plaintext, `require`
    connects not at all."""
    tls_postgres._psql("ALTER SYSTEM SET ssl = off")
    tls_postgres._psql("SELECT pg_reload_conf()")
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while (await _session_tls(_url(tls_postgres, "sslmode=prefer")))[0]:
            assert asyncio.get_running_loop().time() < deadline, "the server still offers TLS"
            await asyncio.sleep(0.1)
        with pytest.raises(DependencyUnavailable) as refused:
            await _session_tls(_url(tls_postgres, "sslmode=require"))
        assert "rejected SSL upgrade" in repr(_caused_by(refused.value, ConnectionError)), refused.value
    finally:
        tls_postgres._psql("ALTER SYSTEM RESET ssl")
        tls_postgres._psql("SELECT pg_reload_conf()")


def test_backup_tools_use_the_url_tls_and_not_the_environment(
    tls_postgres: Postgres, pki: Pki, other_ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump, pg_restore and psql run through backup._run with the URL's options as PGSSL* variables."""
    monkeypatch.setenv("PGSSLMODE", "disable")  # the caller's environment must not weaken the URL
    query = "--command=SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    psql = ["psql", "--no-psqlrc", "--tuples-only", "--no-align", query]
    url = make_url(_url(tls_postgres, f"sslmode=verify-full&sslrootcert={pki.ca}"))
    assert backup._run(psql, url).strip() == "t"
    with pytest.raises(backup.BackupError, match="SSL error"):  # the other CA cannot check the signature
        backup._run(psql, make_url(_url(tls_postgres, f"sslmode=verify-full&sslrootcert={other_ca}")))


BASE = "postgresql+asyncpg://wuffchat:s3cret-pw@db.internal:5432/wuffchat"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("sslmode=allow", "sslmode must be one of disable, prefer, require, verify-ca, verify-full, got 'allow'"),
        ("sslmode=verify_full", "sslmode must be one of"),
        ("sslmode=verify-full", "sslmode=verify-full needs sslrootcert"),
        ("sslmode=verify-ca", "sslmode=verify-ca needs sslrootcert"),
        ("sslmode=require&ssl=disable", "disagree"),
        ("sslmode=disable&sslrootcert={ca}", "sslrootcert needs sslmode=require"),
        ("sslmode=require&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
        ("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "sslrootcert must be a readable file"),
        ("sslmode=verify-full&sslrootcert={key}", "is not a PEM CA file"),
        ("sslmode=require&sslcert={cert}", "sslcert and sslkey go together"),
        ("sslmode=require&sslcert={ca}&sslkey={key}", "not a PEM certificate and its unencrypted key"),
        ("sslmode=prefer&sslcert={cert}&sslkey={key}", "sslcert needs sslmode=require"),
    ],
)
def test_bad_tls_options_stop_the_start_with_one_line(pki: Pki, query: str, says: str) -> None:
    files = {"ca": pki.ca, "key": pki.client_key, "cert": pki.client_cert}
    with pytest.raises(ConfigError) as error:
        load_settings({"DATABASE_URL": f"{BASE}?{query.format(**files)}"})
    message = str(error.value)
    assert message.startswith("DATABASE_URL") and says in message, message
    assert "\n" not in message and "s3cret-pw" not in message


def test_prod_needs_verify_full_for_a_database_on_another_machine(pki: Pki) -> None:
    for query in ("", "?sslmode=require", f"?sslmode=verify-ca&sslrootcert={pki.ca}"):
        with pytest.raises(ConfigError, match="sslmode=verify-full"):
            load_settings(prod_env(DATABASE_URL=BASE + query))
    assert load_settings(prod_env(DATABASE_URL=f"{BASE}?sslmode=verify-full&sslrootcert={pki.ca}")).is_prod
    assert load_settings(prod_env(DATABASE_URL=f"{BASE}?sslmode=verify-full&sslrootcert=system")).is_prod
    local = "postgresql+asyncpg://wuffchat:pw@127.0.0.1:5432/wuffchat"  # same host: TLS optional
    assert load_settings(prod_env(DATABASE_URL=local)).is_prod


def test_split_takes_the_tls_options_out_of_the_url(pki: Pki) -> None:
    url = make_url(f"{BASE}?sslmode=verify-full&sslrootcert={pki.ca}&application_name=wuffchat")
    rest, argument = pg_tls.split(url)
    assert dict(rest.query) == {"application_name": "wuffchat"}
    assert isinstance(argument, ssl.SSLContext)
    assert (argument.verify_mode, argument.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert argument.minimum_version == ssl.TLSVersion.TLSv1_2
    assert pg_tls.split(make_url(f"{BASE}?sslmode=disable"))[1] is False
    assert pg_tls.split(make_url(BASE))[1] == "prefer"
