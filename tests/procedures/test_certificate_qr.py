"""The certificate's QR code is built with numpy (data placed once, the eight masks
scored together) and is module for module the code qrcode's own `make(fit=True)` draws, for
verify URLs of every length a city's SITE_URL gives (versions 4 to 11, with and without the
version information blocks of version 7 and up)."""

from __future__ import annotations

import random

import qrcode

from procedures.certificates import assets, issuing


def _qrcode_matrix(text: str) -> tuple[int, list[list[bool]]]:
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    return code.version, code.get_matrix()


def test_the_qr_matrix_is_qrcodes_for_every_url_length():
    rng = random.Random(17)
    versions = set()
    for n in range(400):
        host = "https://www.city.machiba.lg.jp" + "/e" * rng.randint(0, 80)
        url = f"{host}/verify/{issuing.new_verification_code()}/?n={n}"
        version, expected = _qrcode_matrix(url)
        versions.add(version)
        assert assets.qr_matrix(url) == expected, url
    assert {4, 6, 7, 10} <= versions
