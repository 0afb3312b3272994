"""Notice templates: ((field)) placeholders and the three renderings (pure; no ORM).

GOV.UK Notify's convention: a placeholder is a field name in double round brackets,
``((due_date))``. A template names the fields it uses; a send or an event provides fields; a
template may only be used where every field it names is provided (checked when composing and
when saving an event template), so no resident ever reads "((name))".

One body, written Markdown-ish (paragraphs, `#` headings, `-` lists, `**bold**`, links), gives:
- the portal inbox: the Markdown as sanitised HTML;
- e-mail: the same HTML part and a plain-text part;
- LINE: plain text (LINE shows no markup), from the template's own LINE text when it has one.
Values are escaped before they meet the Markdown, so a resident's name can never inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

PLACEHOLDER = re.compile(r"\(\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\)")
# LINE's text message limit (Messaging API: text up to 5,000 characters).
LINE_TEXT_LIMIT = 5000

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_ALLOWED_TAGS = {"p", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "br", "hr"}
_ALLOWED_ATTRIBUTES = {"a": {"href"}}
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def fields_in(*texts: str) -> list[str]:
    """The placeholder names used in the texts, in order of first use."""
    seen: list[str] = []
    for text in texts:
        for name in PLACEHOLDER.findall(text or ""):
            if name not in seen:
                seen.append(name)
    return seen


def missing_fields(texts: Iterable[str], provided: Iterable[str]) -> list[str]:
    """Placeholders the texts use that `provided` does not give."""
    available = set(provided)
    return [name for name in fields_in(*texts) if name not in available]


def _fill(text: str, values: Mapping[str, object], *, escape) -> str:
    def replace(match: re.Match) -> str:
        value = values.get(match.group(1))
        return escape("" if value is None else str(value))

    return PLACEHOLDER.sub(replace, text or "")


def _escape_markdown(value: str) -> str:
    return _MARKDOWN_SPECIALS.sub(r"\\\1", value)


def fill_plain(text: str, values: Mapping[str, object]) -> str:
    return _fill(text, values, escape=lambda value: value)


def markdown_to_html(markdown: str) -> str:
    html = _markdown.render(markdown or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\3(?![\w*])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*[-*+]\s+", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]<>()#+\-.!|~])")


def markdown_to_text(markdown: str) -> str:
    """Plain text a person reads in a mail client or LINE: links as "text (URL)", bullets as
    "・", headings and emphasis without their marks."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", markdown or "")
    text = _HEADING.sub("", text)
    text = _BULLET.sub("・", text)
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(4) or "", text)
    text = _ESCAPED.sub(r"\1", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    line: str


def render(
    *, subject: str, body: str, line: str, values: Mapping[str, object], link: str = ""
) -> Rendered:
    """The three renderings of one template text for one recipient's values. `link` (an
    absolute URL to the notice in the portal) ends the e-mail text and the LINE message."""
    filled_subject = fill_plain(subject, values)
    markdown = _fill(body, values, escape=_escape_markdown)
    text = markdown_to_text(markdown)
    line_text = _line(filled_subject, text, line, values, link)
    if link:
        text = f"{text}\n\n{link}"
    return Rendered(
        subject=filled_subject, html=markdown_to_html(markdown), text=text, line=line_text
    )


def _line(filled_subject: str, text: str, line: str, values: Mapping[str, object], link: str):
    if line.strip():
        line_text = fill_plain(line, values).strip()
    else:
        line_text = f"{filled_subject}\n\n{text}"
    if link:
        line_text = f"{line_text}\n\n{link}"
    if len(line_text) > LINE_TEXT_LIMIT:
        line_text = line_text[: LINE_TEXT_LIMIT - 1] + "…"
    return line_text


def render_line(
    *, subject: str, body: str, line: str, values: Mapping[str, object], link: str = ""
) -> str:
    """Only the LINE text, as `render(...).line` gives it: a template with its own LINE text
    needs neither the body's Markdown nor its HTML (the costly part when batching LINE)."""
    if line.strip():
        return _line("", "", line, values, link)
    text = markdown_to_text(_fill(body, values, escape=_escape_markdown))
    return _line(fill_plain(subject, values), text, line, values, link)
