"""One invalid field never wipes the other answers or a chosen file; errors stand
beside their fields and in a summary at the top; a confirmation page (確認画面) comes before
the application is submitted."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from factories_procedures import make_procedure
from PIL import Image

from procedures import services
from procedures.models import Application

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    # A real picture: uploads are decoded (pixel limit, EXIF stripped) before they are stored.
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()

DOG_FORM = {
    "fields": [
        {
            "id": "name",
            "type": "text",
            "label": {"ja": "氏名", "en": "Name"},
            "required": True,
            "prefill": "name",
        },
        {
            "id": "email",
            "type": "email",
            "label": {"ja": "連絡先メールアドレス", "en": "Contact e-mail"},
        },
        {
            "id": "dog_name",
            "type": "text",
            "label": {"ja": "犬の名前", "en": "Dog's name"},
            "required": True,
        },
        {
            "id": "dog_sex",
            "type": "choice",
            "label": {"ja": "犬の性別", "en": "Dog's sex"},
            "required": True,
            "choices": [
                {"value": "male", "label": {"ja": "オス", "en": "Male"}},
                {"value": "female", "label": {"ja": "メス", "en": "Female"}},
            ],
        },
        {
            "id": "vaccinated",
            "type": "yes_no",
            "label": {"ja": "狂犬病予防注射を受けましたか", "en": "Rabies shot?"},
            "required": True,
        },
        {
            "id": "notes",
            "type": "long_text",
            "label": {"ja": "備考", "en": "Notes"},
        },
        {
            "id": "vaccine_certificate",
            "type": "file",
            "label": {"ja": "注射済証", "en": "Vaccination certificate"},
            "required": True,
        },
    ]
}
FILLED = {
    "name": "山田 太郎",
    "email": "taro@@example",
    "dog_name": "ポチ",
    "dog_sex": "female",
    "vaccinated": "yes",
    "notes": "庭で飼っています",
}


@pytest.fixture
def dog_procedure(db):
    return make_procedure(slug="inu-toroku", name_ja="犬の登録", fee_yen=3000, definition=DOG_FORM)


@pytest.fixture
def draft(resident, dog_procedure):
    return services.start_application(
        procedure=dog_procedure, resident=resident, user=resident.user
    )


def _post(client, draft, data, **files):
    return client.post(f"/my/applications/{draft.pk}/edit/", data | files)


def test_a_bad_email_keeps_every_other_answer_and_the_chosen_file(resident_client, draft):
    upload = SimpleUploadedFile("chusha.png", PNG, content_type="image/png")
    response = _post(resident_client, draft, FILLED | {"check": "1"}, vaccine_certificate=upload)
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="taro@@example"' in page
    assert 'value="ポチ"' in page
    assert re.search(r'value="female"\s+checked', page)
    assert re.search(r'id="id_vaccinated_yes"[^>]*checked', page)
    assert "庭で飼っています</textarea>" in page
    # The file went with the same submission and is listed, not lost.
    assert draft.attachments.get().original_name == "chusha.png"
    assert "chusha.png" in page
    assert Application.objects.get(pk=draft.pk).state == "draft"


def test_the_error_stands_beside_its_field_and_in_the_summary_at_the_top(resident_client, draft):
    response = _post(resident_client, draft, FILLED | {"check": "1"})
    page = response.content.decode()
    start = page.index('class="error-summary"')
    summary = page[start : page.index("</ul>", start)]
    assert 'href="#id_email"' in summary and "メールアドレス" in summary
    assert 'href="#id_vaccine_certificate"' in summary  # the missing file too
    field = page[page.index('id="field-email"') : page.index('id="field-dog_name"')]
    assert 'id="error-email"' in field and 'aria-invalid="true"' in field
    assert "name@example.jp" in field
    assert page.index('class="error-summary"') < page.index("<h1>")
    assert "<title>エラー: " in page


def test_a_refused_file_keeps_the_answers(resident_client, draft):
    fake = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00" + b"\x00" * 40)
    response = _post(
        resident_client,
        draft,
        FILLED | {"email": "taro@example.jp", "save": "1"},
        vaccine_certificate=fake,
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-vaccine_certificate"' in page
    assert 'value="ポチ"' in page and 'value="taro@example.jp"' in page
    assert not draft.attachments.exists()


def test_correct_answers_lead_to_the_confirmation_page_before_submitting(resident_client, draft):
    upload = SimpleUploadedFile("chusha.png", PNG, content_type="image/png")
    response = _post(
        resident_client,
        draft,
        FILLED | {"email": "taro@example.jp", "check": "1"},
        vaccine_certificate=upload,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/my/applications/{draft.pk}/confirm/"
    assert Application.objects.get(pk=draft.pk).state == "draft"  # nothing filed yet
    confirm = resident_client.get(response["Location"]).content.decode()
    for shown in ("taro@example.jp", "ポチ", "メス", "はい", "庭で飼っています", "chusha.png"):
        assert shown in confirm
    assert "3,000円" in confirm
    assert "この内容で申請する" in confirm
    submitted = resident_client.post(response["Location"])
    assert submitted.status_code == 302
    application = Application.objects.get(pk=draft.pk)
    assert application.state == "awaiting_payment"
    assert application.answers["email"] == "taro@example.jp"


def test_the_confirmation_page_sends_back_to_the_form_while_answers_are_wrong(
    resident_client, draft
):
    _post(resident_client, draft, FILLED | {"save": "1"})
    response = resident_client.get(f"/my/applications/{draft.pk}/confirm/")
    assert response.status_code == 400
    assert 'id="error-email"' in response.content.decode()
    assert resident_client.post(f"/my/applications/{draft.pk}/confirm/").status_code == 400
    assert Application.objects.get(pk=draft.pk).state == "draft"


def test_removing_an_attachment_keeps_what_was_typed(resident_client, draft):
    upload = SimpleUploadedFile("chusha.png", PNG, content_type="image/png")
    _post(resident_client, draft, FILLED | {"save": "1"}, vaccine_certificate=upload)
    attachment = draft.attachments.get()
    response = _post(
        resident_client,
        draft,
        FILLED | {"dog_name": "タロ", "remove_attachment": str(attachment.pk)},
    )
    assert response.status_code == 302
    assert not draft.attachments.exists()
    assert Application.objects.get(pk=draft.pk).answers["dog_name"] == "タロ"


def test_counter_filing_keeps_every_posted_value_and_the_file(clerk_client, clerk, resident):
    procedure = make_procedure(slug="inu-counter", name_ja="犬の登録", definition=DOG_FORM)
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user, filed_by=clerk
    )
    upload = SimpleUploadedFile("chusha.png", PNG, content_type="image/png")
    response = clerk_client.post(
        f"/staff/counter-filing/{application.pk}/",
        FILLED | {"vaccine_certificate": upload},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="taro@@example"' in page and 'value="ポチ"' in page
    assert "庭で飼っています</textarea>" in page
    assert application.attachments.get().original_name == "chusha.png"
    assert 'href="#id_email"' in page
