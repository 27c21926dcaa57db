"""Security events (OWASP logging vocabulary) into the hash-chained `audit_events` table.

Each row stores `hash` = SHA-256 over its canonical content and the previous row's hash, so any
edit or deletion breaks the chain from that row on. Rows never hold passwords, tokens, API keys,
emails or message text: principals are random ids (pseudonymous once an account is deleted).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rpc import call
from rpc.metrics import LOCKOUT_EVENT, LOGIN_FAILURE_EVENT, TOKEN_REUSE_EVENT, Metrics
from server.storage.models import AuditEvent

log = structlog.get_logger("audit")

GENESIS = "0" * 64
# Retention (server/retention.py) deletes the oldest rows; before it does, it records this event with
# the hash of the last row it deletes under AUDIT_CUT_KEY, so `verify` can tell an explained cut from
# rows removed by hand.
RETENTION_EVENT = "sensitive_delete"
AUDIT_CUT_KEY = "audit_cut_hash"
SEVERITIES = ("info", "warning", "critical")
_PG_LOCK_KEY = 0x57554646  # "WUFF": serializes chain appends across processes on PostgreSQL


def row_hash(row: AuditEvent) -> str:
    """The chain hash of one row: SHA-256 over the canonical JSON of its content and `prev_hash`."""
    content = json.dumps(
        [
            row.prev_hash,
            row.created_at.astimezone(UTC).isoformat(),
            row.event,
            row.severity,
            row.principal,
            row.client_ip,
            row.request_id,
            row.details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(content.encode()).hexdigest()


class AuditLog:
    """Appends security events to the chain; also emits each as a JSON log line and, with `metrics`,
    counts it (`wuffchat_security_events_total`, and the login failure, lockout and token reuse
    counters): every security event passes here, so the counters cannot miss one."""

    def __init__(self, engine: AsyncEngine, *, metrics: Metrics | None = None) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._lock = asyncio.Lock()
        self._is_postgres = engine.dialect.name == "postgresql"
        self._metrics = metrics

    def _count(self, event: str, severity: str) -> None:
        m = self._metrics
        if m is None:
            return
        m.security_events.labels(event, severity).inc()
        if event == LOGIN_FAILURE_EVENT:
            m.login_failures.inc()
        elif event == LOCKOUT_EVENT:
            m.lockouts.inc()
        elif event == TOKEN_REUSE_EVENT:
            m.token_reuse.inc()

    async def record(
        self, event: str, *, severity: str = "info", principal: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        """Append `event`; request id and client IP come from the running call, if any."""
        assert severity in SEVERITIES, severity
        self._count(event, severity)  # counted even when storing it fails below
        try:
            state = call.current()
        except LookupError:
            state = None
        details = details or {}
        if principal is None and state is not None and state.principal is not None:
            principal = state.principal.owner_key
        async with self._lock, self._sessions() as session, session.begin():
            prev = await self._last_hash(session)
            now = datetime.now(UTC)
            ip = state.client_ip if state else None
            rid = state.request_id if state else None
            row = AuditEvent(
                created_at=now,
                event=event,
                severity=severity,
                principal=principal,
                client_ip=ip,
                request_id=rid,
                details=details,
                prev_hash=prev,
            )
            row.hash = row_hash(row)
            session.add(row)
        log.info(
            "security_event",
            security_event=event,
            severity=severity,
            principal=principal,
            client_ip=ip,
            request_id=rid,
            **{f"detail_{k}": v for k, v in details.items()},
        )

    async def record_safely(
        self, event: str, *, severity: str = "info", principal: str | None = None, details: dict[str, Any] | None = None
    ) -> bool:
        """`record`, but a failing database is logged instead of failing the call that caused the event."""
        try:
            await self.record(event, severity=severity, principal=principal, details=details)
        except Exception as exc:
            log.error("audit_record_failed", security_event=event, error_type=type(exc).__name__)
            return False
        return True

    async def _last_hash(self, session: AsyncSession) -> str:
        if self._is_postgres:
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        last = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        return last or GENESIS


@dataclass(frozen=True)
class ChainReport:
    """The outcome of `verify`: rows checked, the id of the first row that breaks the chain, and
    whether the chain starts after rows that retention removed."""

    rows: int
    first_broken_id: int | None
    pruned: bool = False

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


async def verify(engine: AsyncEngine, *, batch: int = 1000) -> ChainReport:
    """Recompute the chain in id order; report the first row whose hash or link does not match.

    The oldest remaining row anchors the chain: its `prev_hash` is GENESIS, or the cut hash named by a
    retention event later in the chain (retention pruned the rows before it); otherwise the oldest
    row counts as broken. Every later row must link to its predecessor's stored hash.
    """
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    checked, prev, last_id = 0, None, 0
    anchor: tuple[int, str] | None = None  # (id, prev_hash) of the oldest row
    cuts: set[str] = set()
    async with sessions() as session:
        while True:
            rows = list(
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
                )
            )
            if not rows:
                break
            for row in rows:
                if (prev is not None and row.prev_hash != prev) or row_hash(row) != row.hash:
                    return ChainReport(rows=checked, first_broken_id=row.id)
                if anchor is None:
                    anchor = (row.id, row.prev_hash)
                if row.event == RETENTION_EVENT and isinstance(row.details.get(AUDIT_CUT_KEY), str):
                    cuts.add(row.details[AUDIT_CUT_KEY])
                prev, last_id = row.hash, row.id
                checked += 1
            session.expunge_all()
    if anchor is None or anchor[1] == GENESIS:
        return ChainReport(rows=checked, first_broken_id=None)
    if anchor[1] in cuts:
        return ChainReport(rows=checked, first_broken_id=None, pruned=True)
    return ChainReport(rows=0, first_broken_id=anchor[0])
