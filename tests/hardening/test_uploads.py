"""Oversize and wrongly typed uploads are refused with a message, and nothing is kept.

Already covered elsewhere (not repeated here):
- tests/procedures/test_attachments.py::test_fake_extension_is_rejected: an executable renamed
  .pdf, a PDF renamed .png and HTML renamed .pdf are refused by the service (magic numbers);
- ::test_upload_through_the_page_rejects_an_executable: the same through the upload page;
- ::test_too_large_file_is_rejected: the size check of the service (with a lowered limit).

Here: the real 10 MB limit through the resident's upload page, a file whose bytes are an
accepted type but whose name is another through the page, and `gis_import` of files that are
not geodata at all.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from factories_residents import move_in

from gis.models import Feature, Layer
from procedures import services
from procedures.models import Attachment, FormDefinition, Procedure
from residents.models import Resident

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM = {
    "fields": [
        {
            "id": "purpose",
            "type": "text",
            "label": {"ja": "使いみち", "en": "Purpose"},
            "max_length": 100,
        },
        {"id": "id_doc", "type": "file", "label": {"ja": "本人確認書類", "en": "ID"}},
    ]
}


@pytest.fixture
def draft(resident_user, admin_user):
    resident = move_in(family_name="添付", family_name_kana="テンプ")
    Resident.objects.filter(pk=resident.pk).update(user=resident_user)
    resident.refresh_from_db()
    procedure = services.save_procedure(
        procedure=Procedure(
            slug="upload-check",
            name_ja="添付の確認",
            name_en="Upload check",
            department="juki",
            life_events=["moving"],
            processing_days=3,
        )
    )
    # Published as the seed does (publishing through the designer takes a second admin).
    FormDefinition.objects.create(
        procedure=procedure,
        version=1,
        definition=copy.deepcopy(FORM),
        created_by=admin_user,
        published_at=timezone.now(),
    )
    return services.start_application(procedure=procedure, resident=resident, user=resident_user)


def _stored_files(settings) -> set[Path]:
    root = Path(settings.PRIVATE_STORAGE_ROOT)
    return set(root.rglob("*")) if root.exists() else set()


def test_a_file_over_10_mb_is_refused_on_the_upload_page(client, draft, resident_user, settings):
    before = _stored_files(settings)
    big = PDF + b"0" * (services.MAX_ATTACHMENT_BYTES + 1 - len(PDF))
    client.force_login(resident_user)
    response = client.post(
        f"/my/applications/{draft.pk}/attachments/",
        {"field_id": "id_doc", "file": SimpleUploadedFile("big.pdf", big)},
        follow=True,
    )
    assert response.status_code == 200
    assert "ファイルが大きすぎます（10MBまで）" in response.content.decode()
    assert not Attachment.objects.filter(application=draft).exists()
    assert _stored_files(settings) == before


def test_a_file_just_at_the_limit_is_accepted(client, draft, resident_user):
    """The boundary: exactly 10 MB is allowed (so the refusal above is the size, nothing else)."""
    exact = PDF + b"0" * (services.MAX_ATTACHMENT_BYTES - len(PDF))
    client.force_login(resident_user)
    client.post(
        f"/my/applications/{draft.pk}/attachments/",
        {"field_id": "id_doc", "file": SimpleUploadedFile("exact.pdf", exact)},
    )
    attachment = Attachment.objects.get(application=draft)
    assert attachment.size == services.MAX_ATTACHMENT_BYTES
    attachment.file.delete(save=False)


def test_png_bytes_named_pdf_are_refused_on_the_upload_page(client, draft, resident_user):
    client.force_login(resident_user)
    response = client.post(
        f"/my/applications/{draft.pk}/attachments/",
        {"field_id": "id_doc", "file": SimpleUploadedFile("scan.pdf", PNG)},
        follow=True,
    )
    assert "ファイルの中身と拡張子が一致しません" in response.content.decode()
    assert not Attachment.objects.filter(application=draft).exists()


@pytest.fixture
def layer(db):
    return Layer.objects.create(
        slug="upload-target",
        name_ja="取込先",
        name_en="Import target",
        kind=Layer.Kind.PARCELS,
        department="資産税課",
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("parcels.geojson", "これは地図データではありません。\n".encode()),
        ("parcels.geojson", b'{"not": "geojson", "features": 3}'),
        ("parcels.shp", PNG),
        ("parcels.gpkg", PDF),
        ("parcels.geojson", b""),
    ],
    ids=["text", "json-not-geojson", "png-as-shp", "pdf-as-gpkg", "empty"],
)
def test_gis_import_of_a_file_that_is_not_geodata_fails_cleanly(layer, tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    revision = layer.revision
    with pytest.raises(CommandError) as raised:
        call_command("gis_import", layer.slug, str(path))
    message = str(raised.value)
    # One line for a person, in Japanese and English, not a GDAL traceback.
    assert "ファイルを読めません / Cannot read the file" in message or (
        "ファイルにレイヤがありません / The file has no layer" in message
    )
    assert "Traceback" not in message
    assert not Feature.objects.filter(layer=layer).exists()
    layer.refresh_from_db()
    assert layer.revision == revision
