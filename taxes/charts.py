"""A bar chart drawn on the server as SVG (no script, no CDN; the page's CSP stays strict).

Screen readers get the same figures from the table printed under the chart; the SVG has a title
and each bar a <title> with its numbers.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 760
BAR_AREA = 260
LEFT = 230
ROW = 34


def bracket_label(low: int, high: int | None) -> str:
    if low == 0 and high == 1:
        return _("0円（非課税）")
    if high is None:
        return _("%(low)s円以上") % {"low": f"{low:,}"}
    return _("%(low)s〜%(high)s円") % {"low": f"{low:,}", "high": f"{high - 1:,}"}


def levy_by_bracket(rows: list[dict]) -> SafeString:
    """Horizontal bars: the number of taxpayers per bracket of the annual amount, with the
    bracket's total levy written beside each bar."""
    top = max([row["count"] for row in rows] + [1])
    height = ROW * len(rows) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'class="chart" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(_("年税額の区分ごとの納税義務者数と税額"))}</title>',
    ]
    for index, row in enumerate(rows):
        y = 10 + index * ROW
        width = round(BAR_AREA * row["count"] / top) if row["count"] else 0
        label = bracket_label(row["low"], row["high"])
        figures = _("%(n)s人・%(yen)s円") % {"n": f"{row['count']:,}", "yen": f"{row['levy']:,}"}
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 17}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{LEFT}" y="{y + 4}" width="{max(width, 1)}" height="{ROW - 12}" '
            f'class="chart-bar"><title>{escape(label)}: {escape(figures)}</title></rect>'
            f'<text x="{LEFT + max(width, 1) + 6}" y="{y + 17}" class="chart-value">'
            f"{escape(figures)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
