"""Residents (straight rows through the ORM, current residents/models.py fields only),
procedures with published forms, and applications for the procedures tests."""

from __future__ import annotations

import itertools
from datetime import date

from cityhall.japanese import normalize_name, search_key
from procedures import services
from procedures.models import FormDefinition, Procedure
from residents.models import Address, Household, Resident

_seq = itertools.count(1)


def make_household(
    *, town: str = "本町", chome: int = 3, banchi: str = "12", go: str = "4"
) -> Household:
    n = next(_seq)
    address = Address.objects.create(
        postal_code="100-0001",
        town=town,
        chome=chome,
        banchi=banchi,
        go=f"{go}{n}",
        normalized=f"{town}{chome}-{banchi}-{go}{n}",
    )
    return Household.objects.create(
        number=f"9{n:08d}",
        address=address,
        address_since=date(2020, 4, 1),
        formed_on=date(2020, 4, 1),
    )


def make_resident(
    *,
    household: Household | None = None,
    user=None,
    family_name: str = "山田",
    given_name: str = "太郎",
    family_name_kana: str = "ヤマダ",
    given_name_kana: str = "タロウ",
    birth_date: date = date(1980, 5, 1),
    sex: str = "male",
    relationship: str = "世帯主",
    is_head: bool | None = None,
    registered_domicile: str = "東京都千代田区千代田1番",
    domicile_head: str = "山田 一郎",
) -> Resident:
    household = household or make_household()
    if is_head is None:
        is_head = not household.members.filter(is_head=True).exists()
    n = next(_seq)
    return Resident.objects.create(
        resident_code=f"{n:011d}",
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        birth_date=birth_date,
        sex=sex,
        household=household,
        relationship=relationship if is_head or relationship != "世帯主" else "妻",
        is_head=is_head,
        became_resident_on=date(2020, 4, 1),
        registered_domicile=registered_domicile,
        domicile_head=domicile_head,
        user=user,
        search_name=normalize_name(f"{family_name} {given_name}"),
        search_kana=search_key(f"{family_name_kana} {given_name_kana}"),
    )


RESIDENCE_FORM = {
    "fields": [
        {
            "id": "name",
            "type": "text",
            "label": {"ja": "氏名", "en": "Name"},
            "required": True,
            "max_length": 40,
            "prefill": "name",
        },
        {
            "id": "address",
            "type": "address",
            "label": {"ja": "住所", "en": "Address"},
            "required": True,
            "prefill": "address",
        },
        {
            "id": "members",
            "type": "multi_choice",
            "label": {"ja": "必要な人", "en": "Whose record"},
            "required": True,
            "prefill": "household_members",
        },
        {
            "id": "include",
            "type": "multi_choice",
            "label": {"ja": "記載する項目", "en": "Optional items"},
            "choices": [
                {"value": "relationship", "label": {"ja": "続柄", "en": "Relationship"}},
                {"value": "domicile", "label": {"ja": "本籍・筆頭者", "en": "Registered domicile"}},
                {"value": "resident_code", "label": {"ja": "住民票コード", "en": "Resident code"}},
                {"value": "mynumber", "label": {"ja": "個人番号", "en": "My Number"}},
            ],
        },
        {
            "id": "purpose",
            "type": "text",
            "label": {"ja": "使いみち", "en": "Purpose"},
            "required": True,
            "max_length": 100,
        },
    ]
}


def _fee_rule(definition: dict, fee_yen: int | None) -> str:
    fields = definition.get("fields") or [f for p in definition["pages"] for f in p["fields"]]
    if any("fee" in choice for field in fields for choice in field.get("choices", [])):
        return "by_choice"
    return "fixed" if fee_yen else "none"


def make_procedure(
    *,
    slug: str | None = None,
    name_ja: str = "住民票の写しの交付請求",
    fee_yen: int | None = None,
    certificate_kind: str = "",
    definition: dict | None = None,
    admin=None,
    life_events: list[str] | None = None,
    counter_only: bool = False,
    fee_rule: str | None = None,
) -> Procedure:
    procedure = services.save_procedure(
        procedure=Procedure(
            slug=slug or f"proc-{next(_seq)}",
            name_ja=name_ja,
            name_en="Certificate of residence",
            description_ja=f"{name_ja}の手続きです。",
            description_en="How to apply for it online.",
            department="juki",
            life_events=life_events or ["moving"],
            fee_yen=fee_yen,
            # As migration 0013 read the rows from before the designer.
            fee_rule=fee_rule or _fee_rule(definition or RESIDENCE_FORM, fee_yen),
            fee_revenue="fee",
            certificate_kind=certificate_kind,
            processing_days=3,
            counter_only=counter_only,
        )
    )
    FormDefinition.objects.create(
        procedure=procedure, version=1, definition=definition or RESIDENCE_FORM, created_by=admin
    )
    form = procedure.forms.get()
    form.published_at = "2026-01-05T09:00:00+09:00"
    form.save()
    return procedure


def approved_application(resident, procedure, clerk, answers: dict, *, user=None):
    """An application filed online by the resident's account (or `user`), submitted and
    approved by `clerk` (the certificate task is queued on commit, so tests issue it themselves)."""
    application = services.start_application(
        procedure=procedure, resident=resident, user=user or resident.user
    )
    services.submit_application(application=application, actor=application.user, answers=answers)
    services.decide(application=application, target="approved", clerk=clerk, comment="")
    application.refresh_from_db()
    return application


def pdf_text(certificate) -> str:
    """The text of a stored certificate PDF."""
    import io

    from pypdf import PdfReader

    from procedures.certificates import storage

    reader = PdfReader(io.BytesIO(storage.read(certificate)))
    return "".join(page.extract_text() for page in reader.pages)
