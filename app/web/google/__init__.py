from flask import Blueprint

bp = Blueprint("google", __name__, url_prefix="/google")

from app.web.google import views  # noqa: E402,F401  (registers the routes)
