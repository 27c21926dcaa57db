"""Retention (SPEC.md section 10): delete what is past its time, keep everything else untouched.

Conversations (with their messages and feedback) go 180 days after their last activity, feedback
contact data after 90 days, audit rows after 365 days (only a prefix of the chain, never its newest
row, and announced first by a `sensitive_delete` audit event naming the cut so `audit verify` can
tell it from tampering). Expired refresh-token families, revoked access-token ids, spent CAPTCHAs and
stale login throttles go too. The server runs the job every `RETENTION_INTERVAL_SECONDS`; cron can
run `python -m server retention run`. Every step is one idempotent statement, so two workers running
it at once only repeat each other's work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Delete, Update, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import AUDIT_CUT_KEY, RETENTION_EVENT, AuditLog
from server.clock import Clock
from server.config import LoginSettings, RetentionSettings
from server.periodic import Periodic
from server.storage.db import session_factory
from server.storage.models import (
    AuditEvent,
    CaptchaUse,
    Conversation,
    Feedback,
    LoginThrottle,
    RefreshTokenFamily,
    RevokedToken,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of data is kept."""

    conversations: timedelta
    contacts: timedelta
    audit: timedelta
    # a login throttle row is forgotten once its last lock ended this long ago and no failure is recent
    throttle_memory: timedelta
    failure_window: timedelta

    @classmethod
    def from_settings(cls, retention: RetentionSettings, login: LoginSettings) -> RetentionPolicy:
        return cls(
            conversations=timedelta(days=retention.conversation_days),
            contacts=timedelta(days=retention.contact_days),
            audit=timedelta(days=retention.audit_days),
            throttle_memory=timedelta(seconds=login.lockout_max_seconds),
            failure_window=timedelta(seconds=login.failure_window_seconds),
        )


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted (contacts: rows whose contact was cleared) by one run."""

    conversations: int = 0
    contacts: int = 0
    refresh_families: int = 0
    revoked_tokens: int = 0
    captcha_uses: int = 0
    login_throttle: int = 0
    audit_events: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def counts(self) -> dict[str, int]:
        return asdict(self)


class Retention:
    """Runs the purge once (`run_once`) or every `interval` seconds (`start`/`stop`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy: RetentionPolicy,
        audit: AuditLog,
        *,
        clock: Clock,
        interval: float = 3600.0,
    ) -> None:
        self._sessions = session_factory(engine)
        self._policy = policy
        self._audit = audit
        self._clock = clock
        self._periodic = Periodic("retention", self.run_once, interval=interval)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> PurgeReport:
        """Delete everything past its retention at the clock's now; the counts.

        Raises:
            SQLAlchemyError: the database failed; what was deleted before stays deleted (each step
                commits on its own), the rest is done by the next run.
        """
        now = self._clock().astimezone(UTC)  # SQLite compares stored UTC text: `now` must be UTC too
        p = self._policy
        contact_cut = now - p.contacts
        counts = {
            "conversations": await self._execute(
                delete(Conversation).where(Conversation.updated_at < now - p.conversations)
            ),
            "contacts": await self._execute(
                update(Feedback)
                .where(
                    Feedback.contact.is_not(None),
                    or_(Feedback.contact_delete_after < now, Feedback.created_at < contact_cut),
                )
                .values(contact=None, contact_delete_after=None)
            ),
            "refresh_families": await self._execute(
                delete(RefreshTokenFamily).where(RefreshTokenFamily.expires_at < now)
            ),
            "revoked_tokens": await self._execute(delete(RevokedToken).where(RevokedToken.expires_at < now)),
            "captcha_uses": await self._execute(delete(CaptchaUse).where(CaptchaUse.expires_at < now)),
            "login_throttle": await self._execute(
                delete(LoginThrottle).where(
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now - p.throttle_memory),
                    or_(
                        LoginThrottle.first_failed_at.is_(None), LoginThrottle.first_failed_at < now - p.failure_window
                    ),
                )
            ),
        }
        counts["audit_events"] = await self._prune_audit(now - p.audit, counts)
        report = PurgeReport(**counts)
        if report.total:
            log.info("retention purged", **report.counts())
        return report

    async def _execute(self, statement: Delete | Update) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(statement.execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0))

    async def _prune_audit(self, cutoff: datetime, counts: dict[str, int]) -> int:
        """Delete the chain's prefix older than `cutoff`, always keeping its newest row; announce the
        cut (and the other counts) as an audit event first, so a failed delete leaves a whole chain."""
        async with self._sessions() as session:
            first_kept = await session.scalar(
                select(func.coalesce(func.min(AuditEvent.id), select(func.max(AuditEvent.id)).scalar_subquery())).where(
                    AuditEvent.created_at >= cutoff
                )
            )
            if first_kept is None:
                doomed, cut_hash = 0, None
            else:
                doomed = int(await session.scalar(select(func.count()).where(AuditEvent.id < first_kept)) or 0)
                cut_hash = await session.scalar(select(AuditEvent.prev_hash).where(AuditEvent.id == first_kept))
        if doomed == 0 and not any(counts.values()):
            return 0
        details: dict[str, object] = {"reason": "retention", **counts, "audit_events": doomed}
        if doomed:
            details[AUDIT_CUT_KEY] = cut_hash
        await self._audit.record(RETENTION_EVENT, details=details)
        if not doomed:
            return 0
        return await self._execute(delete(AuditEvent).where(AuditEvent.id < first_kept))
