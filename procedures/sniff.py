"""What an uploaded file really is, from its first bytes (magic numbers), not from its name."""

from __future__ import annotations

from pathlib import PurePath

from django.utils.translation import gettext as _

# content type -> (magic prefix, file name extensions that may carry it)
ACCEPTED: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}


def sniff(head: bytes) -> str | None:
    """The accepted content type whose magic number `head` starts with, else None."""
    for content_type, (magic, _extensions) in ACCEPTED.items():
        if head.startswith(magic):
            return content_type
    return None


def check_upload(name: str, head: bytes) -> str:
    """The content type of an upload; ValueError when the bytes are not an accepted type or
    do not match the name's extension (an executable renamed .pdf)."""
    content_type = sniff(head)
    if content_type is None:
        raise ValueError(_("PDF・PNG・JPEG のファイルだけ添付できます。"))
    if PurePath(name).suffix.lower() not in ACCEPTED[content_type][1]:
        raise ValueError(_("ファイルの中身と拡張子が一致しません。"))
    return content_type
