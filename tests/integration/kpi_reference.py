"""The KPIs of one window computed the plain way, row by row in Python from every
receipt, refund and member: slow, short, and the oracle the batched queries are held to."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics.kpis import Kpis, SegmentKpis, thresholds_of
from app.analytics.lifecycle import stage
from app.campaigns.models import Campaign, CampaignTarget
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject, WalletPass
from app.till.models import Receipt, Refund


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def reference_kpis(
    session: Session, program: Program, start: datetime, end: datetime, store_id: int | None = None
) -> Kpis:
    receipts = session.scalars(select(Receipt).where(Receipt.program_id == program.id)).all()
    refunds = session.scalars(select(Refund)).all()
    members = session.scalars(select(Member).where(Member.program_id == program.id)).all()
    member_of = {c.id: c.member_id for c in session.scalars(select(Card))}

    def net(receipt: Receipt) -> int:
        back = sum(
            f.money_back for f in refunds if f.receipt_pk == receipt.id and f.created_at < end
        )
        return receipt.amount_due - back

    mine = [
        r
        for r in receipts
        if start <= r.created_at < end and (store_id is None or r.store_id == store_id)
    ]
    carded = [r for r in mine if r.card_id is not None]
    revenue = sum(net(r) for r in mine)
    revenue_card = sum(net(r) for r in carded)
    avg_with = ratio(revenue_card, len(carded))
    avg_without = ratio(revenue - revenue_card, len(mine) - len(carded))
    per_buyer: dict[int, int] = {}
    for r in carded:
        per_buyer[member_of[r.card_id]] = per_buyer.get(member_of[r.card_id], 0) + 1  # type: ignore[index]

    def bought_before_end(member: Member) -> list[datetime]:
        return sorted(
            r.created_at
            for r in receipts
            if r.card_id is not None and member_of[r.card_id] == member.id and r.created_at < end
        )

    cohort = [bought_before_end(m) for m in members if start <= m.created_at < end]
    stages = [
        stage(m.created_at, len(b), max(b, default=None), end, thresholds_of(program))
        for m in members
        if m.created_at < end
        for b in [bought_before_end(m)]
    ]
    first = sum(1 for b in cohort if b)
    return Kpis(
        receipts=len(mine),
        receipts_with_card=len(carded),
        revenue=revenue,
        revenue_with_card=revenue_card,
        average_check_with_card=avg_with,
        average_check_without_card=avg_without,
        check_uplift=(avg_with / avg_without - 1) if avg_with is not None and avg_without else None,
        card_revenue_share=ratio(revenue_card, revenue),
        card_penetration=ratio(len(carded), len(mine)),
        members_enrolled=len(cohort),
        conversion_first=ratio(first, len(cohort)),
        conversion_second=ratio(sum(1 for b in cohort if len(b) >= 2), first),
        repeat_share=ratio(sum(1 for n in per_buyer.values() if n >= 2), len(per_buyer)),
        purchases_per_person=ratio(len(carded), len(per_buyer)),
        at_risk_share=ratio(
            stages.count("at_risk"), stages.count("at_risk") + stages.count("active")
        ),
    )


def reference_by_stage(
    session: Session, program: Program, start: datetime, end: datetime
) -> list[SegmentKpis]:
    """Card holders' receipts of the window per stored lifecycle stage of their member."""
    receipts = session.scalars(select(Receipt).where(Receipt.program_id == program.id)).all()
    refunds = session.scalars(select(Refund)).all()
    members = session.scalars(select(Member).where(Member.program_id == program.id)).all()
    stage_of = {m.id: m.stage for m in members}
    stage_of_card = {
        c.id: stage_of[c.member_id]
        for c in session.scalars(select(Card).where(Card.program_id == program.id))
    }
    out = []
    for name in ("newcomer", "active", "at_risk", "lost"):
        mine = [
            r
            for r in receipts
            if r.card_id is not None
            and stage_of_card[r.card_id] == name
            and start <= r.created_at < end
        ]
        revenue = sum(
            r.amount_due
            - sum(f.money_back for f in refunds if f.receipt_pk == r.id and f.created_at < end)
            for r in mine
        )
        size = sum(1 for m in members if m.stage == name)
        buyers = len({r.card_id for r in mine})
        out.append(
            SegmentKpis(
                name,
                size,
                buyers,
                len(mine),
                revenue,
                ratio(revenue, len(mine)),
                ratio(len(mine), buyers),
                ratio(revenue, size),
            )
        )
    return out


def reference_seed_kpis(
    session: Session, program: Program, start: datetime, end: datetime, days: int = 30
) -> dict[str, Any]:
    """Loyal buyers, repeat purchases, card adoption and automated revenue, the plain way,
    in the staff API's shape (``SeedKpis.as_json``)."""
    receipts = session.scalars(select(Receipt).where(Receipt.program_id == program.id)).all()
    refunds = session.scalars(select(Refund)).all()
    members = session.scalars(select(Member).where(Member.program_id == program.id)).all()
    cards = session.scalars(select(Card).where(Card.program_id == program.id)).all()
    member_of = {c.id: c.member_id for c in cards}

    def net(receipt: Receipt) -> int:
        back = sum(
            f.money_back for f in refunds if f.receipt_pk == receipt.id and f.created_at < end
        )
        return receipt.amount_due - back

    def loyal_at(at: datetime) -> set[int]:
        since = at - timedelta(days=program.loyal_window_days)
        count: dict[int, int] = {}
        for r in receipts:
            if r.card_id is not None and since <= r.created_at < at:
                count[member_of[r.card_id]] = count.get(member_of[r.card_id], 0) + 1
        return {m for m, n in count.items() if n >= program.loyal_min_purchases}

    mine = [r for r in receipts if start <= r.created_at < end]
    carded = [r for r in mine if r.card_id is not None]
    loyal, before = loyal_at(end), loyal_at(start)
    revenue = sum(net(r) for r in mine)
    loyal_revenue = sum(net(r) for r in carded if member_of[r.card_id] in loyal)  # type: ignore[index]
    repeats = [
        r
        for r in carded
        if any(o.card_id == r.card_id and o.created_at < r.created_at for o in receipts)
    ]

    # Adoption: a card is in an app while a device of that app is registered for its pass,
    # or (Google Wallet) while its object is saved and not removed.
    pass_card = {p.id: p.card_id for p in session.scalars(select(WalletPass))}
    app_of = {d.id: d.wallet_app for d in session.scalars(select(AppleDevice))}
    in_app: dict[str, set[int]] = {}
    for reg in session.scalars(select(AppleRegistration)):
        card_id = pass_card[reg.pass_id]
        if card_id in member_of:
            in_app.setdefault(app_of[reg.device_id], set()).add(card_id)
    for obj in session.scalars(select(GoogleObject)):
        card_id = pass_card[obj.pass_id]
        if card_id in member_of and obj.saved_at is not None and obj.removed_at is None:
            in_app.setdefault("google_wallet", set()).add(card_id)
    installed = {member_of[c] for found in in_app.values() for c in found}

    def share(n: int) -> float | None:
        return ratio(n, len(members))

    by_source = {}
    total, total_var = 0.0, 0.0
    for trigger in ("welcome", "birthday", "win_back"):
        revenue_of, variance_of, sent_n, kept_n, unmeasured = 0.0, 0.0, 0, 0, 0
        for campaign in session.scalars(
            select(Campaign).where(Campaign.program_id == program.id, Campaign.trigger == trigger)
        ):
            arms: dict[bool, list[int]] = {True: [], False: []}
            for t in session.scalars(
                select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
            ):
                if t.skipped is not None or t.targeted_at is None:
                    continue
                if not start <= t.targeted_at < end:
                    continue
                stop = min(t.targeted_at + timedelta(days=days), end)
                arms[t.holdout].append(
                    sum(
                        r.amount_due
                        for r in receipts
                        if r.card_id == t.card_id and t.targeted_at <= r.created_at < stop
                    )
                )
            sent, kept = arms[False], arms[True]
            sent_n, kept_n = sent_n + len(sent), kept_n + len(kept)
            if sent and not kept:
                unmeasured += 1
            if not sent or not kept:
                continue
            diff = statistics.fmean(sent) - statistics.fmean(kept)
            var = sum(
                (statistics.variance(arm) if len(arm) > 1 else 0.0) / len(arm)
                for arm in (sent, kept)
            )
            revenue_of += diff * len(sent)
            variance_of += var * len(sent) ** 2
        half = 1.96 * math.sqrt(variance_of)
        by_source[trigger] = {
            "targets": sent_n,
            "holdout": kept_n,
            "revenue": revenue_of,
            "ci95": [revenue_of - half, revenue_of + half],
            "campaigns_without_holdout": unmeasured,
        }
        total, total_var = total + revenue_of, total_var + variance_of
    return {
        "loyal_buyers": len(loyal),
        "loyal_buyers_previous": len(before),
        "loyal_buyers_change": (len(loyal) / len(before) - 1) if before else None,
        "loyal_revenue": loyal_revenue,
        "loyal_revenue_share": ratio(loyal_revenue, revenue),
        "card_purchases": len(carded),
        "repeat_purchases": len(repeats),
        "repeat_purchase_share": ratio(len(repeats), len(carded)),
        "loyal_rule": {
            "min_purchases": program.loyal_min_purchases,
            "window_days": program.loyal_window_days,
        },
        "card_adoption": {
            "members": len(members),
            "installed": len(installed),
            "share": share(len(installed)),
            "by_wallet_app": {
                app: {"cards": len(found), "share": share(len(found))}
                for app, found in sorted(in_app.items())
            },
        },
        "automated_revenue": {
            "attribution_days": days,
            "revenue": total,
            "ci95": [total - 1.96 * math.sqrt(total_var), total + 1.96 * math.sqrt(total_var)],
            "by_source": by_source,
        },
    }
