"""Safe defaults. Without DJANGO_DEBUG the production settings apply; the
proxy's HTTPS header is believed only behind a declared proxy; request bodies are capped (413,
also from a real gunicorn with production settings); images are decoded with a pixel limit and
stored without EXIF."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from procedures import images

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-long-random-production-secret-" + "x7Q9!kLm2#pZ" * 4


def _environment(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(DJANGO_SETTINGS_MODULE="cityhall.settings", **extra)
    return env


def _settings_of(env: dict, expression: str) -> str:
    code = (
        f"import django; django.setup(); from django.conf import settings as s; print({expression})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_django_debug_a_missing_secret_key_is_an_error():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_environment(MACHIBA_MYNUMBER_KEYS="production-key-0001"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_without_django_debug_production_settings_apply():
    env = _environment(DJANGO_SECRET_KEY=SECRET, MACHIBA_MYNUMBER_KEYS="production-key-0001")
    printed = _settings_of(
        env, "s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0"
    )
    assert printed == "False True True True"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env | {"DJANGO_ALLOWED_HOSTS": "city.example.jp"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_forwarded_proto_header_is_believed_only_behind_a_declared_proxy():
    env = _environment(DJANGO_SECRET_KEY=SECRET, MACHIBA_MYNUMBER_KEYS="production-key-0001")
    assert _settings_of(env, "s.SECURE_PROXY_SSL_HEADER") == "None"
    behind = env | {"MACHIBA_BEHIND_PROXY": "true"}
    assert (
        _settings_of(behind, "s.SECURE_PROXY_SSL_HEADER") == "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


@pytest.mark.django_db
def test_an_oversized_body_is_refused_with_413_before_it_is_read(client, settings):
    settings.MAX_REQUEST_BYTES = 4096
    response = client.post(
        "/accounts/login/", data=b"x" * 5000, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert "送信データが大きすぎます" in response.content.decode()
    chunked = client.generic(
        "POST", "/accounts/login/", b"", HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )
    assert chunked.status_code == 411
    assert client.post("/accounts/login/", {"login": "a@example.jp"}).status_code != 413


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raw_request(port: int, head: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        return sock.recv(4096).decode(errors="replace")


def test_a_production_gunicorn_answers_413_to_a_huge_body():
    port = _free_port()
    env = _environment(
        DJANGO_SECRET_KEY=SECRET,
        MACHIBA_MYNUMBER_KEYS="production-key-0001",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "cityhall.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        # 50 MB announced, none sent: refused at once, nothing read.
        answer = _raw_request(
            port,
            "POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 52428800\r\n\r\n",
        )
        assert answer.startswith("HTTP/1.1 413"), answer
        # and the production settings are those in force: plain HTTP is sent to HTTPS (a page;
        # the probes /livez, /healthz and /metrics are exempt, as cluster probes use plain HTTP)
        answer = _raw_request(port, "GET /procedures/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer.startswith("HTTP/1.1 301"), answer
        assert "https://127.0.0.1/procedures/" in answer, answer
    finally:
        server.terminate()
        server.wait(timeout=30)


def _jpeg_with_exif(size=(40, 20)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show upright
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (35.0, 41.0, 0.0), 4: (139.0, 41.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_an_image_is_stored_upright_without_exif():
    original = _jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()
    cleaned = images.clean_image(original, content_type="image/jpeg", max_pixels=10_000)
    stored = Image.open(io.BytesIO(cleaned))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info and b"PhoneMaker" not in cleaned
    assert stored.size == (20, 40)  # turned upright


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", "画像を読み込めません"),
        (b"\xff\xd8\xff" + b"junk" * 20, "image/jpeg", "画像を読み込めません"),
    ],
)
def test_something_that_is_not_an_image_is_refused(data, content_type, message):
    with pytest.raises(ValueError, match=message):
        images.clean_image(data, content_type=content_type, max_pixels=10_000)


def test_too_many_pixels_are_refused_before_decoding():
    out = io.BytesIO()
    Image.new("L", (200, 100)).save(out, "PNG")
    with pytest.raises(ValueError, match="画像が大きすぎます"):
        images.clean_image(out.getvalue(), content_type="image/png", max_pixels=19_999)


@pytest.mark.django_db
def test_the_upload_page_stores_the_cleaned_image(client, resident_user, settings):
    from factories_residents import move_in

    from procedures import services
    from procedures.models import Attachment, FormDefinition, Procedure
    from residents.models import Resident

    resident = move_in(family_name="画像", family_name_kana="ガゾウ")
    Resident.objects.filter(pk=resident.pk).update(user=resident_user)
    resident.refresh_from_db()
    procedure = services.save_procedure(
        procedure=Procedure(
            slug="image-check",
            name_ja="画像の確認",
            name_en="Image check",
            department="juki",
            life_events=["moving"],
            processing_days=3,
        )
    )
    FormDefinition.objects.create(
        procedure=procedure,
        version=1,
        definition={
            "fields": [{"id": "photo", "type": "file", "label": {"ja": "写真", "en": "Photo"}}]
        },
        published_at="2026-01-05T09:00:00+09:00",
    )
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident_user
    )
    client.force_login(resident_user)
    client.post(
        f"/my/applications/{application.pk}/attachments/",
        {"field_id": "photo", "file": SimpleUploadedFile("photo.jpg", _jpeg_with_exif())},
    )
    attachment = Attachment.objects.get(application=application)
    with attachment.file.open("rb") as handle:
        stored = handle.read()
    assert b"PhoneMaker" not in stored and dict(Image.open(io.BytesIO(stored)).getexif()) == {}
    attachment.file.storage.delete(attachment.file.name)

    settings.MAX_IMAGE_PIXELS = 100
    refused = client.post(
        f"/my/applications/{application.pk}/attachments/",
        {"field_id": "photo", "file": SimpleUploadedFile("big.jpg", _jpeg_with_exif())},
        follow=True,
    )
    assert "画像が大きすぎます" in refused.content.decode()
    assert Attachment.objects.filter(application=application).count() == 1
