"""How a certificate is drawn, where that decides how fast a worker renders it: the QR code is a
sharp bitmap of the verification URL (drawing it as an SVG path cost more than the rest of the
page), and the city seal's characters use the body's Mincho, so the PDF embeds that font once."""

from __future__ import annotations

import io

import pytest
import qrcode
from django.conf import settings
from factories_procedures import approved_application
from pypdf import PdfReader

from procedures.certificates import issuing, storage

ANSWERS = {"purpose": "勤務先に提出", "include": ["relationship"]}


@pytest.fixture
def pdf(resident, residence_procedure, clerk):
    application = approved_application(
        resident, residence_procedure, clerk, ANSWERS | {"members": [str(resident.pk)]}
    )
    certificate = issuing.issue_certificate(application_id=application.pk)
    return certificate, PdfReader(io.BytesIO(storage.read(certificate)))


def test_the_qr_code_is_the_verify_url_one_pixel_a_module_drawn_unsmoothed(pdf):
    certificate, reader = pdf
    page = reader.pages[0]
    images = page.images
    assert len(images) == 1, "the QR code is the page's only bitmap"
    url = f"{settings.SITE_URL.rstrip('/')}/verify/{certificate.verification_code}/"
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    expected = code.get_matrix()
    bitmap = images[0].image.convert("L")
    assert bitmap.size == (len(expected), len(expected))
    drawn = [
        [bitmap.getpixel((x, y)) < 128 for x in range(bitmap.width)] for y in range(bitmap.height)
    ]
    assert drawn == expected
    # Shown without smoothing, a module stays a sharp square however far the PDF is zoomed.
    xobjects = page["/Resources"]["/XObject"]
    (name,) = [n for n in xobjects if xobjects[n].get_object()["/Subtype"] == "/Image"]
    assert xobjects[name].get_object()["/Interpolate"].value is False


def test_the_seal_writes_in_the_body_mincho_so_the_pdf_embeds_three_fonts(pdf):
    _, reader = pdf
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = sorted(str(fonts[key].get_object()["/BaseFont"]).split("+", 1)[1] for key in fonts)
    assert names == ["Cert-Gothic", "Cert-Mincho", "Cert-Mincho-Bold"]
