from flask import Blueprint

bp = Blueprint("pos", __name__)

from app.web.pos import api, enrollments, page, reads  # noqa: E402,F401  (registers the routes)
