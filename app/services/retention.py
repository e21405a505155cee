"""How long records that are not needed for the program itself are kept.

PassKit device logs (what Wallet reports about failed updates, /v1/log) help while an
update problem is being looked into; the audit log answers "who did what" for as long
as a dispute or an inspection may ask. Both are deleted after their retention period
(WALLETPASS_DEVICE_LOG_RETENTION_DAYS, WALLETPASS_AUDIT_RETENTION_DAYS) by the daily job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.passes.models import AppleDeviceLog
from app.staff.models import AuditEntry


@dataclass(frozen=True)
class Purged:
    device_logs: int
    audit_entries: int


def purge(session: Session, now: datetime, device_log_days: int, audit_days: int) -> Purged:
    logs = session.execute(
        delete(AppleDeviceLog).where(
            AppleDeviceLog.received_at < now - timedelta(days=device_log_days)
        )
    )
    entries = session.execute(
        delete(AuditEntry).where(AuditEntry.at < now - timedelta(days=audit_days))
    )
    return Purged(int(getattr(logs, "rowcount", 0) or 0), int(getattr(entries, "rowcount", 0) or 0))
