"""POS API bodies and answers, declared once: they validate requests and write the document.

The numbers come from app.bounds and the till's rules, so the edge and the domain agree.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from app.bounds import MAX_MONEY
from app.services.till_reads import MAX_RECENT
from app.web.contract import Answer, Body, Query, query_int

ID_PATTERN = r"^[A-Za-z0-9._:/#-]{1,64}$"
MAX_LINES = 500

ReceiptId = Annotated[
    str, Field(pattern=ID_PATTERN, description="the till's id: 1-64 letters, digits or . _ : / # -")
]
Amount = Annotated[int, Field(ge=1, le=MAX_MONEY, description="minor units (e.g. kopecks)")]
Points = Annotated[int, Field(ge=0, le=MAX_MONEY)]
Text200 = Annotated[str, Field(max_length=200)]
Count = Annotated[int, Field(ge=0, le=MAX_MONEY)]
Barcode = Annotated[
    str, Field(min_length=1, max_length=64, description="the scanned card code (or its number)")
]
Display = Annotated[
    dict[str, str],
    Field(
        description="the same figures as text in the answer's language (Accept-Language, "
        "else the program's), money with the currency sign, e.g. 1 338,00 ₽"
    ),
]


PHONE: dict[str, Any] = {
    "format": "phone",
    "description": "as the shopper types it; the program's region completes a local number",
}


class Line(Body):
    """A receipt line (at least one field)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    sku: Text200 | None = None
    name: Text200 | None = None
    quantity: Count | None = None
    price: Count | None = None
    size: Text200 | None = None
    category: Text200 | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Line:
        if not self.model_fields_set:
            raise ValueError("must be an object with at least one line field")
        return self


class PurchaseBody(Body):
    receipt_id: ReceiptId
    amount: Amount
    barcode: Barcode | None = None
    redeem_points: Points | None = None
    lines: Annotated[list[Line], Field(max_length=MAX_LINES)] | None = None


class QuoteBody(PurchaseBody):
    receipt_id: ReceiptId | None = None  # type: ignore[assignment]


class RefundBody(Body):
    receipt_id: ReceiptId
    refund_id: ReceiptId
    amount: Amount | None = Field(None, description="minor units; omitted: what is left")


class TillEnrollmentBody(Body):
    phone: Annotated[str, Field(min_length=1, max_length=64, json_schema_extra=PHONE)]
    name: Annotated[str, Field(max_length=200)] | None = None
    consent: Literal[True] = Field(description="true: the shopper accepted the program's terms")
    send_invite: bool | None = None


class LookupQuery(Query):
    amount: query_int(1, MAX_MONEY) | None = Field(  # type: ignore[valid-type]
        None, description="the purchase amount, to answer redeemable_max"
    )


class ReceiptsQuery(Query):
    limit: query_int(1, MAX_RECENT) = 10  # type: ignore[valid-type]


class TerminalAnswer(Answer):
    name: str
    program: str
    brand: str
    currency: str
    store: str | None


class CardAnswer(Answer):
    card_number: str
    member_name: str
    tier: str
    tier_name: str
    discount_percent: float
    balance: int
    point_value: int
    redeemable_max: int | None = None
    display: Display


class PurchaseAnswer(Answer):
    receipt_id: str
    card_number: str | None
    discount_amount: int
    points_redeemed: int
    points_earned: int
    balance: int | None
    amount_due: int
    display: Display


class RefundAnswer(Answer):
    refund_id: str
    receipt_id: str
    amount: int
    money_back: int
    points_returned: int
    points_taken_back: int
    points_shortfall: int
    balance: int | None
    display: Display


class QuoteAnswer(Answer):
    card_number: str | None
    member_name: str | None
    tier_name: str | None
    scanned: bool = Field(description="the card's barcode was presented (only then points pay)")
    amount: int
    discount_percent: float
    discount_amount: int
    redeemable_max: int = Field(description="points this purchase would accept as payment")
    points_redeemed: int
    amount_due: int
    points_earned: int
    balance: int | None
    balance_after: int | None
    display: Display


class RecentReceipt(Answer):
    receipt_id: str
    created_at: str
    card_number: str | None
    amount: int
    amount_due: int
    points_redeemed: int
    points_earned: int
    refunded: int
    refundable: int
    display: Display


class ReceiptsAnswer(Answer):
    receipts: list[RecentReceipt]
    timezone: str


class EnrolledCard(Answer):
    number: str
    barcode: str


class TillEnrollmentAnswer(Answer):
    card: EnrolledCard
    invite: Literal["sent", "off", "not_requested"]


class DecodeAnswer(Answer):
    code: str | None


class PairBody(Body):
    code: Annotated[
        str, Field(min_length=1, max_length=40, description="the console's one-time code")
    ]


class PairAnswer(Answer):
    key: str = Field(description="the till's key (wpt_…), shown this once")
    name: str
    program: str
    store: str | None
