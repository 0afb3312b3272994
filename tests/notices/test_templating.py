"""Templates: ((field)) placeholders, checks against provided fields, the three renderings."""

from __future__ import annotations

import pytest

from notices import templating
from notices.formatting import display_values


@pytest.mark.parametrize(
    ("texts", "provided", "missing"),
    [
        (["((name)) 様"], ["name"], []),
        (["((name)) 様、((due_date))まで"], ["name"], ["due_date"]),
        (["(( amount ))円"], ["name"], ["amount"]),
        (["((district))", "((district)) ((kind))"], ["district"], ["kind"]),
        (["(name) と {{name}} は差し込みではない"], [], []),
    ],
)
def test_missing_fields_names_each_placeholder_not_provided(texts, provided, missing):
    assert templating.missing_fields(texts, provided) == missing


def test_values_are_escaped_before_markdown_so_a_name_cannot_inject_markup():
    rendered = templating.render(
        subject="((name)) 様",
        body="((name)) 様へ **大切な**お知らせ",
        line="",
        values={"name": "<script>alert(1)</script>[x](javascript:alert(1))"},
    )
    assert "<script>" not in rendered.html
    assert "<a" not in rendered.html and "[x](javascript:alert(1))" in rendered.html
    assert "<strong>大切な</strong>" in rendered.html
    assert rendered.subject == "<script>alert(1)</script>[x](javascript:alert(1)) 様"


def test_line_text_is_plain_and_ends_with_the_link():
    rendered = templating.render(
        subject="件名",
        body="# 見出し\n\n- **一つ目**\n- [詳しく](https://example.jp/a)",
        line="",
        values={},
        link="https://city.example.jp/my/notices/s/1/",
    )
    assert "**" not in rendered.line and "#" not in rendered.line
    assert "・一つ目" in rendered.line
    assert "詳しく (https://example.jp/a)" in rendered.line
    assert rendered.line.endswith("https://city.example.jp/my/notices/s/1/")
    assert rendered.text.endswith("https://city.example.jp/my/notices/s/1/")


def test_own_line_text_wins_over_the_body():
    rendered = templating.render(
        subject="件名", body="本文", line="((name))さんへ短く", values={"name": "山田"}
    )
    assert rendered.line == "山田さんへ短く"


def test_values_read_as_words_per_language():
    values = {
        "due_date": "2026-06-30",
        "amount": 12300,
        "district": "本町地区",
        "district_en": "Honcho",
    }
    assert display_values(values, "ja") == {
        "due_date": "2026年6月30日",
        "amount": "12,300円",
        "district": "本町地区",
    }
    assert display_values(values, "en") == {
        "due_date": "30 June 2026",
        "amount": "12,300 yen",
        "district": "Honcho",
    }


@pytest.mark.parametrize(
    ("line_ja", "line_en"),
    [("", ""), ("((name))さん、((due_date))までです", "Due ((due_date))"), ("短い案内", "")],
)
def test_the_line_text_alone_is_the_line_of_the_full_rendering(line_ja, line_en):
    """LINE batching renders only the LINE text; it must be exactly what the full rendering
    gives, for each recipient, in both languages, with or without the template's own LINE text."""
    from notices.delivery import Renderer
    from notices.models import TemplateVersion

    version = TemplateVersion(
        subject_ja="((name)) 様へのお知らせ",
        subject_en="Notice for ((name))",
        body_ja="# ((name)) 様\n\n- **((due_date))** まで\n- [詳しく](https://example.jp/a)",
        body_en="Dear ((name)),\n\nby **((due_date))**",
        line_ja=line_ja,
        line_en=line_en,
    )
    renderer = Renderer(version, 7)
    people = [
        {"name": "山田 花子", "due_date": "2026-12-01"},
        {"name": "佐藤 *太郎*", "due_date": "2026-12-01"},
        {"name": "山田 花子", "due_date": "2027-01-05"},
    ]
    for language in ("ja", "en"):
        for values in people:
            full = renderer.render(language, values).line
            assert renderer.line(language, values) == full
            assert full.endswith("/my/notices/s/7/")
    if line_ja == "短い案内":
        # One text for everybody: they share one multicast.
        assert len({renderer.line("ja", values) for values in people}) == 1
