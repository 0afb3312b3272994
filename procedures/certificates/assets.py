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

import numpy as np
import qrcode
from numpy.lib.stride_tricks import sliding_window_view
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
    matrix = qr_matrix(text)
    image = Image.new("1", (len(matrix), len(matrix)))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return data_uri(buffer.getvalue(), "image/png")


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules of qrcode's `make(fit=True)` for `text` (its version, data and error
    correction codewords, and its choice of mask), with the data placed and the eight masks
    scored by numpy: qrcode places the data nine times and scores each try in Python loops,
    which cost a tenth of a certificate's CPU time."""
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.best_fit()
    code.data_cache = qrcode.util.create_data(code.version, code.error_correction, code.data_list)
    n = code.version * 4 + 17
    data, (rows, cols) = _data_modules(code.version)
    bits = np.unpackbits(np.array(code.data_cache, dtype=np.uint8))[: len(rows)]
    unmasked = np.zeros((n, n), dtype=bool)
    unmasked[rows[: len(bits)], cols[: len(bits)]] = bits
    i, j = np.indices((n, n))
    masked = [unmasked ^ (data & mask(i, j)) for mask in _MASKS]
    # qrcode scores each mask on a test matrix whose format and version areas are light.
    patterns = _function_modules(code, test=True, mask=0)
    best = int(np.argmin(_penalties(patterns | np.stack(masked))))
    code.modules = (_function_modules(code, test=False, mask=best) | masked[best]).tolist()
    code.modules_count = n
    return code.get_matrix()


def _function_modules(code: qrcode.QRCode, *, test: bool, mask: int) -> np.ndarray:
    """The finder, alignment and timing patterns and the format (and version) information,
    drawn as qrcode's makeImpl draws them before placing the data; data modules light."""
    n = code.version * 4 + 17
    code.modules_count = n
    code.modules = [[None] * n for _ in range(n)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(n - 7, 0)
    code.setup_position_probe_pattern(0, n - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(test, mask)
    if code.version >= 7:
        code.setup_type_number(test)
    return np.array([[bool(module) for module in row] for row in code.modules])


@cache
def _data_modules(version: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Which modules of a `version` code hold data, and the order qrcode's map_data fills them
    (two-module columns from the right, upwards then downwards, skipping the timing column)."""
    code = qrcode.QRCode(version=version)
    _function_modules(code, test=True, mask=0)
    n = version * 4 + 17
    free = np.array([[module is None for module in row] for row in code.modules])
    order = []
    row, step = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if free[row, c]:
                    order.append((row, c))
            row += step
            if row < 0 or row >= n:
                row -= step
                step = -step
                break
    rows, cols = (np.array(axis) for axis in zip(*order, strict=True))
    return free, (rows, cols)


# The eight masks of JIS X 0510 / ISO/IEC 18004 (8.8.1), as qrcode.util.mask_func has them.
_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
)
_FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


def _penalties(tries: np.ndarray) -> np.ndarray:
    """qrcode.util.lost_point of each of the stacked matrices: runs of five or more, 2x2
    blocks, finder-like patterns, and the dark share's distance from half."""
    count, n, _ = tries.shape
    points = np.zeros(count, dtype=np.int64)
    for lines in (tries, tries.transpose(0, 2, 1)):
        # Runs in every row (column), rows joined by a value that matches nothing.
        joined = np.full((count, n, n + 1), 2, dtype=np.int8)
        joined[:, :, :n] = lines
        flat = joined.ravel()
        bounds = np.concatenate(([0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]))
        lengths = np.diff(bounds)
        starts = bounds[:-1]
        long = (flat[starts] != 2) & (lengths >= 5)
        points += np.bincount(
            starts[long] // (n * (n + 1)), weights=lengths[long] - 2, minlength=count
        ).astype(np.int64)
        windows = sliding_window_view(lines, 11, axis=2)
        for pattern in _FINDER_LIKE:
            points += 40 * (windows == pattern).all(axis=3).sum(axis=(1, 2))
    top_left = tries[:, :-1, :-1]
    blocks = (
        (top_left == tries[:, :-1, 1:])
        & (top_left == tries[:, 1:, :-1])
        & (top_left == tries[:, 1:, 1:])
    )
    points += 3 * blocks.sum(axis=(1, 2))
    for k in range(count):
        percent = float(int(tries[k].sum())) / (n**2)
        points[k] += int(abs(percent * 100 - 50) / 5) * 10
    return points


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
