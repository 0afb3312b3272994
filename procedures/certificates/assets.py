"""The certificate's fixed parts: stylesheet and font configuration (loaded once per worker
process and reused: parsing CSS and the IPAex fonts is most of a render's cost), the city's
seal, the QR code and a drawn seal impression for the demo seal register."""

from __future__ import annotations

import base64
import html
from functools import cache
from pathlib import Path

import qrcode
import qrcode.image.svg
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


def qr_svg_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=1)
    return data_uri(image.to_string(), "image/svg+xml")


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
