from flask import Blueprint

bp = Blueprint("passkit", __name__, url_prefix="/passkit/v1")

from app.web.passkit import views  # noqa: E402,F401  (registers the routes)
