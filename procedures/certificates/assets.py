"""The certificate's fixed parts: stylesheet and font configuration (loaded once per worker
process and reused: parsing CSS and the IPAex fonts is most of a render's cost), the city's
seal, the QR code and a drawn seal impression for the demo seal register.

Where a render's time went (cProfile, bench/certificates.py): a QR code drawn as an SVG path
cost WeasyPrint more than the rest of the page's drawing (some 2,700 path commands parsed and
drawn per certificate), so the QR is a bitmap of one pixel per module, shown without smoothing
(`image-rendering: pixelated` in certificate.css): the same sharp squares on screen and paper.
The seal writes its characters in the body's "Cert Mincho" (the same IPAex Mincho file), so the
PDF embeds and subsets that font once rather than a second copy under the system name.
"""

from __future__ import annotations

import base64
import html
import io
from functools import cache
from pathlib import Path

import qrcode
from PIL import Image
from weasyprint import CSS
from weasyprint.text.fonts import FontConfiguration

ASSETS = Path(__file__).resolve().parent / "static"


@cache
def font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def stylesheet() -> CSS:
    return CSS(filename=str(ASSETS / "certificate.css"), font_config=font_config())


@cache
def city_seal_uri() -> str:
    return data_uri((ASSETS / "city_seal.svg").read_bytes(), "image/svg+xml")


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def qr_png_uri(text: str) -> str:
    """The QR code of `text` as a PNG of one pixel per module with a one-module quiet zone
    (the stylesheet scales it up unsmoothed; error correction M, as before)."""
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    image = Image.new("1", (len(matrix), len(matrix)))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return data_uri(buffer.getvalue(), "image/png")


def seal_impression_svg(family_name: str) -> str:
    """A round red seal with the family name written top to bottom (demo impressions)."""
    chars = list(family_name[:3]) or ["印"]
    size = 64 // len(chars) if len(chars) > 1 else 44
    step = 80 / len(chars)
    texts = "".join(
        f'<text x="50" y="{10 + step * (i + 0.5) + size * 0.35:.1f}">{html.escape(c)}</text>'
        for i, c in enumerate(chars)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">'
        '<circle cx="50" cy="50" r="45" fill="none" stroke="#c8161d" stroke-width="5"/>'
        f'<g fill="#c8161d" font-family="IPAexMincho" font-size="{size}" text-anchor="middle">'
        f"{texts}</g></svg>"
    )
