from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.web.api import campaign_actions, crm, invites, openapi, privacy, views, webhooks  # noqa: E402,F401  (registers the routes)
