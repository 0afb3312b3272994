"""A check usable on any page: what a person reads holds no Python dict, no id field, no boolean
or None, and no raw state code (STYLE.md "What a person reads").

`visible_text(html)` keeps the text a browser shows (not scripts, styles, the head, `hidden`
elements or attribute values); `assert_readable(text, lang=...)` fails naming what leaked.
State codes are collected from every model's choices (states, kinds, channels …), so a new state
is covered without editing this file.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser

from django.apps import apps

_SKIPPED = {"script", "style", "head", "template", "noscript"}
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
# Inline elements run on with the text around them; every other element is a break.
_INLINE = {"a", "abbr", "b", "bdi", "code", "em", "i", "kbd", "mark", "q", "s", "small", "span"}
_INLINE |= {"strong", "sub", "sup", "time", "u", "var"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            self.parts.append(" ")
            return
        names = {name for name, _value in attrs}
        hidden = tag in _SKIPPED or "hidden" in names
        self.stack.append((tag, hidden))
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._hidden():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


@cache
def state_codes() -> frozenset[str]:
    """Every stored choice value of every model field (draft, in_review, no_show …) that is a
    code rather than a word a page would print: lower-case ASCII identifiers."""
    codes = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value):
                    codes.add(value)
    return frozenset(codes)


_PYTHON_LEAKS = [
    (re.compile(r"\{'"), "a Python dict ({')"),
    (re.compile(r"\{\""), 'a JSON object ({")'),
    (re.compile(r"\b[a-z]+_id\b"), "an id field (…_id)"),
    (re.compile(r"\b(True|False)\b"), "a Python value (True/False)"),
    (re.compile(r"<[a-zA-Z]+ object at 0x"), "an object repr"),
]
# On a Japanese page "None" is Python's; on an English page it is also a word ("Attachments: None").
_NONE = re.compile(r"\bNone\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def leaks(text: str, *, lang: str = "ja") -> list[str]:
    """What in `text` a person should not have to read."""
    # An e-mail address ("resident@demo.machiba.jp") is data the person typed, not a code.
    text = _EMAIL.sub(" ", text)
    patterns = _PYTHON_LEAKS + ([(_NONE, "a Python value (None)")] if lang != "en" else [])
    found = [f"{why}: …{m.group(0)}…" for pattern, why in patterns if (m := pattern.search(text))]
    for code in sorted(state_codes()):
        if "_" in code:
            # A code with an underscore ("in_review", "no_show") is never a word.
            pattern = rf"(?<![A-Za-z0-9_./#-]){code}(?![A-Za-z0-9_./-])"
        elif lang == "en":
            # On an English page a one-word code ("draft", "done") is also a plain word.
            continue
        else:
            # On a Japanese page a lone English word that is a code ("draft → submitted") is a
            # leak; one inside an English phrase ("Fee paid") is a language problem, not a code.
            pattern = rf"(?<![A-Za-z0-9_./#-])(?<![A-Za-z] ){code}(?![A-Za-z0-9_./-])(?! [A-Za-z])"
        if re.search(pattern, text):
            found.append(f"a raw state code: {code}")
    return found


def assert_readable(text: str, *, lang: str = "ja", where: str = "") -> None:
    problems = leaks(text, lang=lang)
    assert not problems, f"{where}: {problems}\n{text[:2000]}"
