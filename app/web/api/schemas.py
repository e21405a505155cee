"""Enrollment and staff API bodies and answers, declared once (see app.web.contract).

Shapes, types and ranges come from the domain's constants (app.bounds, the segment and
campaign rules), so a body this schema accepts is refused only for what the domain alone
can know (a phone number that does not exist, a date in the past, a name already taken).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from app.bounds import MAX_DAYS, MAX_ID, MAX_MONEY
from app.campaigns.segments import MAX_LINE_FILTERS, STAGES, WALLETS
from app.loyalty import rules
from app.services.campaigns import MAX_TRIGGER_DAYS, TRIGGERS
from app.web.contract import Answer, Body, Query, query_int

Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


PHONE: dict[str, Any] = {
    "format": "phone",
    "description": "as the shopper types it; the program's region completes a local number",
}


class EnrollmentBody(Body):
    unknown_field_status: ClassVar[int] = 400
    name: Annotated[str, Field(min_length=1, max_length=rules.NAME_MAX)]
    phone: Annotated[str, Field(min_length=1, max_length=64, json_schema_extra=PHONE)]
    birthday: Annotated[str, Field(pattern=DATE_PATTERN, description="YYYY-MM-DD")] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    locale: Literal["ru", "en"] | None = None
    consent: Annotated[bool, Field(description="must be true: the terms were accepted")]
    marketing_consent: bool | None = None


class EnrolledCard(Answer):
    number: str
    barcode: str


class EnrollmentLinks(Answer):
    apple_pass: str
    card_page: str
    google_save: str | None = None


class EnrollmentAnswer(Answer):
    card: EnrolledCard
    links: EnrollmentLinks


class LineFilter(Body):
    """Receipt lines with all the given values (exact text), bought within the last
    within_days days (omitted: ever). At least one of category, size, sku."""

    category: Text200 | None = None
    size: Text200 | None = None
    sku: Text200 | None = None
    within_days: Days | None = None

    @model_validator(mode="after")
    def _needs_one(self) -> LineFilter:
        if self.category is None and self.size is None and self.sku is None:
            raise ValueError("needs a category, a size or an SKU")
        return self


LineFilters = Annotated[list[LineFilter], Field(max_length=MAX_LINE_FILTERS)]


class Segment(Body):
    """Filters over the program's active cards, combined with AND."""

    stages: list[Literal[STAGES]] | None = None  # type: ignore[valid-type]
    tiers: list[Annotated[str, Field(max_length=200)]] | None = None
    birthday_month: Annotated[int, Field(ge=1, le=12)] | None = None
    store_id: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    last_purchase_within_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    no_purchase_for_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    min_spend: Annotated[int, Field(ge=0, le=MAX_MONEY)] | None = None
    max_spend: Annotated[int, Field(ge=0, le=MAX_MONEY)] | None = None
    wallet: Literal[WALLETS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Where the card is now: one wallet app by name, apple (= apple_wallet), "
        "google, android_pkpass (any Android .pkpass app), any or none.",
    )
    bought: LineFilters | None = Field(None, description="Bought lines matching each filter")
    not_bought: LineFilters | None = Field(None, description="Bought no line matching any")


class SegmentSizeBody(Body):
    segment: Segment | None = None


class SizeAnswer(Answer):
    size: int


MOMENT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$"
Moment = Annotated[str, Field(pattern=MOMENT, description="ISO 8601 date-time with a time zone")]
Offer = Annotated[str, Field(max_length=200)]
TriggerDays = Annotated[
    int,
    Field(
        ge=-MAX_TRIGGER_DAYS,
        le=MAX_TRIGGER_DAYS,
        description="birthday only: days from the birthday (negative: before)",
    ),
]


class CampaignBody(Body):
    """The offer in the program's own language is required, the other optional."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    offer_en: Offer | None = None
    offer_ru: Offer | None = None
    offer_fallback_en: Offer | None = None
    offer_fallback_ru: Offer | None = None
    size_category: Offer | None = None
    segment: Segment | None = None
    bonus_points: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    bonus_days: Days | None = None
    holdout_percent: Annotated[float, Field(ge=0, le=50)] = 10
    send_at: Moment | None = Field(None, description="within a year from now")
    ends_at: Moment | None = Field(None, description="the offer leaves the cards after it")
    trigger: Literal[TRIGGERS] | None = Field(  # type: ignore[valid-type]
        None, description="no segment; runs card by card (created switched off)"
    )
    trigger_days: TriggerDays | None = None
    draft: bool = Field(False, description="wait for POST /campaigns/{id}/confirm")


class CampaignEditBody(Body):
    """A triggered campaign's editable fields; those left out keep their value."""

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    offer_en: Offer | None = None
    offer_ru: Offer | None = None
    offer_fallback_en: Offer | None = None
    offer_fallback_ru: Offer | None = None
    bonus_points: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    bonus_days: Days | None = None
    holdout_percent: Annotated[float, Field(ge=0, le=50)] | None = None
    trigger_days: TriggerDays | None = None
    ends_at: Moment | None = Field(None, description="null: no end date")


class Progress(Answer):
    targets: int
    holdout: int
    skipped: int
    applied: int
    pushed: int
    in_wallet: int = Field(description="targets to send whose card is in a wallet")
    percent: int


class Confirmation(Answer):
    """What confirming a draft would do (expected cards)."""

    audience: int
    in_wallet: int
    holdout: int
    targets: int
    holdout_too_small: bool = Field(description="an arm under min_arm cards cannot measure")
    min_arm: int


class Arm(Answer):
    cards: int
    buyers: int
    purchases: int
    revenue: int


class Report(Answer):
    days: int
    targets: Arm
    holdout: Arm
    uplift_per_card: float
    ci95: Annotated[list[float], Field(min_length=2, max_length=2)]


class CampaignAnswer(Answer):
    id: int
    name: str
    status: str
    failure_reason: str | None = Field(description="Why the worker gave up (status failed)")
    trigger: Literal[TRIGGERS] | None  # type: ignore[valid-type]
    trigger_days: int | None
    send_at: str | None
    ends_at: str | None = Field(description="after it the offer leaves the cards")
    holdout_percent: float
    progress: Progress
    confirmation: Confirmation | None = Field(None, description="drafts only")
    left_unsent: int | None = Field(None, description="cancel only: targets never sent")
    report: Report | None = Field(None, description="once the campaign is sent")


class CampaignQuery(Query):
    days: query_int(1, MAX_DAYS) = Field(  # type: ignore[valid-type]
        14, description="days after sending that the report covers"
    )


DateText = Annotated[str, Field(pattern=DATE_PATTERN, description="YYYY-MM-DD")]


class PeriodQuery(Query):
    """A period [from, to): to defaults to now, from to 30 days before to."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    from_: DateText | None = Field(None, alias="from")
    to: DateText | None = None


Share = Annotated[float | None, Field(description="0-1, null when undefined")]
Interval = Annotated[list[float], Field(min_length=2, max_length=2)]


class LoyalRule(Answer):
    min_purchases: int
    window_days: int


class WalletShare(Answer):
    cards: int
    share: Share


class Adoption(Answer):
    members: int
    installed: int
    share: Share
    by_wallet_app: dict[str, WalletShare]


class SourceRevenue(Answer):
    targets: int
    holdout: int
    revenue: float
    ci95: Interval
    campaigns_without_holdout: int


class AutomatedRevenue(Answer):
    """Revenue attributed to triggered communications: targets chosen in the period, each
    measured for attribution_days from its targeting (cut at the period end) against its
    campaign's holdout; ci95 is the 95 % interval."""

    attribution_days: int
    revenue: float
    ci95: Interval
    by_source: dict[str, SourceRevenue]


class KpisAnswer(Answer):
    """Figures of the period [from, to). Amounts are minor units; shares 0-1 or null when
    undefined. card_adoption is as of now. Further figures (receipts, revenue, ...) are
    numbers or null."""

    model_config = ConfigDict(extra="allow")
    from_: str = Field(alias="from")
    to: str
    loyal_buyers: int
    loyal_buyers_previous: int
    loyal_buyers_change: Share
    loyal_revenue: int
    loyal_revenue_share: Share
    card_purchases: int
    repeat_purchases: int
    repeat_purchase_share: Share
    loyal_rule: LoyalRule
    card_adoption: Adoption
    automated_revenue: AutomatedRevenue
