"""``/metrics`` in Prometheus text format, and the per-request counters behind it.

Requests are labelled by route template (``/c/<card_id>``), never by the concrete path:
card ids are capabilities. The scrape sums every process's counters from the shared
metrics directory and adds figures read from the database at scrape time.

Access: with ``WALLETPASS_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``;
without it, only direct loopback clients (a request that came through a proxy, i.e.
carries forwarding headers, is refused even when the proxy is on this machine).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable, Iterator

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from app import metrics
from app.bootstrap import Services
from app.services import gauges
from app.web.health import reason

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FORWARDING = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


class DatabaseFigures(Collector):
    """Gauges computed when scraped: passes owed per channel, queue depth, running
    campaigns. A source that cannot be read reports ``walletpass_scrape_source_up 0``
    instead of failing the whole scrape."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "walletpass_scrape_source_up",
            "Whether a source of scrape-time figures could be read (1) or not (0).",
            labels=["source"],
        )
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except Exception as exc:  # one line per scrape, not a traceback every 15 s
            log.warning("metrics: database figures could not be read: %s", reason(exc))
            up.add_metric(["database"], 0)
        try:
            depth = self.services.queue.pending()
        except Exception as exc:
            log.warning("metrics: queue depth could not be read: %s", reason(exc))
            up.add_metric(["queue"], 0)
        else:
            yield GaugeMetricFamily(
                "walletpass_queue_depth", "Tasks waiting in the queue.", value=depth
            )
            up.add_metric(["queue"], 1)
        yield up

    def _database(self) -> Iterable[Metric]:
        now = self.services.clock.now()
        with self.services.transaction(write=False) as session:
            owed = gauges.owed(session)
            running = gauges.running_campaigns(session)
        passes = GaugeMetricFamily(
            "walletpass_passes_owed",
            "Passes whose current version the channel has not delivered yet.",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "walletpass_passes_owed_oldest_seconds",
            "Age of the oldest change still owed on the channel (0 when none).",
            labels=["channel"],
        )
        for channel, figure in owed.items():
            passes.add_metric([channel], figure.passes)
            age = (now - figure.oldest_change).total_seconds() if figure.oldest_change else 0
            oldest.add_metric([channel], max(age, 0.0))
        families = {
            name: GaugeMetricFamily(
                f"walletpass_campaign_{name}", help_text, labels=["campaign", "program", "status"]
            )
            for name, help_text in (
                ("targets", "Cards a running campaign chose (holdout included)."),
                ("holdout", "Targets kept back as holdout."),
                ("applied", "Targets whose card got the offer."),
                ("delivered", "Applied targets delivered to every registered Apple device."),
            )
        }
        for item in running:
            labels = [str(item.campaign_id), item.program, item.status]
            p = item.progress
            families["targets"].add_metric(labels, p.targets)
            families["holdout"].add_metric(labels, p.holdout)
            families["applied"].add_metric(labels, p.applied)
            families["delivered"].add_metric(labels, p.pushed)
        return [passes, oldest, *families.values()]


def _allowed(token: str | None) -> tuple[bool, int]:
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )
        return ok, 401
    if any(h in request.headers for h in _FORWARDING):
        return False, 403
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback, 403
    except ValueError:
        return False, 403


def init_app(app: Flask) -> None:
    """Call first in create_app, so the timing wraps every other hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _record(response: Response) -> Response:
        started: float | None = g.pop("_metrics_started", None)
        if started is not None:  # once, even when an error response is finalised again
            rule = request.url_rule
            metrics.observe_request(
                request.method,
                rule.rule if rule is not None else "unmatched",
                response.status_code,
                time.perf_counter() - started,
            )
        return response

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        services: Services = current_app.extensions["walletpass"]
        ok, status = _allowed(services.settings.metrics_token)
        if not ok:
            response = Response("metrics: not allowed\n", status=status, mimetype="text/plain")
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        registry = CollectorRegistry(auto_describe=False)
        directory = metrics.directory()
        if directory is not None:
            registry.register(metrics.SharedCollector(directory))
        registry.register(DatabaseFigures(services))
        return Response(generate_latest(registry), content_type=CONTENT_TYPE)


def _start() -> None:
    g._metrics_started = time.perf_counter()
