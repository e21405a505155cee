"""Shopper pages: the enrollment form, the card page, the pass download, posters."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from flask import Response, abort, redirect, render_template, request, url_for

from app.loyalty import rules
from app.loyalty.errors import AlreadyEnrolledError, ProgramClosedError, ValidationError
from app.passes import install_links
from app.posters.qrcodes import qr_png
from app.services import (
    card_care,
    cards,
    consents,
    enrollment,
    google_save_link,
    installs,
    invites,
    posters,
    programs,
)
from app.web.db import db, services
from app.web.i18n import _, current_locale, discount, number, pgettext
from app.web.join import bp
from app.web.security import csp, csrf_token, csrf_valid
from app.web.shared import enforce_phone_limit, enforce_rate_limit, external_url

if TYPE_CHECKING:
    from app.loyalty.models import Program

PKPASS_MIME = "application/vnd.apple.pkpass"


def _join_page(
    program: Program,
    form: dict[str, str],
    errors: dict[str, str],
    status: int,
    notice: str | None = None,
) -> Response:
    if program.archived_at is not None:
        # An archived program: a clear page, no form (enroll() refuses all the same).
        closed = _(
            "{brand} no longer takes new members: the program is closed. "
            "Cards already issued keep working as the shop announces.",
            brand=program.brand_name,
        )
        return Response(render_template("error.html", message=closed), status=410)
    html = render_template(
        "join.html",
        program=program,
        form=form,
        errors=errors,
        notice=notice,
        csrf=csrf_token(),
        discount=discount(program.default_tier.discount_bp),
        bonus=number(program.registration_bonus),
        bonus_points=program.registration_bonus,
        first_purchase_bonus=program.install_bonus_when != installs.ON_INSTALL,
        # Consent wordings are versioned legal records: each member row keeps the
        # version shown, so they are served from app.services.consents, not the catalog.
        consent_wording={
            "program": consents.PROGRAM.texts[current_locale()],
            "marketing": consents.MARKETING.texts[current_locale()],
        },
    )
    return Response(html, status=status)


@bp.get("/join/<slug>")
def join_form(slug: str) -> Response:
    program = programs.get_program(db(), slug)
    return _join_page(program, {}, {}, 200)


@bp.post("/join/<slug>")
def join_submit(slug: str) -> Response:
    form = {k: request.form.get(k, "") for k in ("name", "phone", "email", "birthday")}
    form["consent"] = "on" if request.form.get("consent") else ""
    form["marketing_consent"] = "on" if request.form.get("marketing_consent") else ""
    if not csrf_valid():
        return _join_page(
            programs.get_program(db(), slug),
            form,
            {},
            400,
            _("The form has expired. Please check your details and send it again."),
        )
    enforce_rate_limit("enroll")
    enforce_phone_limit(slug, form["phone"])
    program = programs.get_program(db(), slug)
    svc = services()
    try:
        data = enrollment.validate(
            enrollment.EnrollmentForm(
                name=form["name"],
                phone=form["phone"],
                email=form["email"],
                birthday=form["birthday"],
                locale=request.form.get("locale") or current_locale(),
                consent=bool(form["consent"]),
                marketing_consent=bool(form["marketing_consent"]),
            ),
            program,
            svc.clock.now().date(),
        )
        card = enrollment.enroll(db(), svc.clock, program, data)
        invites.after_enrollment(
            db(), svc.clock, svc.queue, card, "site", svc.messaging.channels_on
        )
    except ValidationError as exc:
        return _join_page(
            program,
            form,
            exc.fields,
            422,
            notice=pgettext("page.join.errors", "Please correct the fields below."),
        )
    except AlreadyEnrolledError:
        form["link_phone"] = form["phone"]
        return _join_page(
            program, form, {}, 409, notice=_("This phone number already has a card in the program.")
        )
    except ProgramClosedError:
        return _join_page(program, form, {}, 410)
    return redirect(url_for("join.card_page", public_id=card.public_id), code=303)  # type: ignore[return-value]


@bp.post("/join/<slug>/link")
def join_link(slug: str) -> Response:
    """An enrolled shopper asks for their card link again. It goes to the phone (or the
    e-mail on file), never onto this page, and the answer is the same whether or not
    the number is enrolled, so the form cannot tell who is a member."""
    phone_raw = request.form.get("phone", "")
    if not csrf_valid():
        return _join_page(
            programs.get_program(db(), slug),
            {},
            {},
            400,
            _("The form has expired. Please check your details and send it again."),
        )
    enforce_rate_limit("card_link")
    enforce_phone_limit(slug, phone_raw, "card_link_phone")
    program = programs.get_program(db(), slug)
    phone = rules.normalise_phone(phone_raw, program.phone_region)
    if phone is None:
        form = {"link_phone": phone_raw}
        return _join_page(
            program,
            form,
            {"link_phone": "invalid"},
            422,
            pgettext("page.join.errors", "Please correct the fields below."),
        )
    svc = services()
    card_care.request_link(db(), svc.clock, svc.queue, program.id, phone, svc.messaging.channels_on)
    return _join_page(
        program,
        {},
        {},
        200,
        _(
            "If this number has a card in the program, its link is on the "
            "way to the phone (or the e-mail given at enrollment)."
        ),
    )


@bp.get("/c/<public_id>")
def card_page(public_id: str) -> Response:
    tag = request.args.get("i")
    if tag:
        # An invite's link: the open is written in its own short transaction, before the
        # page's read-only one.
        with services().transaction() as write:
            invites.record_open(
                write, services().clock, cards.card_by_public_id(write, public_id), tag
            )
    session = db()
    card = cards.card_by_public_id(session, public_id)
    asked = request.args.get("device", "")
    device = (
        install_links.Device(asked)
        if asked in set(install_links.Device)
        else install_links.device_of(request.headers.get("User-Agent"))
    )
    phone_qr = None
    if device in (install_links.Device.DESKTOP, install_links.Device.MAC):
        # Drawn here, never by a QR service: the card URL is a capability.
        png = qr_png(external_url("join.card_page", public_id=card.public_id), box_size=6)
        phone_qr = "data:image/png;base64," + base64.b64encode(png).decode()
    html = render_template(
        "card.html",
        google=services().google is not None,
        device=device.value,
        devices=[d.value for d in install_links.Device if d is not install_links.Device.MAC],
        android_apps=install_links.apps_for(device, card.program.android_wallet_apps),
        phone_qr=phone_qr,
        card=card,
        program=card.program,
        number=rules.format_card_number(card.number),
        discount=discount(card.tier.discount_bp),
        balance=number(card.balance),
        install_bonus=number(card.program.registration_bonus),
        install_bonus_points=card.program.registration_bonus,
        bonus_hint=installs.bonus_hint(session, card),
    )
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "User-Agent, Accept-Language, Cookie"
    return response


@bp.get("/c/<public_id>/apple.pkpass")
def apple_pass(public_id: str) -> Response:
    svc = services()
    session = db()
    card = cards.card_by_public_id(session, public_id)
    data = cards.apple_pass(session, card, svc.pkpass, svc.templates)
    response = Response(data, mimetype=PKPASS_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{card.program.slug}.pkpass"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/c/<public_id>/qr.png")
def card_qr(public_id: str) -> Response:
    card = cards.card_by_public_id(db(), public_id)
    response = Response(
        qr_png(rules.barcode_value(card.number, card.barcode_secret)), mimetype="image/png"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/join/<slug>/poster.<fmt>")
def poster(slug: str, fmt: str) -> Response:
    if fmt not in ("png", "pdf"):
        abort(404)
    enforce_rate_limit("poster")  # per address; drawing a new poster costs ~0.2 s of CPU
    size = request.args.get("size", "a4").lower()
    if size not in posters.PAPER_SIZES:
        abort(400, description=f"size must be one of {', '.join(posters.PAPER_SIZES)}")
    svc = services()
    program = programs.get_program(db(), slug)
    join_url = external_url("join.join_form", slug=program.slug)
    data = posters.render(
        svc.templates, program, join_url, locale=current_locale(), size=size, fmt=fmt
    )
    response = Response(data, mimetype="application/pdf" if fmt == "pdf" else "image/png")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{program.slug}-poster-{size}.{fmt}"'
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/programs/<slug>/images/<name>")
def program_image(slug: str, name: str) -> Response:
    """A program's template images (Google Wallet fetches its logo and hero image here)."""
    program = programs.get_program(db(), slug)
    image = cards.template_of(program, services().templates).images.get(name)
    if image is None:
        abort(404)
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/c/<public_id>/google")
def google_save(public_id: str) -> Response:
    """Insert (or update) the card's Google object, then send the shopper to Google's
    save page. No transaction is open while Google is called."""
    svc = services()
    google = svc.google
    if google is None:
        abort(404)
    url = google_save_link.for_card(
        svc.transaction,
        svc.clock,
        google.client,
        google.account,
        svc.templates,
        google.settings.issuer_id,
        svc.settings.public_url,
        public_id,
    )
    return redirect(url, code=303)  # type: ignore[return-value]


@bp.get("/u/<token>")
def unsubscribe_page(token: str) -> Response:
    """The List-Unsubscribe link of an invite e-mail: a page with one button (a GET
    never unsubscribes, mail scanners follow links)."""
    html = render_template("unsubscribe.html", token=token, csrf=csrf_token(), done=False)
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/u/<token>")
def unsubscribe(token: str) -> Response:
    """One-click unsubscribe (RFC 8058: the mail client POSTs without a form token) or
    the page's button; both withdraw the marketing consent."""
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if not one_click and not csrf_valid():
        abort(400)
    if not invites.unsubscribe(db(), services().clock, token):
        abort(404)
    return Response(render_template("unsubscribe.html", token=token, csrf="", done=True))


@bp.after_request
def _brand_colours(response: Response) -> Response:
    """The join and card pages carry the program's colours in a style attribute."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", csp(inline_styles=True))
    return response
