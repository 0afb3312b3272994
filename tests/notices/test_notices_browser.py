"""In Chromium: a clerk composes a notice (one field wrong first), a supervisor approves it, it
is sent, and the resident finds it in their inbox. The pages are walked on a phone (390 px) and
a desktop (1366 px), in Japanese and English, with axe-core; screenshots go to var/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.axe_staff import assert_no_axe_violations
from notices_helpers import resident_with_account, template
from playwright.sync_api import expect

from factories import PASSWORD, TOTP_SECRET
from notices import delivery, services
from notices.models import Send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect.set_options(timeout=15_000)
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _context(browser, live_server, *, width: int, language: str):
    context = browser.new_context(
        locale="ja-JP" if language == "ja" else "en-US",
        base_url=live_server.url,
        viewport={"width": width, "height": 900},
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def test_compose_approve_send_and_read_in_the_inbox(
    browser, live_server, clerk, supervisor, login_in_browser, settings
):
    settings.NOTICES_APPROVAL_THRESHOLD = 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    resident, user = resident_with_account(address="若葉台2丁目5番1号")
    template(key="wakaba", topic="events", body="((name)) 様\n\n**若葉台の夏祭り**のお知らせです。")

    context, page = _context(browser, live_server, width=1366, language="ja")
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/notices/new/")
    page.select_option("#id_template", label="テスト wakaba（イベント）")
    page.get_by_role("button", name="次へ（配信対象を選ぶ）").click()
    expect(page.get_by_role("heading", name="配信対象を選ぶ")).to_be_visible()
    # One field wrong: an age band upside down.
    page.fill("#id_age_min", "60")
    page.fill("#id_age_max", "20")
    page.get_by_role("button", name="人数を数える").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("年齢の上限は下限以上にしてください。")
    expect(page.locator("#id_age_min")).to_have_value("60")
    page.screenshot(path=str(SHOTS / "notices-segment-error-1366-ja.png"), full_page=True)
    assert_no_axe_violations(page)
    page.fill("#id_age_min", "")
    page.fill("#id_age_max", "")
    page.locator("label.choice", has_text="若葉台2丁目").locator("input").check()
    page.get_by_role("button", name="人数を数える").click()
    expect(page.locator("#segment-count")).to_contain_text("1 人")
    page.get_by_role("button", name="次へ（内容を確認する）").click()
    expect(page.get_by_role("heading", name="内容を確認する")).to_be_visible()
    expect(page.locator(".preview-card").first).to_contain_text(resident.full_name)
    page.screenshot(path=str(SHOTS / "notices-preview-1366-ja.png"), full_page=True)
    page.get_by_role("button", name="承認を依頼する").click()
    expect(page.locator("#send-state")).to_have_text("承認待ち")
    context.close()

    send = Send.objects.get()
    context, page = _context(browser, live_server, width=390, language="ja")
    login_in_browser(page, supervisor.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto(f"/staff/notices/{send.pk}/approve/")
    page.get_by_role("button", name="承認して配信を予約する").click()
    expect(page.locator(".error-summary")).to_contain_text("確認のチェックを入れてください。")
    page.screenshot(path=str(SHOTS / "notices-approve-error-390-ja.png"), full_page=True)
    _fits(page)
    page.get_by_label("内容と対象人数を確認し、配信を承認します").check()
    page.get_by_role("button", name="承認して配信を予約する").click()
    expect(page.locator("#approved-by")).to_contain_text(str(supervisor))
    # The worker's part, done here: start and hand to the channels.
    services.start(send_id=send.pk)
    delivery.dispatch(send_id=send.pk, budget_seconds=10)
    services.finish_if_done(send_id=send.pk)
    page.reload()
    expect(page.locator("#send-state")).to_have_text("配信完了")
    page.screenshot(path=str(SHOTS / "notices-send-390-ja.png"), full_page=True)
    _fits(page)
    assert_no_axe_violations(page)
    context.close()

    for width, language, subject in (
        (390, "ja", "テストのお知らせ"),
        (1366, "en", "A test notice"),
    ):
        context, page = _context(browser, live_server, width=width, language=language)
        login_in_browser(page, user.email, "correct-horse-battery-staple")
        page.goto("/my/notices/")
        expect(page.locator("#notice-inbox")).to_contain_text(subject)
        page.screenshot(path=str(SHOTS / f"notices-inbox-{width}-{language}.png"), full_page=True)
        _fits(page)
        assert_no_axe_violations(page)
        page.locator("#notice-inbox a").first.click()
        expect(page.locator(".notice-body")).to_contain_text(resident.family_name)
        page.goto("/my/notices/settings/")
        # One field wrong: quiet hours with a start and no end.
        page.fill("#id_quiet_start", "22:00")
        page.locator("main form:has(#id_quiet_start) button[type=submit]").click()
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator("#id_quiet_start")).to_have_value("22:00")
        page.screenshot(
            path=str(SHOTS / f"notices-settings-error-{width}-{language}.png"), full_page=True
        )
        _fits(page)
        assert_no_axe_violations(page)
        context.close()


def test_staff_and_resident_pages_on_a_phone_and_a_desktop_in_both_languages(
    browser, live_server, supervisor, login_in_browser
):
    """Every other notices page, walked as its user would: templates (one field wrong), a
    send's progress, statistics, a resident's notices; the resident's consent and LINE pages."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    resident, user = resident_with_account(address="桜ケ丘3丁目1番1号")
    tmpl = template(key="walk", topic="garbage")
    send = services.compose_send(template=tmpl, actor=supervisor)
    services.set_segment(send=send, data={"towns": ["桜ケ丘:3"]}, actor=supervisor)
    send = services.submit(send=send, actor=supervisor)
    services.start(send_id=send.pk)
    # One staff sign-in for the whole walk: a TOTP code is refused the second time inside its
    # 30-second window, so the language (cookie) and width (viewport) change under one session.
    staff_context, staff = _context(browser, live_server, width=390, language="ja")
    login_in_browser(staff, supervisor.email, PASSWORD, totp_secret=TOTP_SECRET)
    resident_context, mine = _context(browser, live_server, width=390, language="ja")
    login_in_browser(mine, user.email, "correct-horse-battery-staple")
    for width in (390, 1366):
        for language in ("ja", "en"):
            for context, page in ((staff_context, staff), (resident_context, mine)):
                context.add_cookies(
                    [{"name": "django_language", "value": language, "url": live_server.url}]
                )
                page.set_viewport_size({"width": width, "height": 900})
            page = staff
            for name, path in (
                ("sends", "/staff/notices/"),
                ("templates", "/staff/notices/templates/"),
                ("send", f"/staff/notices/{send.pk}/"),
                ("stats", "/staff/notices/stats/"),
                ("resident", f"/staff/notices/residents/{resident.pk}/"),
                ("360", f"/staff/counter/residents/{resident.pk}/"),
            ):
                page.goto(path)
                expect(page.locator("html")).to_have_attribute("lang", language)
                page.screenshot(
                    path=str(SHOTS / f"notices-{name}-{width}-{language}.png"), full_page=True
                )
                _fits(page)
                assert_no_axe_violations(page)
            page.goto("/staff/notices/templates/new/")
            page.fill("#id_key", "Not a slug!")
            page.fill("#id_name", "walk")
            page.locator("main form button[type=submit]").click()
            expect(page.locator(".error-summary")).to_be_visible()
            expect(page.locator("#id_key")).to_have_value("Not a slug!")
            expect(page.locator("#id_name")).to_have_value("walk")
            page.screenshot(
                path=str(SHOTS / f"notices-template-error-{width}-{language}.png"), full_page=True
            )
            _fits(page)
            assert_no_axe_violations(page)

            page = mine
            page.goto("/my/notices/consent/")
            page.locator("main form button[type=submit]").click()
            expect(page.locator(".error-summary")).to_be_visible()
            page.screenshot(
                path=str(SHOTS / f"notices-consent-error-{width}-{language}.png"), full_page=True
            )
            _fits(page)
            assert_no_axe_violations(page)
            for name, path in (
                ("inbox", "/my/notices/"),
                ("settings", "/my/notices/settings/"),
                ("line", "/my/notices/line/"),
            ):
                page.goto(path)
                expect(page.locator("html")).to_have_attribute("lang", language)
                page.screenshot(
                    path=str(SHOTS / f"notices-{name}-{width}-{language}.png"), full_page=True
                )
                _fits(page)
                assert_no_axe_violations(page)
    staff_context.close()
    resident_context.close()
