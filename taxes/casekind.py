"""The 住民税申告 case kind: how a declaration lives in procedures' case workflow."""

from __future__ import annotations

from django.urls import reverse

from procedures.casekinds import CaseKind, register


def L(ja: str, en: str) -> dict:  # noqa: N802 - reads like the label it builds
    return {"ja": ja, "en": en}


SLUG = "jumin-shinkoku"

PROCEDURE = {
    "slug": SLUG,
    "name_ja": "市民税・県民税申告（住民税申告）",
    "name_en": "Resident tax declaration",
    "description_ja": "前年の所得と控除を申告します（地方税法317条の2）。確定申告をした方は不要です。",
    "description_en": "Declare last year's income and deductions (not needed if you filed an "
    "income tax return).",
    "department": "individual_tax",
    "life_events": ["tax"],
    "fee_yen": None,
    "processing_days": 10,
    "required_attachments": ["源泉徴収票（給与・年金がある方）", "控除を受ける保険料・医療費の証明書"],
    "fields": [
        {"id": "name", "type": "text", "label": L("氏名", "Name"), "required": True,
         "max_length": 40, "prefill": "name"},
        {"id": "address", "type": "address", "label": L("住所", "Address"), "required": True,
         "max_length": 120, "prefill": "address"},
        {"id": "fiscal_year", "type": "number", "label": L("年度", "Fiscal year"),
         "required": True, "min_value": 2021, "max_value": 2100},
        {"id": "summary", "type": "long_text", "label": L("申告の内容", "What was declared"),
         "required": True, "max_length": 4000},
        {"id": "estimate", "type": "number", "label": L("試算した税額（円）", "Estimated tax (yen)"),
         "min_value": 0},
        {"id": "withholding_slip", "type": "file",
         "label": L("源泉徴収票", "Withholding slip (源泉徴収票)"),
         "help": L("給与・年金の源泉徴収票の写し（PDF・PNG・JPEG）",
                   "A copy of the withholding slip for salary or pension (PDF, PNG, JPEG)")},
        {"id": "receipts", "type": "file",
         "label": L("保険料・医療費などの証明書", "Receipts for insurance and medical costs"),
         "help": L("控除を受けるための証明書や領収書（PDF・PNG・JPEG）",
                   "Certificates and receipts for the deductions (PDF, PNG, JPEG)")},
    ],
}  # fmt: skip


def _resident_url(application) -> str:
    from .models import Declaration

    declaration = Declaration.objects.filter(application=application).first()
    if declaration is None:
        return reverse("taxes:my_tax")
    return reverse("taxes:declaration_topic", args=[declaration.pk, "income"])


def _staff_link(application) -> tuple[str, str] | None:
    from django.utils.translation import gettext

    from .models import Declaration

    declaration = Declaration.objects.filter(application=application).first()
    if declaration is None:
        return None
    return (
        reverse("taxes:staff_declaration", args=[declaration.pk]),
        gettext("申告内容を確認・修正する"),
    )


def _on_transition(application, previous: str, target: str, actor) -> None:
    from . import services

    services.case_moved(application=application, target=target)


KIND = register(
    CaseKind(
        procedure=PROCEDURE,
        resident_url=_resident_url,
        staff_link=_staff_link,
        on_transition=_on_transition,
    )
)
