import re

import pytest
from factories_residents import family

from factories import PASSWORD, TOTP_SECRET
from residents.models import Movement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_searches_registers_a_relocation_and_sees_it_in_the_history(
    page, clerk, login_in_browser
):
    head, spouse, child = family()
    login_in_browser(page, clerk.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/residents/")
    page.get_by_label("氏名・フリガナ・住民票コード").fill("ﾔﾏﾀﾞ ﾊﾅｺ")
    page.get_by_role("button", name="検索").click()
    page.get_by_role("link", name="山田 花子").click()
    page.get_by_label("窓口対応").check()
    page.get_by_role("button", name="記録を表示").click()
    assert page.locator("h1").inner_text().startswith("山田 花子")
    page.get_by_role("link", name="転居", exact=True).click()
    # The most likely mistake first: no new address.
    page.get_by_label("異動日（転居した日）").fill("2024-05-01")
    page.get_by_role("button", name="登録する").click()
    assert page.locator(".error-summary").is_visible()
    assert "新しい住所" in page.locator(".error-summary").inner_text()
    page.get_by_label("新しい住所").fill("緑町2丁目5番8号")
    page.get_by_label("異動日（転居した日）").fill("2024-05-01")
    page.get_by_role("button", name="登録する").click()
    page.wait_for_url(re.compile(r"/staff/residents/\d+/\?purpose=counter"))
    history = page.locator("#movement-history").inner_text()
    assert "転居" in history and "2024-05-01" in history and "緑町2丁目5番8号" in history
    assert "緑町2丁目5番8号" in page.locator("dl.record").inner_text()
    assert Movement.objects.filter(kind="relocation").count() == 3
