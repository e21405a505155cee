"""Flask delivery layer: create_app() wires blueprints to the services."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from app.bootstrap import Services, build_services
from app.bounds import MAX_ID
from app.settings import RateLimit, Settings

log = logging.getLogger(__name__)


def _up_to(limit: int) -> str:
    """A regex of the numbers 1..limit without leading zeros."""
    digits = str(limit)
    options = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(d) > low:
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{low}-{int(d) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<id:name>``: a database id (1..2^31-1); a longer number is 404, not an
    overflow in the database driver. The range is in the regex, not a check after the
    match: werkzeug would answer a failed check 405 when another method's route shares
    the path (PATCH /campaigns/<huge> next to GET)."""

    regex = _up_to(MAX_ID)

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    from app.web import access_log, db, errors, health, i18n, json_limits, security
    from app.web import metrics as web_metrics
    from app.web.api import bp as api_bp
    from app.web.console import bp as console_bp
    from app.web.google import bp as google_bp
    from app.web.join import bp as join_bp
    from app.web.passkit import bp as passkit_bp
    from app.web.pos import bp as pos_bp

    services = services or build_services(settings)
    settings = services.settings
    app = Flask(__name__)
    app.url_map.converters["id"] = IdConverter
    app.json = json_limits.BoundedJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
        TESTING=settings.env == "test",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    app.json.ensure_ascii = False
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.extensions["walletpass"] = services
    web_metrics.init_app(app)  # first: its timing wraps every other hook
    health.init_app(app)
    # Limits by bucket; the counters are shared by all processes (services.limiter).
    app.extensions["walletpass_limits"] = {
        "enroll": settings.enroll_rate_limit,  # per client address
        "enroll_phone": settings.enroll_phone_rate_limit,
        "login": settings.login_rate_limit,  # per client address
        "login_account": settings.login_account_rate_limit,
        "pos": settings.pos_rate_limit,  # per terminal
        "pos_pair": RateLimit(10, 900),  # per client address: till pairing codes
        "passkit_log": RateLimit(120, 60),  # per client address
        "passkit_register": settings.passkit_register_rate_limit,  # per client address
        # Per pass, counted once the pass's token is right (nobody else can spend it).
        "passkit_register_pass": settings.passkit_register_pass_rate_limit,
        "poster": RateLimit(30, 60),  # per client address
        # "Send my card link again" on /join: each one is an SMS or an e-mail we pay for.
        "card_link": RateLimit(10, 3600),  # per client address
        "card_link_phone": RateLimit(3, 86400),  # per phone (normalised)
    }
    # Before the database hooks: its after_request runs after theirs and times the commit.
    access_log.init_app(app, trust_request_id=settings.trusted_proxies > 0)
    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app, https=settings.public_url.startswith("https://"))
    errors.init_app(app)
    app.register_blueprint(join_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(passkit_bp)
    app.register_blueprint(pos_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(google_bp)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", mimetype="text/plain")

    return app
