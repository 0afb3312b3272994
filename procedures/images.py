"""Uploaded images (scans and photos of documents): decoded with a pixel limit, turned upright,
and re-encoded without their metadata before they are stored.

A phone photo carries EXIF: where it was taken (GPS), when, on which device; none of it belongs
to the city, so it is dropped (個人情報保護法: collect no more than the purpose needs). Decoding
first also refuses a file that claims to be a PNG or JPEG but is not one, and a "decompression
bomb" (a small file that declares an enormous picture) before it is decoded. Pure functions on
bytes (Pillow only), shared by the service and the tests.
"""

from __future__ import annotations

import io
import warnings

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}

MSG_NOT_AN_IMAGE = _("画像を読み込めません。")
MSG_TOO_MANY_PIXELS = _("画像が大きすぎます（%(limit)s画素まで）。")


def is_image(content_type: str) -> bool:
    return content_type in _FORMATS


def clean_image(data: bytes, *, content_type: str, max_pixels: int) -> bytes:
    """The image re-encoded in its own format, upright, without EXIF or other metadata.

    Raises ValueError with a message for people when it is not a readable image of that type or
    has more than `max_pixels` pixels (checked from the header, before decoding).
    """
    wanted = _FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != wanted:
                    raise ValueError(str(MSG_NOT_AN_IMAGE))
                if image.width * image.height > max_pixels:
                    raise ValueError(MSG_TOO_MANY_PIXELS % {"limit": f"{max_pixels:,}"})
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(str(MSG_NOT_AN_IMAGE)) from exc
    except Image.DecompressionBombWarning as exc:
        raise ValueError(MSG_TOO_MANY_PIXELS % {"limit": f"{max_pixels:,}"}) from exc
    # Nothing of the original's metadata is written back: no EXIF, ICC, XMP or text chunks.
    upright.info = {}
    out = io.BytesIO()
    if wanted == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=90, optimize=True)
    else:
        upright.save(out, "PNG", optimize=True)
    return out.getvalue()
