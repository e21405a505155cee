from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from app.web.console import (  # noqa: E402,F401  (registers the routes)
    adjustment_views,
    campaign_actions,
    campaign_views,
    card_care_views,
    dashboard_views,
    design_views,
    draft_views,
    image_views,
    invite_views,
    member_views,
    privacy_views,
    program_views,
    rules_views,
    staff_views,
    store_views,
    text_views,
    till_views,
    views,
    webhook_views,
)
