"""The certificates the city issues: 住民票の写し, 印鑑登録証明書, 課税証明書."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from residents.selectors import household_members, movement_history

from .. import workflow
from . import CertificateKindBase, register

# 住民票の写し: a child's relationship to the head is written 子, whatever the order of birth.
_CHILD_RELATIONSHIPS = {
    "長男",
    "長女",
    "二男",
    "二女",
    "次男",
    "次女",
    "三男",
    "三女",
    "四男",
    "四女",
    "五男",
    "五女",
}
_SEX = {"male": "男", "female": "女"}

INCLUDE_RELATIONSHIP = "relationship"
INCLUDE_DOMICILE = "domicile"
INCLUDE_RESIDENT_CODE = "resident_code"
INCLUDE_MYNUMBER = "mynumber"

MSG_MYNUMBER_NOT_ENTITLED = gettext_lazy(
    "個人番号は、本人または同じ世帯の方の請求でなければ記載できません。"
)
MSG_MYNUMBER_NO_APPROVER = gettext_lazy("個人番号の記載を承認した職員が記録されていません。")


def wareki(d: date | None) -> str:
    """A date as 令和8年4月1日 (era names from Meiji on; dates before 1868 in the Gregorian form)."""
    if d is None:
        return ""
    eras = (
        (date(2019, 5, 1), "令和"),
        (date(1989, 1, 8), "平成"),
        (date(1926, 12, 25), "昭和"),
        (date(1912, 7, 30), "大正"),
        (date(1868, 1, 25), "明治"),
    )
    for start, name in eras:
        if d >= start:
            year = d.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"
    return f"{d.year}年{d.month}月{d.day}日"


def certificate_relationship(relationship: str) -> str:
    return "子" if relationship in _CHILD_RELATIONSHIPS else relationship


def full_address(address) -> str:
    """The address as a certificate prints it: prefecture and city before the town (the
    register keeps only the part inside the city)."""
    if address is None:
        return ""
    return f"{settings.PREFECTURE}{settings.CITY_NAME}{address.label}"


# What the certificate's closing statement says it copies (住民基本台帳法12条: the applicant
# chooses whose records are copied).
SCOPE_WHOLE_HOUSEHOLD = "世帯全員"
SCOPE_PART_OF_HOUSEHOLD = "世帯の一部"
SCOPE_INDIVIDUAL = "個人"


def residence_scope(*, printed: int, household_size: int) -> str:
    """世帯全員 when every current member is printed, 個人 for one person out of several,
    世帯の一部 for some of them."""
    if printed >= household_size:
        return SCOPE_WHOLE_HOUSEHOLD
    if printed == 1:
        return SCOPE_INDIVIDUAL
    return SCOPE_PART_OF_HOUSEHOLD


@register
class ResidenceCertificate(CertificateKindBase):
    """住民票の写し (住民基本台帳法12条): the chosen household members, with the optional
    items (続柄, 本籍・筆頭者, 住民票コード, 個人番号) only when the applicant asked for them."""

    key = "residence"
    title = "住民票の写し"
    template = "procedures/certificates/residence.html"
    form_fields = (
        {
            "id": "members",
            "type": "multi_choice",
            "label": {"ja": "記載する人", "en": "Whose record"},
            "required": True,
            "prefill": "household_members",
        },
        {
            "id": "include",
            "type": "multi_choice",
            "label": {
                "ja": "記載する項目（必要な場合のみ）",
                "en": "Optional items (only if needed)",
            },
            "choices": [
                {"value": INCLUDE_RELATIONSHIP, "label": {"ja": "続柄", "en": "Relationship"}},
                {
                    "value": INCLUDE_DOMICILE,
                    "label": {"ja": "本籍・筆頭者", "en": "Registered domicile and its head"},
                },
                {
                    "value": INCLUDE_RESIDENT_CODE,
                    "label": {"ja": "住民票コード", "en": "Resident code"},
                },
                {"value": INCLUDE_MYNUMBER, "label": {"ja": "個人番号", "en": "My Number"}},
            ],
        },
    )

    def build(self, application) -> tuple[dict[str, Any], dict[str, Any]]:
        applicant = application.applicant
        answers = application.answers
        household = household_members(applicant)
        chosen = {str(v) for v in answers.get("members") or [str(applicant.pk)]}
        members = [m for m in household if str(m.pk) in chosen] or [applicant]
        include = set(answers.get("include") or [])
        head = next((m for m in household if m.is_head), None)
        hh = applicant.household
        mynumbers = (
            _mynumbers(application, members, household) if INCLUDE_MYNUMBER in include else {}
        )
        people = []
        for member in members:
            last = movement_history(member).last()
            people.append(
                {
                    "name": member.full_name,
                    "kana": member.full_name_kana,
                    "birth_date": wareki(member.birth_date),
                    "sex": _SEX.get(member.sex, member.sex),
                    "became_resident_on": wareki(member.became_resident_on),
                    "relationship": certificate_relationship(member.relationship)
                    if INCLUDE_RELATIONSHIP in include
                    else None,
                    "domicile": member.registered_domicile if INCLUDE_DOMICILE in include else None,
                    "domicile_head": member.domicile_head if INCLUDE_DOMICILE in include else None,
                    "resident_code": member.resident_code
                    if INCLUDE_RESIDENT_CODE in include
                    else None,
                    "mynumber": mynumbers.get(member.pk),
                    "last_movement": {
                        "kind": last.get_kind_display(),
                        "effective_on": wareki(last.effective_on),
                        "notified_on": wareki(last.notified_on),
                        "previous_address": (last.previous or {}).get("address") or "",
                    }
                    if last
                    else None,
                }
            )
        context = {
            "address": full_address(hh.address) if hh else "",
            "address_since": wareki(hh.address_since) if hh else "",
            "head_name": head.full_name if head else applicant.full_name,
            "people": people,
            "layout": "household" if len(people) > 1 else "individual",
            "scope": residence_scope(printed=len(people), household_size=len(household) or 1),
        }
        summary = {"names": [p["name"] for p in people]}
        return context, summary

    def prints_mynumber(self, application) -> bool:
        return INCLUDE_MYNUMBER in set(application.answers.get("include") or [])


def _mynumbers(application, members, household) -> dict[int, str]:
    """個人番号 of each member, for a 住民票の写し whose applicant asked for it.

    住民基本台帳法12条5項: only on request, and only for the person or members of the same
    household; so the applicant must be the one who asked (from their own account, or in person
    at the counter, where the clerk checked their identity) and every member printed must be in
    the applicant's current household. The clerk who approved the request is the one accessing
    the number (audited by residents).
    """
    from residents.services import mynumber_for_certificate

    from ..services import mynumber_approval_problem

    applicant = application.applicant
    asked_in_person = application.is_counter_filing and application.counter_confirmed_at
    asked_online = application.user_id is not None and application.user_id == applicant.user_id
    same_household = {m.pk for m in household} | {applicant.pk}
    if not (asked_in_person or asked_online) or any(m.pk not in same_household for m in members):
        raise ValidationError(MSG_MYNUMBER_NOT_ENTITLED)
    approval = (
        application.events.filter(to_state=workflow.APPROVED).order_by("-created_at", "-id").first()
    )
    if approval is None or approval.actor is None:
        raise ValidationError(MSG_MYNUMBER_NO_APPROVER)
    # The four-eyes rule is checked when approving; checked again here, where the number is read.
    problem = mynumber_approval_problem(application, approval.actor)
    if problem:
        raise ValidationError(problem)
    purpose = f"住民票の写しへの記載（受付番号 {application.reference}）"
    return {
        m.pk: mynumber_for_certificate(
            resident=m, actor=approval.actor, purpose=purpose, own_request=bool(asked_online)
        )
        for m in members
    }


@register
class SealCertificate(CertificateKindBase):
    """印鑑登録証明書: the registered impression, name, birth date, address and number."""

    key = "seal"
    title = "印鑑登録証明書"
    template = "procedures/certificates/seal.html"

    def build(self, application) -> tuple[dict[str, Any], dict[str, Any]]:
        from ..models import SealRegistration
        from .assets import data_uri

        applicant = application.applicant
        registration = SealRegistration.objects.filter(
            resident=applicant, revoked_on__isnull=True
        ).first()
        if registration is None:
            raise ValidationError(_("印鑑登録がありません。"))
        hh = applicant.household
        context = {
            "name": applicant.full_name,
            "birth_date": wareki(applicant.birth_date),
            "sex": _SEX.get(applicant.sex, applicant.sex),
            "address": full_address(hh.address) if hh else "",
            "number": registration.number,
            "impression_uri": data_uri(registration.impression_svg.encode(), "image/svg+xml"),
        }
        return context, {"names": [applicant.full_name]}


@register
class TaxCertificate(CertificateKindBase):
    """課税証明書: the assessment of the fiscal year the applicant chose (from the registered tax
    source), or for years assessed elsewhere the charges payments keeps."""

    key = "tax"
    title = "課税証明書"
    template = "procedures/certificates/tax.html"
    form_fields = (
        {
            "id": "fiscal_year",
            "type": "number",
            "label": {"ja": "年度", "en": "Fiscal year"},
            "required": True,
            "min_value": 2015,
            "max_value": 2100,
            "help": {"ja": "例: 2026", "en": "e.g. 2026"},
        },
    )

    def build(self, application) -> tuple[dict[str, Any], dict[str, Any]]:
        from payments.selectors import tax_summary

        from . import tax_rows

        applicant = application.applicant
        fiscal_year = int(application.answers.get("fiscal_year") or timezone.localdate().year)
        assessed = tax_rows(applicant, fiscal_year)
        if assessed is not None:
            rows = [{"label": label, "value": f"{amount:,}円"} for label, amount in assessed]
        else:
            summary = tax_summary(applicant, fiscal_year)
            # payments.selectors.tax_summary: {"fiscal_year", "taxes": [{"code", "name", "amount"}], "total"}
            rows = [
                {"label": tax["name"], "value": f"{tax['amount']:,}円"}
                for tax in summary.get("taxes", [])
            ]
            if rows:
                rows.append({"label": "合計", "value": f"{summary.get('total', 0):,}円"})
        if not rows:
            raise ValidationError(_("この年度の課税記録がありません。"))
        hh = applicant.household
        context = {
            "name": applicant.full_name,
            "birth_date": wareki(applicant.birth_date),
            "address": full_address(hh.address) if hh else "",
            "fiscal_year": fiscal_year,
            "fiscal_year_wareki": wareki(date(fiscal_year, 4, 1)).split("年")[0] + "年度",
            "rows": rows,
        }
        return context, {"names": [applicant.full_name], "fiscal_year": fiscal_year}
