"""Posters served to store staff: /join/<program>/poster.png and .pdf."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image

from app.loyalty.models import Program


@pytest.mark.parametrize(("lang", "size"), [("ru", "a4"), ("en", "a5")])
def test_poster_png_qr_decodes_to_the_public_join_url(
    client: FlaskClient, demo: Program, lang: str, size: str
) -> None:
    response = client.get(f"/join/demo/poster.png?size={size}&lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    found = zxingcpp.read_barcodes(image)
    assert [r.text for r in found] == ["https://wallet.example.test/join/demo"]
    width_mm = image.width / 150 * 25.4
    assert width_mm == pytest.approx({"a4": 210, "a5": 148}[size], abs=1)


def test_poster_pdf_is_a_printable_page(client: FlaskClient, demo: Program) -> None:
    response = client.get("/join/demo/poster.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert 'filename="demo-poster-a4.pdf"' in response.headers["Content-Disposition"]


def test_poster_rejects_unknown_sizes_formats_and_programs(
    client: FlaskClient, demo: Program
) -> None:
    assert client.get("/join/demo/poster.png?size=a0").status_code == 400
    assert client.get("/join/demo/poster.gif").status_code == 404
    assert client.get("/join/nope/poster.png").status_code == 404
