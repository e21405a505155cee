"""Opening uploaded pictures without decoding a decompression bomb.

Pillow reads the size from the header when it opens a file and refuses sizes above
``Image.MAX_IMAGE_PIXELS`` (a warning up to twice that, an error beyond); both are
turned into :class:`ImageTooLargeError` here, before any pixel is decoded, so a 99-byte
PNG claiming 20 000 x 20 000 costs nothing. Callers keep their own, smaller limits.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

MAX_IMAGE_PIXELS = 25_000_000  # the largest picture any caller accepts (a 25 MP photo)
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageTooLargeError(ValueError):
    """The header claims more pixels than any caller accepts."""


def open_image(data: bytes, formats: list[str] | None = None) -> Image.Image:
    """The picture, opened lazily (its header read, nothing decoded); raises
    ImageTooLargeError, or Pillow's UnidentifiedImageError/OSError for non-pictures."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(str(exc)) from None
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageTooLargeError(f"{image.width}x{image.height} pixels")
    return image
