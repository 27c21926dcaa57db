"""PostgreSQL over TLS: DATABASE_URL's libpq-style query options as asyncpg's `ssl` argument.

`sslmode` (or asyncpg's own spelling `ssl`), a subset of libpq's modes with libpq's meanings:

- `disable`: plaintext.
- `prefer` (when unset, as libpq): TLS if the server offers it, plaintext if not; the certificate is not
  checked. For development: anyone on the path can read or impersonate the database.
- `require`: TLS or no connection; the certificate is not checked, unless `sslrootcert` is given, when it
  must chain to that CA (libpq does the same, as `verify-ca`).
- `verify-ca`: TLS, and the server's certificate must chain to `sslrootcert`.
- `verify-full`: `verify-ca`, and the URL's host must be in the certificate (DNS or IP SAN). APP_ENV=prod
  requires it for a database on another machine.

`allow` (plaintext first) and unknown modes are refused at start. `sslrootcert` is a PEM CA file, or
`system` for the system's trust store (then only with `verify-full`, as libpq); `verify-ca` and
`verify-full` need it (there is no `~/.postgresql/root.crt` fallback: what is trusted is in the URL).
`sslcert` with `sslkey` is a client certificate (PEM, key unencrypted), with `require` or stricter.
TLS 1.2 at least. asyncpg gets an `SSLContext` built here (or False), never a mode name to interpret, so
neither PGSSLMODE nor files in the home directory change what the URL says; only `prefer` is left to
asyncpg, because a context cannot express its plaintext fallback.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
TLS_OPTIONS = ("sslmode", "ssl", "sslrootcert", "sslcert", "sslkey")
SYSTEM_ROOTS = "system"

SslArgument = ssl.SSLContext | bool | str


@dataclass(frozen=True)
class PgTls:
    """The TLS options of one DATABASE_URL."""

    mode: str = "prefer"
    root_cert: str | None = None  # a PEM file, or "system"
    cert: str | None = None
    key: str | None = None


def _option(url: URL, name: str) -> str | None:
    value = url.query.get(name)
    if isinstance(value, tuple):
        raise ValueError(f"{name} is given more than once")
    return value or None


def _readable(name: str, raw: str) -> str:
    try:
        with Path(raw).open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ValueError(f"{name} must be a readable file, got {raw!r} ({exc.strerror})") from None
    return raw


def parse(url: URL) -> PgTls:
    """The URL's TLS options, checked as far as they can be without connecting.

    Raises:
        ValueError: an unknown or contradictory option; the message names it (never the URL).
    """
    mode, alias = _option(url, "sslmode"), _option(url, "ssl")
    if mode and alias and mode != alias:
        raise ValueError(f"sslmode={mode} and ssl={alias} disagree: give one")
    mode = (mode or alias or "prefer").lower()
    if mode not in MODES:
        raise ValueError(f"sslmode must be one of {', '.join(MODES)}, got {mode!r}")
    root, cert, key = _option(url, "sslrootcert"), _option(url, "sslcert"), _option(url, "sslkey")
    verifying = mode in ("verify-ca", "verify-full")
    if verifying and root is None:
        raise ValueError(f"sslmode={mode} needs sslrootcert (the CA file, or 'system')")
    if root is not None and mode in ("disable", "prefer"):
        raise ValueError(f"sslrootcert needs sslmode=require, verify-ca or verify-full (sslmode={mode} checks nothing)")
    if root == SYSTEM_ROOTS and mode != "verify-full":
        raise ValueError("sslrootcert=system needs sslmode=verify-full")
    if (cert is None) != (key is None):
        raise ValueError("sslcert and sslkey go together: set both or neither")
    if cert is not None and mode in ("disable", "prefer"):
        raise ValueError(f"sslcert needs sslmode=require, verify-ca or verify-full (sslmode={mode})")
    if root is not None and root != SYSTEM_ROOTS:
        _readable("sslrootcert", root)
    if cert is not None and key is not None:
        _readable("sslcert", cert)
        _readable("sslkey", key)
    tls = PgTls(mode, root, cert, key)
    ssl_argument(tls)  # a file that is no PEM of its kind fails now, not at the first connection
    return tls


def ssl_argument(tls: PgTls) -> SslArgument:
    """asyncpg's `ssl`: False, "prefer", or a context that verifies what the mode says.

    Raises:
        ValueError: a file is not a PEM CA bundle, certificate or matching key.
    """
    if tls.mode == "disable":
        return False
    if tls.mode == "prefer":
        return "prefer"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = tls.mode == "verify-full"
    try:
        if tls.root_cert == SYSTEM_ROOTS:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        elif tls.root_cert is not None:
            context.load_verify_locations(cafile=tls.root_cert)
    except (ssl.SSLError, OSError):
        raise ValueError(f"sslrootcert {tls.root_cert!r} is not a PEM CA file") from None
    context.verify_mode = ssl.CERT_REQUIRED if tls.root_cert is not None else ssl.CERT_NONE
    if tls.cert is not None:
        try:
            context.load_cert_chain(tls.cert, tls.key)
        except (ssl.SSLError, OSError):
            raise ValueError(
                f"sslcert {tls.cert!r} and sslkey are not a PEM certificate and its unencrypted key"
            ) from None
    return context


def split(url: URL) -> tuple[URL, SslArgument]:
    """The URL without its TLS options (asyncpg would take them as unknown keywords) and asyncpg's `ssl`.

    Raises:
        ValueError: as `parse`.
    """
    return url.difference_update_query(TLS_OPTIONS), ssl_argument(parse(url))


def verifies_host(url: URL) -> bool:
    """True when connections check the server's certificate and name (sslmode=verify-full)."""
    return parse(url).mode == "verify-full"
