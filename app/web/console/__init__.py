from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from app.web.console import views  # noqa: E402,F401  (registers the routes)
