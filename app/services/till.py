"""Use cases of the till: look a card up, record a purchase, record a refund.

Purchases and refunds are idempotent per terminal: the same id with the same body
returns the original result and changes nothing; with another body it is a
conflict. Card rows are locked for the whole operation, so two tills spending the
same points at the same moment are serialised and the balance never goes below zero.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.analytics import rollups
from app.clock import Clock
from app.db import lock_for_update
from app.loyalty import ledger, rules, totp
from app.loyalty.errors import UnknownCardError
from app.loyalty.models import Card, LedgerEntry, Program, Store, TotpUse
from app.passes.models import GoogleObject, WalletPass
from app.passes.sync import mark_card_changed
from app.services import installs, tiers, webhook_events
from app.till import rules as till_rules
from app.till.errors import (
    BarcodeRequiredError,
    CardBlockedError,
    CardReplacedError,
    CodeExpiredError,
    CodeReusedError,
    DuplicateConflictError,
    RefundExceedsError,
    RotatingCodeRequiredError,
    UnknownReceiptError,
)
from app.till.models import Receipt, ReceiptLine, Refund, Terminal


def request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class FoundCard:
    card: Card
    scanned: bool  # True when the full barcode was presented, not only the number
    totp_step: int | None = None  # the rotating code's time step, when one was scanned


def find_card(
    session: Session,
    program: Program,
    code: str,
    *,
    now: datetime,
    lock: bool = False,
) -> FoundCard:
    """A card of ``program`` from a scanned barcode (static, or rotating from a Google
    card), or from its typed number; ``lock`` also takes the card's row lock (see
    ledger.lock_card) in the same query."""
    rotating = totp.split_rotating(code)
    if rotating is not None:
        code, shown = rotating
    parsed = rules.parse_barcode(code)
    if parsed is not None:
        number, secret = parsed
    else:
        number, secret = "".join(code.split()), None
        if not rules.luhn_valid(number):
            raise UnknownCardError()
    stmt = select(Card).where(Card.number == number, Card.program_id == program.id)
    if lock and lock_for_update(session):
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    card = session.scalar(stmt)
    if card is None:
        if _replaced(session, program, number):
            raise CardReplacedError()
        raise UnknownCardError()
    if secret is not None and not hmac.compare_digest(card.barcode_secret, secret):
        raise UnknownCardError()
    if card.status != "active":
        raise CardBlockedError()
    step = None
    if rotating is not None:
        moment = now.timestamp()
        step = totp.matching_step(card.totp_secret, shown, moment) if card.totp_secret else None
        if step is None:
            raise CodeExpiredError()
    return FoundCard(card, scanned=secret is not None, totp_step=step)


def _replaced(session: Session, program: Program, number: str) -> bool:
    """Whether ``number`` is the old number of a replaced card of the program."""
    found = session.scalar(
        select(WalletPass.id)
        .join(Card, Card.id == WalletPass.card_id)
        .where(WalletPass.voided_number == number, Card.program_id == program.id)
        .limit(1)
    )
    return found is not None


def shows_rotating_code(session: Session, card: Card) -> bool:
    """Whether the card went to Google Wallet with a rotating code. Every rotating value
    carries the static ``number-secret``, so for such a card the static code is as good
    as a screenshot: only the live code (current or previous step) may spend points. The
    object is enough, saved or removed since: its values were on a screen either way."""
    if not card.program.rotating_barcode or not card.totp_secret:
        return False
    issued = session.scalar(
        select(GoogleObject.id)
        .join(WalletPass, WalletPass.id == GoogleObject.pass_id)
        .where(WalletPass.card_id == card.id)
        .limit(1)
    )
    return issued is not None


def spendable_balance(session: Session, card: Card, now: datetime) -> int:
    """The balance less lots whose date has passed but that the daily job has not
    expired yet (reads only; the next write expires them for real)."""
    overdue = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
            LedgerEntry.card_id == card.id,
            LedgerEntry.remaining > 0,
            LedgerEntry.expires_at <= now,
        )
    )
    return card.balance - int(overdue or 0)


@dataclass(frozen=True)
class CardView:
    card_number: str
    member_name: str
    tier: str
    tier_name: str
    discount_percent: float
    balance: int
    point_value: int
    redeemable_max: int | None


def view_card(
    session: Session, clock: Clock, program: Program, code: str, amount: int | None, locale: str
) -> CardView:
    card = find_card(session, program, code, now=clock.now()).card
    balance = spendable_balance(session, card, clock.now())
    redeemable = None
    if amount is not None:
        after = amount - till_rules.discount_of(amount, card.tier.discount_bp)
        redeemable = till_rules.redeemable_max(
            after, balance, program.max_redeem_share_bp, program.point_value_minor
        )
    return CardView(
        card_number=card.number,
        member_name=card.member.name,
        tier=card.tier.code,
        tier_name=card.tier.name(locale),
        discount_percent=card.tier.discount_bp / 100,
        balance=balance,
        point_value=program.point_value_minor,
        redeemable_max=redeemable,
    )


@dataclass(frozen=True)
class PurchaseRequest:
    receipt_id: str
    amount: int
    barcode: str | None = None
    redeem_points: int = 0
    lines: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class PurchaseResult:
    receipt_id: str
    card_number: str | None
    discount_amount: int
    points_redeemed: int
    points_earned: int
    balance: int | None
    amount_due: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _purchase_result(receipt: Receipt) -> PurchaseResult:
    return PurchaseResult(
        receipt_id=receipt.receipt_id,
        card_number=receipt.card.number if receipt.card is not None else None,
        discount_amount=receipt.discount_amount,
        points_redeemed=receipt.points_redeemed,
        points_earned=receipt.points_earned,
        balance=receipt.balance_after,
        amount_due=receipt.amount_due,
    )


def _replay(existing: Receipt | Refund, digest: str, what: str) -> None:
    if existing.request_hash != digest:
        raise DuplicateConflictError(what)


def _existing_receipt(session: Session, terminal: Terminal, receipt_id: str) -> Receipt | None:
    return session.scalar(
        select(Receipt).where(Receipt.terminal_id == terminal.id, Receipt.receipt_id == receipt_id)
    )


def record_purchase(
    session: Session, clock: Clock, terminal: Terminal, req: PurchaseRequest, digest: str
) -> tuple[PurchaseResult, bool]:
    """Returns the result and whether it was recorded now (False: a replay)."""
    existing = _existing_receipt(session, terminal, req.receipt_id)
    if existing is not None:
        _replay(existing, digest, f"receipt {req.receipt_id!r}")
        return _purchase_result(existing), False
    program = terminal.program
    now = clock.now()
    card = None
    if req.redeem_points and not req.barcode:
        raise BarcodeRequiredError()
    if req.barcode:
        found = find_card(session, program, req.barcode, lock=True, now=now)
        if req.redeem_points and not found.scanned:
            raise BarcodeRequiredError()
        if (
            req.redeem_points
            and found.totp_step is None
            and shows_rotating_code(session, found.card)
        ):
            raise RotatingCodeRequiredError()
        if found.totp_step is not None:
            try:
                with session.begin_nested():
                    session.add(TotpUse(card_id=found.card.id, step=found.totp_step, used_at=now))
            except IntegrityError:
                raise CodeReusedError() from None
        card = found.card
        ledger.expire_due(session, card, now)
    # An install bonus the program pays with the first purchase (after the quote: it
    # cannot pay for the purchase that brings it).
    bonus = installs.pending_bonus(session, card) if card is not None else 0
    quote = till_rules.quote(
        req.amount,
        discount_bp=card.tier.discount_bp if card else 0,
        balance=card.balance if card else 0,
        redeem=req.redeem_points,
        earn_rate_bp=program.earn_rate_bp if card else 0,
        max_share_bp=program.max_redeem_share_bp,
        point_value=program.point_value_minor,
    )
    receipt = Receipt(
        program_id=program.id,
        terminal_id=terminal.id,
        store_id=terminal.store_id,
        receipt_id=req.receipt_id,
        card_id=card.id if card else None,
        amount=quote.amount,
        discount_bp=quote.discount_bp,
        discount_amount=quote.discount_amount,
        points_redeemed=quote.points_redeemed,
        point_value_minor=program.point_value_minor,
        points_earned=quote.points_earned,
        amount_due=quote.amount_due,
        # What the ledger operations below will leave on the card.
        balance_after=(card.balance - quote.points_redeemed + quote.points_earned + bonus)
        if card
        else None,
        lines=req.lines,
        request_hash=digest,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError:
        # The same receipt arrived twice at once; the first one decides.
        raced = _existing_receipt(session, terminal, req.receipt_id)
        if raced is None:
            raise
        _replay(raced, digest, f"receipt {req.receipt_id!r}")
        return _purchase_result(raced), False
    rollups.record_purchase(session, program, receipt)
    if card is not None:
        _store_lines(session, receipt)
        reference = f"receipt:{receipt.id}"
        if quote.points_redeemed:
            ledger.debit(
                session,
                card,
                points=quote.points_redeemed,
                kind="burn",
                now=now,
                reference=reference,
            )
        if quote.points_earned:
            ledger.credit(
                session,
                card,
                points=quote.points_earned,
                kind="earn",
                now=now,
                valid_days=program.points_validity_days,
                reference=reference,
            )
        if bonus:
            bonus = installs.pay_pending_bonus(session, clock, card, reference)
        if receipt.balance_after != card.balance:  # the arithmetic above must hold
            raise RuntimeError(
                f"card {card.id}: ledger left {card.balance}, expected {receipt.balance_after}"
            )
        if quote.points_redeemed or quote.points_earned or bonus:
            mark_card_changed(session, clock, card.id)
        tiers.upgrade_by_spend(session, clock, card)
    session.flush()
    webhook_events.emit(
        session,
        clock,
        program,
        "purchase.recorded",
        {
            **_receipt_fields(session, receipt, terminal, card),
            "currency": program.currency,
            "amount": receipt.amount,
            "discount_amount": receipt.discount_amount,
            "points_redeemed": receipt.points_redeemed,
            "points_earned": receipt.points_earned,
            "amount_due": receipt.amount_due,
            "balance": receipt.balance_after,
        },
    )
    return _purchase_result(receipt), True


def _receipt_fields(
    session: Session, receipt: Receipt, terminal: Terminal, card: Card | None
) -> dict[str, Any]:
    """How a purchase or refund webhook names the receipt, the place and the card."""
    store = session.get(Store, receipt.store_id) if receipt.store_id is not None else None
    return {
        "receipt_id": receipt.receipt_id,
        "terminal": terminal.name,
        "store": store.code if store is not None else None,
        "card_number": card.number if card is not None else None,
        "member_id": card.member_id if card is not None else None,
    }


def _store_lines(session: Session, receipt: Receipt) -> None:
    """The card holder's receipt lines as rows, for segments by what people buy."""
    assert receipt.card_id is not None
    rows = [
        {
            "receipt_pk": receipt.id,
            "card_id": receipt.card_id,
            "created_at": receipt.created_at,
            "sku": line.get("sku") or None,
            "category": line.get("category") or None,
            "size": line.get("size") or None,
            "quantity": line.get("quantity", 1),
        }
        for line in receipt.lines or ()
    ]
    if rows:
        session.execute(insert(ReceiptLine), rows)


@dataclass(frozen=True)
class RefundRequest:
    receipt_id: str
    refund_id: str
    amount: int | None = None


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    receipt_id: str
    amount: int
    money_back: int
    points_returned: int
    points_taken_back: int
    points_shortfall: int
    balance: int | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _refund_result(refund: Refund) -> RefundResult:
    return RefundResult(
        refund_id=refund.refund_id,
        receipt_id=refund.receipt.receipt_id,
        amount=refund.amount,
        money_back=refund.money_back,
        points_returned=refund.points_returned,
        points_taken_back=refund.points_taken_back,
        points_shortfall=refund.points_shortfall,
        balance=refund.balance_after,
    )


def record_refund(
    session: Session, clock: Clock, terminal: Terminal, req: RefundRequest, digest: str
) -> tuple[RefundResult, bool]:
    existing = session.scalar(
        select(Refund).where(Refund.terminal_id == terminal.id, Refund.refund_id == req.refund_id)
    )
    if existing is not None:
        _replay(existing, digest, f"refund {req.refund_id!r}")
        return _refund_result(existing), False
    stmt = select(Receipt).where(
        Receipt.terminal_id == terminal.id, Receipt.receipt_id == req.receipt_id
    )
    if lock_for_update(session):
        stmt = stmt.with_for_update()  # refunds of one receipt are computed one at a time
    receipt = session.scalar(stmt.execution_options(populate_existing=True))
    if receipt is None:
        raise UnknownReceiptError()
    refunded_before = int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.receipt_pk == receipt.id)
        )
        or 0
    )
    remaining = receipt.amount - refunded_before
    amount = req.amount if req.amount is not None else remaining
    if amount <= 0 or amount > remaining:
        raise RefundExceedsError(remaining)
    split = till_rules.refund_split(
        amount=amount,
        refunded_before=refunded_before,
        receipt_amount=receipt.amount,
        amount_due=receipt.amount_due,
        points_redeemed=receipt.points_redeemed,
        points_earned=receipt.points_earned,
    )
    now = clock.now()
    refund = Refund(
        receipt_pk=receipt.id,
        terminal_id=terminal.id,
        refund_id=req.refund_id,
        amount=amount,
        money_back=split.money_back,
        points_returned=split.points_returned,
        points_taken_back=0,
        points_shortfall=0,
        request_hash=digest,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(refund)
    except IntegrityError:
        raced = session.scalar(
            select(Refund).where(
                Refund.terminal_id == terminal.id, Refund.refund_id == req.refund_id
            )
        )
        if raced is None:
            raise
        _replay(raced, digest, f"refund {req.refund_id!r}")
        return _refund_result(raced), False
    if receipt.card_id is not None:
        card = ledger.lock_card(session, receipt.card_id)
        reference = f"refund:{refund.id}"
        if split.points_returned:
            ledger.credit(
                session,
                card,
                points=split.points_returned,
                kind="refund",
                now=now,
                valid_days=card.program.points_validity_days,
                reference=reference,
            )
        if split.points_taken_back:
            earn_lot = session.scalar(
                select(LedgerEntry.id).where(
                    LedgerEntry.card_id == card.id,
                    LedgerEntry.kind == "earn",
                    LedgerEntry.reference == f"receipt:{receipt.id}",
                )
            )
            taken = ledger.debit(
                session,
                card,
                points=split.points_taken_back,
                kind="refund",
                now=now,
                reference=reference,
                allow_partial=True,
                prefer_lot=earn_lot,
            )
            refund.points_taken_back = -taken.points if taken is not None else 0
            refund.points_shortfall = split.points_taken_back - refund.points_taken_back
        refund.balance_after = card.balance
        if split.points_returned or refund.points_taken_back:
            mark_card_changed(session, clock, card.id)
    session.flush()
    program = session.get(Program, receipt.program_id)
    assert program is not None
    refunded_card = session.get(Card, receipt.card_id) if receipt.card_id is not None else None
    webhook_events.emit(
        session,
        clock,
        program,
        "refund.recorded",
        {
            "refund_id": refund.refund_id,
            **_receipt_fields(session, receipt, terminal, refunded_card),
            "currency": program.currency,
            "amount": refund.amount,
            "money_back": refund.money_back,
            "points_returned": refund.points_returned,
            "points_taken_back": refund.points_taken_back,
            "balance": refund.balance_after,
        },
    )
    return _refund_result(refund), True
