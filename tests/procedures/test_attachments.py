import copy

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from factories_procedures import RESIDENCE_FORM, make_procedure

from procedures import services
from procedures.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture
def with_file(resident):
    definition = copy.deepcopy(RESIDENCE_FORM)
    definition["fields"].append(
        {
            "id": "id_doc",
            "type": "file",
            "label": {"ja": "本人確認書類", "en": "ID"},
            "required": True,
        }
    )
    procedure = make_procedure(slug="with-file", definition=definition)
    return services.start_application(procedure=procedure, resident=resident, user=resident.user)


def test_pdf_is_stored_privately_and_counts_for_the_required_field(with_file, resident, settings):
    attachment = services.add_attachment(
        application=with_file,
        field_id="id_doc",
        upload=SimpleUploadedFile("免許証.pdf", PDF),
        actor=resident.user,
    )
    assert attachment.content_type == "application/pdf"
    assert str(settings.PRIVATE_STORAGE_ROOT) in attachment.file.path
    _cleaned, errors = services.check_answers(
        application=with_file, answers={"purpose": "x", **with_file.answers}
    )
    assert "id_doc" not in errors


def test_required_file_missing_is_a_field_error(with_file):
    _cleaned, errors = services.check_answers(
        application=with_file, answers={"purpose": "x", **with_file.answers}
    )
    assert "添付してください" in errors["id_doc"][0]


@pytest.mark.parametrize(
    ("name", "data"),
    [("report.pdf", EXE), ("photo.png", PDF), ("invoice.pdf", b"<html><script>alert(1)</script>")],
)
def test_fake_extension_is_rejected(with_file, resident, name, data):
    with pytest.raises(Exception) as exc:
        services.add_attachment(
            application=with_file,
            field_id="id_doc",
            upload=SimpleUploadedFile(name, data),
            actor=resident.user,
        )
    assert "PDF" in str(exc.value) or "拡張子" in str(exc.value)
    assert Attachment.objects.count() == 0


def test_too_large_file_is_rejected(with_file, resident, monkeypatch):
    # The limit is read where add_attachment lives (procedures.services.attachments).
    monkeypatch.setattr(services.attachments, "MAX_ATTACHMENT_BYTES", 10)
    with pytest.raises(Exception, match="大きすぎます"):
        services.add_attachment(
            application=with_file,
            field_id="id_doc",
            upload=SimpleUploadedFile("a.pdf", PDF),
            actor=resident.user,
        )


def test_upload_through_the_page_rejects_an_executable(client, with_file, resident):
    client.force_login(resident.user)
    response = client.post(
        f"/my/applications/{with_file.pk}/attachments/",
        {"field_id": "id_doc", "file": SimpleUploadedFile("setup.pdf", EXE)},
        follow=True,
    )
    assert "PDF・PNG・JPEG" in response.content.decode()
    assert not Attachment.objects.exists()


def test_owner_downloads_and_another_resident_gets_404(
    client, with_file, resident, other_resident, clerk
):
    attachment = services.add_attachment(
        application=with_file,
        field_id="id_doc",
        upload=SimpleUploadedFile("id.pdf", PDF),
        actor=resident.user,
    )
    url = f"/my/applications/{with_file.pk}/attachments/{attachment.pk}/"
    client.force_login(resident.user)
    own = client.get(url)
    assert own.status_code == 200 and b"".join(own.streaming_content) == PDF
    client.force_login(other_resident.user)
    assert client.get(url).status_code == 404
    client.force_login(clerk)
    staff = client.get(f"/staff/cases/{with_file.pk}/attachments/{attachment.pk}/")
    assert staff.status_code == 200 and b"".join(staff.streaming_content) == PDF
