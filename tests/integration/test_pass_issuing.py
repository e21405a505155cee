"""Issued Apple passes: signature, manifest, pass.json and localizations."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty import rules
from app.loyalty.models import Card, Program, Store
from app.services import cards, enrollment
from tests.helpers import PASS_TYPE_ID, TEAM_ID, Pkpass

REQUIRED_KEYS = {
    "formatVersion",
    "passTypeIdentifier",
    "serialNumber",
    "teamIdentifier",
    "organizationName",
    "description",
    "storeCard",
}


def enroll(session: Session, services: Services, program: Program, **overrides: object) -> Card:
    form = {"name": "Анна Петрова", "phone": "+7 900 123-45-67", "consent": True, **overrides}
    data = enrollment.validate(
        enrollment.EnrollmentForm(**form), program, services.clock.now().date()
    )
    card = enrollment.enroll(session, services.clock, program, data)
    session.commit()
    return card


def issue(session: Session, services: Services, card: Card) -> Pkpass:
    return Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))


def openssl_verify(tmp_path: Path, p: Pkpass, chain_dir: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "signature").write_bytes(p.files["signature"])
    (tmp_path / "manifest.json").write_bytes(p.files["manifest.json"])
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(chain_dir / "root.pem"),
            "-certfile",
            str(chain_dir / "wwdr.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_issued_pass_verifies_with_openssl_against_the_test_chain(
    session: Session, services: Services, demo: Program, tmp_path: Path, locale: str
) -> None:
    card = enroll(session, services, demo, locale=locale)
    p = issue(session, services, card)
    result = openssl_verify(tmp_path, p, services.settings.dev_certs_dir)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


def test_a_tampered_pass_fails_verification(
    session: Session, services: Services, demo: Program, tmp_path: Path
) -> None:
    p = issue(session, services, enroll(session, services, demo))
    p.files["manifest.json"] = p.files["manifest.json"].replace(b"pass.json", b"pass.jsom")
    assert openssl_verify(tmp_path, p, services.settings.dev_certs_dir).returncode != 0


def test_manifest_lists_every_file_with_its_sha1(
    session: Session, services: Services, demo: Program
) -> None:
    p = issue(session, services, enroll(session, services, demo))
    listed = set(p.manifest)
    assert listed == set(p.files) - {"manifest.json", "signature"}
    for name, digest in p.manifest.items():
        assert hashlib.sha1(p.files[name]).hexdigest() == digest, name  # noqa: S324
    for image in ("icon.png", "icon@2x.png", "icon@3x.png", "logo.png", "strip@3x.png"):
        assert image in listed


def test_pass_json_is_a_complete_updatable_store_card(
    session: Session, services: Services, demo: Program
) -> None:
    card = enroll(session, services, demo)
    data = issue(session, services, card).pass_json
    assert set(data) >= REQUIRED_KEYS
    assert data["formatVersion"] == 1
    assert data["passTypeIdentifier"] == PASS_TYPE_ID
    assert data["teamIdentifier"] == TEAM_ID
    assert data["webServiceURL"] == "https://wallet.example.test/passkit"
    token = data["authenticationToken"]
    assert isinstance(token, str) and len(token) >= 16
    assert data["backgroundColor"] == "rgb(31, 58, 95)"
    keys = [f["key"] for slot in data["storeCard"].values() for f in slot]
    assert len(keys) == len(set(keys)), "field keys must be unique across the pass"
    fields = {f["key"]: f for slot in data["storeCard"].values() for f in slot}
    assert fields["balance"]["value"] == 0
    assert "%@" in fields["balance"]["changeMessage"]
    assert fields["discount"]["value"] == "7\u00a0%"
    assert "%@" in fields["offer"]["changeMessage"]
    assert fields["member"]["value"] == "Анна Петрова"
    for slot in ("primaryFields", "backFields"):
        assert all("textAlignment" not in f for f in data["storeCard"][slot])
    # The phone number never appears on the pass.
    assert "9001234567" not in issue(session, services, card).files["pass.json"].decode()


def test_barcode_is_a_qr_with_the_unforgeable_card_code(
    session: Session, services: Services, demo: Program
) -> None:
    card = enroll(session, services, demo)
    data = issue(session, services, card).pass_json
    (barcode,) = data["barcodes"]
    assert barcode["format"] == "PKBarcodeFormatQR"
    assert barcode["messageEncoding"] == "iso-8859-1"
    barcode["message"].encode("iso-8859-1")
    assert rules.parse_barcode(barcode["message"]) == (card.number, card.barcode_secret)
    assert barcode["altText"] == rules.format_card_number(card.number)
    assert data["barcode"] == barcode


@pytest.mark.parametrize("member_locale", ["ru", "en"])
def test_both_localizations_parse_and_translate_every_text(
    session: Session, services: Services, demo: Program, member_locale: str
) -> None:
    p = issue(session, services, enroll(session, services, demo, locale=member_locale))
    data = p.pass_json
    ru, en = p.strings("ru"), p.strings("en")
    texts = [data["description"]] + [
        f[k]
        for slot in data["storeCard"].values()
        for f in slot
        for k in ("label", "value", "changeMessage")
        if isinstance(f.get(k), str)
    ]
    # Texts that read the same in every language (names, numbers, links, "%@")
    # need no entry; everything else must be translated into both languages.
    neutral = {
        "Анна Петрова",
        "7\u00a0%",
        "%@",
        demo.terms_url,
        demo.website_url,
        demo.support_phone,
    }
    for text in texts:
        if text in neutral or text.replace(" ", "").isdigit():
            continue
        assert text in ru and text in en, f"{text!r} is not localized"
    other = "en" if member_locale == "ru" else "ru"
    table = p.strings(other)
    assert all(table[text] != text for text in texts if text in table and text != "%@")
    balance_label = next(f["label"] for f in data["storeCard"]["primaryFields"])
    assert ru[balance_label] == "Баллы"
    assert en[balance_label] == "Points"


def test_store_locations_make_the_card_relevant_nearby(
    session: Session, services: Services, demo: Program
) -> None:
    for i in range(12):
        session.add(
            Store(
                program_id=demo.id,
                code=f"s{i}",
                name=f"Store {i}",
                latitude=55.0 + i,
                longitude=37.0,
            )
        )
    session.commit()
    session.expire(demo, ["stores"])
    data = issue(session, services, enroll(session, services, demo)).pass_json
    assert len(data["locations"]) == 10  # Apple's maximum
    assert data["locations"][0]["latitude"] == pytest.approx(55.7579)
    assert "relevantText" in data["locations"][0]


def test_identical_state_gives_an_identical_pass_apart_from_the_signature_time(
    session: Session, services: Services, demo: Program
) -> None:
    card = enroll(session, services, demo)
    a, b = issue(session, services, card), issue(session, services, card)
    assert a.files["pass.json"] == b.files["pass.json"]
    assert a.manifest == b.manifest
