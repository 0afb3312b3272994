"""Login and linking with the マイナンバーカード, end to end in Chromium against the local
OpenID provider (npm oidc-provider) that stands in for デジタル認証アプリ."""

from datetime import date

import pytest
from allauth.socialaccount.models import SocialAccount
from factories_identity import read_card, register_resident

from cityhall.models import AuditEvent
from factories import PASSWORD, UserFactory
from residents.models import Resident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def hanako(user=None):
    return register_resident(
        name="山田 花子",
        address="本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
        user=user,
    )


def test_resident_links_the_account_with_the_card_and_then_signs_in_with_it(
    page, jpki_platform, login_in_browser
):
    user = UserFactory(role="resident")
    resident = hanako()
    login_in_browser(page, user.email, PASSWORD)
    page.goto("/my/link/")
    page.get_by_role("button", name="マイナンバーカードを読み取る").click()
    read_card(page, "hanako")
    assert page.url.endswith("/my/info/"), page.url
    assert "マイナンバーカードで住民情報と連携しました。" in page.content()
    resident.refresh_from_db()
    assert resident.user_id == user.pk
    linked = AuditEvent.objects.get(action="residents.account_linked")
    assert linked.details["method"] == "mynumber_card"
    assert AuditEvent.objects.filter(action="identity.card_authenticated").exists()
    assert SocialAccount.objects.filter(user=user, provider="jpki", uid="hanako").exists()

    page.locator("form[action='/accounts/logout/'] button").click()
    page.goto("/accounts/login/")
    page.get_by_role("button", name="マイナンバーカードでログイン").click()
    read_card(page, "hanako")
    page.goto("/my/info/")
    assert "山田 花子" in page.content()
    login = AuditEvent.objects.filter(action="identity.logged_in", actor=user).latest("id")
    assert "jpki" in login.details["methods"]


def test_a_card_whose_name_differs_from_the_register_is_not_linked_and_the_counter_is_offered(
    page, jpki_platform, login_in_browser
):
    user = UserFactory(role="resident")
    # The register keeps 髙 (a 外字 in older systems); the card wrote the substitute 高.
    register_resident(
        name="髙橋 一郎",
        address="本町1丁目2番3号",
        birth_date=date(1975, 6, 7),
        sex="male",
        kana="タカハシ イチロウ",
    )
    login_in_browser(page, user.email, PASSWORD)
    page.goto("/my/link/")
    page.get_by_role("button", name="マイナンバーカードを読み取る").click()
    read_card(page, "takahashi")
    assert page.locator("#card-mismatch").is_visible()
    assert "氏名" in page.locator("#card-mismatch").inner_text()
    assert page.locator("#counter-route").is_visible()
    assert not Resident.objects.filter(user=user).exists()
    refused = AuditEvent.objects.get(action="residents.card_link_refused")
    assert refused.details["mismatched"] == ["name"]
    # The card that did not match is not left as a way into the account.
    assert not SocialAccount.objects.filter(user=user).exists()
    assert "外部アカウントを接続しました" not in page.content()


def test_an_old_address_on_the_card_is_not_linked(page, jpki_platform, login_in_browser):
    user = UserFactory(role="resident")
    register_resident(
        name="佐藤 次郎",
        address="新町4丁目1番1号",
        birth_date=date(1982, 8, 9),
        sex="male",
        kana="サトウ ジロウ",
    )
    login_in_browser(page, user.email, PASSWORD)
    page.goto("/my/link/")
    page.get_by_role("button", name="マイナンバーカードを読み取る").click()
    read_card(page, "moved")
    assert "住所" in page.locator("#card-mismatch").inner_text()
    assert not Resident.objects.filter(user=user).exists()
