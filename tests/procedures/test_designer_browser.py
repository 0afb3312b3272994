"""An admin builds a new procedure in the designer on a desktop (six kinds
of question, a page break, a show-if condition, a fee), previews it, a second admin publishes
it, and a resident files it on a phone; the stored JSON is what the test expects. axe-core on
the designer pages, and the order changed with the keyboard only."""

import re
from pathlib import Path

import pytest
from browser.axe import assert_fits_viewport, assert_no_axe_violations
from factories_procedures import make_household, make_resident

from factories import PASSWORD, TOTP_SECRET, UserFactory
from payments.models import Revenue
from payments.revenues import revenue_defaults
from procedures import selectors
from procedures.models import Application, Procedure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]+")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "designer"

EXPECTED = {
    "pages": [
        {
            "id": "p1",
            "fields": [
                {
                    "id": "q1",
                    "type": "text",
                    "label": {"ja": "飼い主の氏名", "en": "Owner's name"},
                    "required": True,
                    "max_length": 40,
                },
                {
                    "id": "q2",
                    "type": "choice",
                    "label": {"ja": "転入元", "en": "Moving from"},
                    "required": True,
                    "choices": [
                        {"value": "c1", "label": {"ja": "国内", "en": "Japan"}},
                        {"value": "c2", "label": {"ja": "国外", "en": "Abroad"}},
                    ],
                },
            ],
        },
        {
            "id": "p2",
            "fields": [
                {
                    "id": "q3",
                    "type": "text",
                    "label": {"ja": "国名", "en": "Country"},
                    "required": True,
                    "show_if": {"field": "q2", "equals": "c2"},
                },
                {
                    "id": "q4",
                    "type": "date",
                    "label": {"ja": "飼い始めた日", "en": "Date you got the dog"},
                    "required": True,
                },
                {
                    "id": "q7",
                    "type": "yes_no",
                    "label": {"ja": "狂犬病の予防注射を受けた", "en": "Rabies shot given"},
                    "required": True,
                },
                {
                    "id": "q5",
                    "type": "email",
                    "label": {"ja": "連絡先メール", "en": "Contact e-mail"},
                    "required": True,
                },
                {
                    "id": "q6",
                    "type": "number",
                    "label": {"ja": "頭数", "en": "Number of dogs"},
                    "required": True,
                    "min_value": 1,
                    "max_value": 5,
                },
            ],
        },
    ]
}


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _add_question(page, slug: str, page_id: str, kind: str, fields: dict, *, axe=False):
    page.goto(f"/staff/admin/procedures/{slug}/questions/")
    page.locator(f"#add-question-{page_id}").click()
    page.locator(f"input[name=kind][value={kind}]").check()
    page.locator("#choose-kind").click()
    for selector, value in fields.items():
        element = page.locator(selector)
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(label=value)
        elif element.get_attribute("type") == "checkbox":
            element.set_checked(bool(value))
        else:
            element.fill(value)
    if axe:
        assert_no_axe_violations(page)
    page.locator("#save-question").click()
    assert "/questions/" in page.url and "/add/" not in page.url, page.content()[:3000]


def test_admin_designs_a_second_admin_publishes_a_resident_files_on_a_phone(
    browser, live_server, page, admin_user, publisher, login_in_browser
):
    # Migrations add the standard revenues; a test run that flushed the database has none.
    Revenue.objects.get_or_create(code="fee", defaults=revenue_defaults("fee"))
    page.set_viewport_size({"width": 1366, "height": 900})
    login_in_browser(page, admin_user.email, PASSWORD, totp_secret=TOTP_SECRET)

    # Item 1: the procedure, made in /staff/; one field wrong first.
    page.goto("/staff/admin/procedures/")
    page.get_by_role("link", name="新しい手続を作る").click()
    page.fill("#id_name_ja", "飼い犬の登録")
    page.fill("#id_name_en", "Dog registration")
    page.fill("#id_name_kana", "カイイヌノトウロク")
    page.fill("#id_keywords", "犬 ペット 鑑札")
    page.fill("#id_description_ja", "犬を飼い始めたときの登録です。")
    page.fill("#id_description_en", "Register a dog you have started keeping.")
    page.locator("#id_department").select_option("juki")
    page.get_by_label("登録", exact=True).check()
    page.get_by_label("オンラインと窓口", exact=True).check()
    page.get_by_label("定額", exact=True).check()
    page.locator("#id_fee_revenue").select_option("fee")
    page.locator("#save-procedure").click()
    assert "手数料の額を入れてください。" in page.locator(".error-summary").inner_text()
    assert page.input_value("#id_name_ja") == "飼い犬の登録"  # kept
    assert_no_axe_violations(page)
    _shot(page, "01-new-procedure-error-1366")
    page.fill("#id_fee_yen", "3000")
    page.locator("#save-procedure").click()
    procedure = Procedure.objects.get(name_ja="飼い犬の登録")
    slug = procedure.slug
    assert page.url.endswith(f"/staff/admin/procedures/{slug}/questions/")

    # Item 2: six kinds of question from the palette (text, choice, date, e-mail, number,
    # yes/no), both languages, with validations.
    _add_question(
        page,
        slug,
        "p1",
        "text",
        {"#id_label_ja": "飼い主の氏名", "#id_label_en": "Owner's name", "#id_max_length": "40"},
        axe=True,
    )
    _add_question(
        page,
        slug,
        "p1",
        "choice",
        {
            "#id_label_ja": "転入元",
            "#id_label_en": "Moving from",
            "#id_choice-0-ja": "国内",
            "#id_choice-0-en": "Japan",
            "#id_choice-1-ja": "国外",
            "#id_choice-1-en": "Abroad",
        },
    )
    # Item 3: the show-if chosen from a menu of earlier answers.
    _add_question(
        page,
        slug,
        "p1",
        "text",
        {
            "#id_label_ja": "国名",
            "#id_label_en": "Country",
            "#id_show_if": "「転入元」が「国外」",
        },
    )
    _add_question(
        page,
        slug,
        "p1",
        "date",
        {"#id_label_ja": "飼い始めた日", "#id_label_en": "Date you got the dog"},
    )
    _add_question(
        page,
        slug,
        "p1",
        "email",
        {"#id_label_ja": "連絡先メール", "#id_label_en": "Contact e-mail"},
    )
    _add_question(
        page,
        slug,
        "p1",
        "number",
        {
            "#id_label_ja": "頭数",
            "#id_label_en": "Number of dogs",
            "#id_min_value": "1",
            "#id_max_value": "5",
        },
    )
    _add_question(
        page,
        slug,
        "p1",
        "yes_no",
        {"#id_label_ja": "狂犬病の予防注射を受けた", "#id_label_en": "Rabies shot given"},
    )

    # A page break after 転入元.
    page.goto(f"/staff/admin/procedures/{slug}/questions/")
    page.locator("#break-q2").click()
    # Item 4: the yes/no question moved up twice with the keyboard only (focus, Enter).
    for _ in range(2):
        page.locator("#move-up-q7").focus()
        page.keyboard.press("Enter")
        page.wait_for_load_state()
    assert page.locator("#move-up-q7").evaluate("e => e === document.activeElement")
    assert_no_axe_violations(page)
    _shot(page, "02-questions-1366")

    # Item 5: the preview as a resident, in a phone-sized frame; the checklist is empty.
    page.goto(f"/staff/admin/procedures/{slug}/")
    assert_no_axe_violations(page)
    _shot(page, "03-overview-1366")
    page.get_by_role("link", name="住民の画面で確かめる（プレビュー）").click()
    frame = page.frame_locator("#preview-frame")
    assert frame.locator("h1").inner_text() == "飼い犬の登録"
    frame.locator("#id_q1").fill("見本 太郎")
    frame.locator("label", has_text="国外").click()
    frame.locator("#preview-next").click()
    frame.locator("#id_q3").wait_for()  # 国名 asked after 国外, on the second page
    assert "2 / 2" in frame.locator("main").inner_text()
    assert_no_axe_violations(page)
    _shot(page, "04-preview-1366")
    page.locator("#preview-lang-en").click()
    assert page.frame_locator("#preview-frame").locator("h1").inner_text() == "Dog registration"

    # Item 6: the author cannot publish; a second admin does.
    latest = selectors.latest_form(procedure)
    page.goto(f"/staff/admin/forms/{latest.pk}/")
    assert page.locator("#four-eyes-note").is_visible()
    assert page.locator("#publish").count() == 0
    assert_no_axe_violations(page)

    second = browser.new_context(locale="ja-JP", base_url=live_server.url)
    publisher_page = second.new_page()
    publisher_page.set_default_timeout(15000)
    publisher_page.set_viewport_size({"width": 1366, "height": 900})
    login_in_browser(publisher_page, publisher.email, PASSWORD, totp_secret=TOTP_SECRET)
    publisher_page.goto(f"/staff/admin/forms/{latest.pk}/")
    publisher_page.get_by_label("今すぐ公開する").check()
    assert_no_axe_violations(publisher_page)
    publisher_page.locator("#publish").click()
    assert publisher_page.locator("#version-state").inner_text().startswith("公開")
    second.close()

    live = selectors.published_form(procedure)
    assert live.pk == latest.pk and live.approved_by == publisher
    assert live.definition == EXPECTED

    # The designer in English, on a desktop and on a phone, one field wrong.
    page.locator("button[name=language][value=en]").first.click()
    page.wait_for_load_state()
    page.goto(f"/staff/admin/procedures/{slug}/questions/")
    assert page.locator("h1").inner_text().startswith("Questions and pages")
    assert "Put a page break here" in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    _shot(page, "07-questions-en-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/staff/admin/procedures/{slug}/questions/add/?kind=choice")
    page.fill("#id_label_ja", "")
    page.locator("#save-question").click()
    assert "Enter at least one choice." in page.locator(".error-summary").inner_text()
    # nothing on the page is left in Japanese (only the name of the language switch)
    assert not JAPANESE.findall(page.locator("main").inner_text())
    assert_no_axe_violations(page)
    assert_fits_viewport(page)
    _shot(page, "08-question-error-en-390")
    page.goto(f"/staff/admin/forms/{live.pk}/")
    assert "Changes from version" in page.locator("main").inner_text()
    assert_fits_viewport(page)
    _shot(page, "09-version-en-390")

    # A resident files it on a phone, page by page, with one answer wrong first.
    user = UserFactory(role="resident")
    resident = make_resident(household=make_household(), user=user)
    phone = browser.new_context(
        locale="ja-JP", base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    resident_page = phone.new_page()
    resident_page.set_default_timeout(15000)
    login_in_browser(resident_page, user.email, PASSWORD)
    resident_page.goto(f"/procedures/{slug}/")
    resident_page.get_by_role("button", name="オンラインで申請する").click()
    resident_page.fill("#id_q1", "山田 太郎")
    resident_page.locator("label", has_text="国外").click()
    resident_page.locator("#next-page").click()
    resident_page.locator("#id_q3").wait_for()
    resident_page.fill("#id_q3", "カナダ")
    resident_page.fill("#id_q4", "2026-04-01")
    resident_page.locator("#field-q7 label", has_text="はい").click()
    resident_page.fill("#id_q5", "not-an-address")
    resident_page.fill("#id_q6", "2")
    resident_page.locator("#check-answers").click()
    assert resident_page.locator("#error-q5").is_visible()
    assert resident_page.input_value("#id_q3") == "カナダ"  # kept
    assert_no_axe_violations(resident_page)
    assert_fits_viewport(resident_page)
    _shot(resident_page, "05-resident-error-390")
    resident_page.fill("#id_q5", "taro@example.jp")
    resident_page.locator("#check-answers").click()
    summary = resident_page.locator("#confirm-answers").inner_text()
    assert "カナダ" in summary and "令和8年4月1日" in summary
    assert_no_axe_violations(resident_page)
    _shot(resident_page, "06-resident-confirm-390")
    resident_page.get_by_role("button", name="この内容で申請する").click()
    resident_page.wait_for_load_state()
    phone.close()

    application = Application.objects.get(applicant=resident)
    assert application.form_id == live.pk
    assert application.state != "draft"
    assert application.answers["q3"] == "カナダ"
    assert application.answers["q2"] == "c2"
    assert application.fee_yen == 3000


def test_a_resident_looks_an_address_up_from_its_postal_code_on_a_phone(
    browser, live_server, login_in_browser
):
    """Item 2: the address question made from the palette fills the town from the bundled
    postal code table; the date question writes the chosen day in 和暦 as it is typed."""
    from django.conf import settings
    from factories_procedures import make_procedure

    make_procedure(
        slug="jusho",
        name_ja="住所の届出",
        definition={
            "fields": [
                {
                    "id": "q1",
                    "type": "address",
                    "label": {"ja": "新しい住所", "en": "New address"},
                    "postal_lookup": True,
                    "max_length": 120,
                    "required": True,
                },
                {"id": "q2", "type": "date", "label": {"ja": "転居した日", "en": "Moved on"}},
            ]
        },
    )
    user = UserFactory(role="resident")
    make_resident(household=make_household(), user=user)
    phone = browser.new_context(
        locale="ja-JP", base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    page = phone.new_page()
    page.set_default_timeout(15000)
    login_in_browser(page, user.email, PASSWORD)
    page.goto("/procedures/jusho/")
    page.get_by_role("button", name="オンラインで申請する").click()
    page.fill("#id_q1_postal", "12345")
    page.get_by_role("button", name="住所を探す").click()
    assert "7桁" in page.locator("#postal-status-q1").inner_text()
    page.fill("#id_q1_postal", "１９０００１１")  # full-width digits, as a phone may type them
    page.get_by_role("button", name="住所を探す").click()
    # 190-0011 is also 立川市高松町 in Japan Post's table: both are offered, the city's first
    choices = page.locator("#postal-status-q1 .postal-choice")
    choices.first.wait_for()
    assert choices.all_inner_texts() == [
        f"{settings.PREFECTURE}{settings.CITY_NAME}本町",
        "東京都立川市高松町",
    ]
    choices.first.click()
    assert page.input_value("#id_q1") == f"{settings.PREFECTURE}{settings.CITY_NAME}本町"
    assert page.input_value("#id_q1_postal") == "190-0011"
    page.fill("#id_q2", "2026-04-01")
    assert page.locator("#wareki-q2").inner_text() == "令和8年4月1日（2026年）"
    assert_no_axe_violations(page)
    assert_fits_viewport(page)
    _shot(page, "10-postal-lookup-390")
    page.fill("#id_q1", page.input_value("#id_q1") + "1-2-3")
    page.locator("#check-answers").click()
    summary = page.locator("#confirm-answers").inner_text()
    assert "190-0011" in summary and "本町1-2-3" in summary
    phone.close()


def test_questions_are_reordered_by_drag_and_drop(page, admin_user, login_in_browser):
    """Item 4: dragging a question by its handle (SortableJS) saves the new order as a new
    version."""
    from factories_procedures import make_procedure

    procedure = make_procedure(
        slug="narabe",
        name_ja="並べ替えの見本",
        definition={
            "fields": [
                {"id": f"q{n}", "type": "text", "label": {"ja": f"質問{n}", "en": f"Q{n}"}}
                for n in (1, 2, 3)
            ]
        },
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    login_in_browser(page, admin_user.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/admin/procedures/narabe/questions/")
    page.wait_for_function("() => typeof Sortable !== 'undefined'")
    with page.expect_navigation():
        page.locator("#q-q3 .drag-handle").drag_to(
            page.locator("#q-q1 .drag-handle"), target_position={"x": 2, "y": 2}
        )
    latest = selectors.latest_form(procedure)
    assert latest.version == 2
    order = [f["id"] for f in latest.definition["pages"][0]["fields"]]
    assert order == ["q3", "q1", "q2"]
    assert page.locator(".question-card").first.get_attribute("id") == "q-q3"
