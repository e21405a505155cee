"""Reading a QR code from a camera frame (server side, with zxing-cpp)."""

from __future__ import annotations

import zxingcpp
from PIL import UnidentifiedImageError

from app.posters.pixels import open_image

MAX_PIXELS = 4_000_000


def decode_barcode(data: bytes) -> str | None:
    """The text of the first QR code in the image, or None (also for non-images)."""
    try:
        with open_image(data) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    for result in results:
        if result.text:
            return str(result.text)
    return None
