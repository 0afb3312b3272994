"""Reads of procedures, forms, applications and certificates that views and other apps may use."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cityhall.japanese import search_key
from residents.relationships import relationship_label
from residents.selectors import household_members

from . import formschema, search, workflow
from .models import (
    Application,
    Certificate,
    CertificateKind,
    Department,
    FormDefinition,
    Procedure,
)


def search_procedures(query: str = "", *, life_event: str = "") -> QuerySet[Procedure]:
    """Active procedures matching every word of `query` (full-width, half-width, hiragana and
    katakana alike; a reading or an everyday word such as 引越し counts, see procedures.search),
    the whole name first, then names starting with it, then the rest; optionally for one life
    event, in checklist order (what is done first comes first)."""
    qs = Procedure.objects.filter(is_active=True)
    for word in search.words(query):
        match = Q()
        for alternative in search.alternatives(word):
            match |= Q(search_text__contains=alternative)
        qs = qs.filter(match)
    if life_event:
        qs = qs.filter(life_events__contains=[life_event])
    key = search_key(query).strip()
    if not key:
        order = ("checklist_order", "department", "name_ja") if life_event else ("department",)
        return qs.order_by(*order, "name_ja")
    ranked = qs.annotate(
        rank=Case(
            When(search_names__contains=f"|{key}|", then=Value(search.RANK_EXACT)),
            When(search_names__contains=f"|{key}", then=Value(search.RANK_PREFIX)),
            When(search_names__contains=key, then=Value(search.RANK_IN_NAME)),
            default=Value(search.RANK_ELSEWHERE),
        )
    )
    return ranked.order_by("rank", "checklist_order", "department", "name_ja")


def catalogue_version() -> str:
    """Changes whenever any procedure row changes (its id, xmin and ctid, which PostgreSQL
    renews on every write): the key of the cached catalogue pages and fragments, so an admin's edit is
    shown at once. One index-free read of a table of a few hundred rows at most."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(coalesce(string_agg(id::text || ':' || xmin::text || ctid::text, ','"
            " ORDER BY id), ''))"
            f" FROM {Procedure._meta.db_table}"
        )
        return cursor.fetchone()[0]


def catalogue_by_department() -> list[tuple[str, list[Procedure]]]:
    """Every active procedure under its department's name, for /procedures/ without a query."""
    groups: dict[str, list[Procedure]] = {}
    for procedure in Procedure.objects.filter(is_active=True).order_by("department", "name_ja"):
        groups.setdefault(procedure.department, []).append(procedure)
    return [(str(Department(code).label), items) for code, items in groups.items()]


def published_form(procedure: Procedure) -> FormDefinition | None:
    """The newest published version of a procedure's form: what new applications are filed on."""
    return procedure.forms.filter(published_at__isnull=False).order_by("-version").first()


def draft_form(procedure: Procedure) -> FormDefinition | None:
    return procedure.forms.filter(published_at__isnull=True).first()


def applications_of_user(user) -> QuerySet[Application]:
    return Application.objects.filter(user=user).select_related("procedure")


def applications_for_resident(resident) -> QuerySet[Application]:
    """Applications filed by or for this resident, newest first: those naming them as the
    applicant (online or at the counter) and those made from their linked portal account."""
    who = Q(applicant=resident)
    if resident.user_id is not None:
        who |= Q(user_id=resident.user_id)
    return (
        Application.objects.filter(who)
        .select_related("procedure", "applicant")
        .order_by("-created_at", "-id")
    )


def certificates_for_resident(resident) -> QuerySet[Certificate]:
    """Certificates issued to this resident or about them (a household member's 住民票の写し that
    lists them), newest first."""
    about = Q(application__applicant=resident) | Q(
        kind=CertificateKind.RESIDENCE, application__answers__members__contains=[str(resident.pk)]
    )
    return (
        Certificate.objects.filter(about)
        .select_related("application__procedure", "application__applicant")
        .order_by("-issued_at", "-id")
    )


def is_overdue(application: Application, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return (
        application.due_on is not None
        and application.state not in workflow.FINAL_STATES
        and application.due_on < today
    )


def case_queue(
    *,
    procedure: str = "",
    state: str = "",
    due_before: date | None = None,
    assignee=None,
    unassigned: bool = False,
    needs_attention: bool = False,
) -> QuerySet[Application]:
    """Applications for clerks: by default those waiting for the city, oldest deadline first.
    `needs_attention`: only approved cases whose certificate could not be issued (要対応)."""
    qs = Application.objects.select_related("procedure", "applicant", "assignee").exclude(
        state=workflow.DRAFT
    )
    if needs_attention:
        qs = qs.filter(needs_attention_since__isnull=False, state=workflow.APPROVED)
    if state:
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=workflow.OPEN_FOR_CLERK)
    if procedure:
        qs = qs.filter(procedure__slug=procedure)
    if due_before:
        qs = qs.filter(due_on__lte=due_before)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    if unassigned:
        qs = qs.filter(assignee__isnull=True)
    return qs.order_by("due_on", "submitted_at", "id")


def certificate_by_code(code: str) -> Certificate | None:
    normalised = normalise_code(code)
    return Certificate.objects.filter(verification_code=normalised).first()


def normalise_code(code: str) -> str:
    """ABCD-EFGH-… in capitals; people may type it in lower case or without the hyphens."""
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def household_choices(resident) -> list[tuple[str, str]]:
    """(value, label) for choosing household members on a certificate request."""
    return [
        (
            str(m.pk),
            _("%(name)s（%(relationship)s）")
            % {"name": m.full_name, "relationship": relationship_label(m.relationship)},
        )
        for m in household_members(resident)
    ]


def dynamic_choices(definition: dict, resident) -> dict[str, list[tuple[str, str]]]:
    """Per-applicant choices of the fields that list the household."""
    out: dict[str, list[tuple[str, str]]] = {}
    for field in formschema.all_fields(definition):
        if field.get("prefill") == "household_members":
            out[field["id"]] = household_choices(resident)
    return out


def prefill_values(definition: dict, resident) -> dict[str, Any]:
    """Initial answers taken from the resident record (書かない窓口 and the portal alike)."""
    household = resident.household
    address = household.address if household else None
    return _prefill(
        definition,
        {
            "name": resident.full_name,
            "name_kana": resident.full_name_kana,
            "family_name": resident.family_name,
            "given_name": resident.given_name,
            "birth_date": resident.birth_date.isoformat(),
            "sex": resident.sex,
            "address": address.label if address else "",
            "postal_code": address.postal_code if address else "",
            "household_members": [str(resident.pk)],
        },
        full_address=f"{settings.PREFECTURE}{settings.CITY_NAME}{address.label}" if address else "",
    )


# A fictitious resident for previews with no record chosen (no one's personal data).
SAMPLE_PERSON = {
    "name": "見本 太郎",
    "name_kana": "ミホン タロウ",
    "family_name": "見本",
    "given_name": "太郎",
    "birth_date": "1990-04-01",
    "sex": "male",
    "address": "本町1丁目1番1号",
    "postal_code": "190-0011",
    "household_members": ["sample-1"],
}


def sample_household() -> list[tuple[str, str]]:
    return [("sample-1", _("見本 太郎（本人）")), ("sample-2", _("見本 花子（妻）"))]


def sample_prefill(definition: dict) -> dict[str, Any]:
    """Initial answers for a preview without a resident record: the fictitious 見本 太郎."""
    full = f"{settings.PREFECTURE}{settings.CITY_NAME}{SAMPLE_PERSON['address']}"
    return _prefill(definition, SAMPLE_PERSON, full_address=full)


def _prefill(definition: dict, sources: dict[str, Any], *, full_address: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in formschema.all_fields(definition):
        source = field.get("prefill")
        if source not in sources:
            continue
        if field["type"] == "address" and field.get("postal_lookup"):
            # The lookup fills prefecture and city, so the prefilled address carries them too.
            out[field["id"]] = {"postal_code": sources["postal_code"], "address": full_address}
        else:
            out[field["id"]] = sources[source]
    return out


def visible_events(application: Application) -> QuerySet:
    return application.events.filter(visible_to_applicant=True).select_related("actor")


def fee_paid(application: Application) -> int:
    """The fee the applicant has paid for this application (0 when none or not yet paid): the
    case leaves 手数料のお支払い待ち only once the fee charge is settled."""
    unpaid = (workflow.DRAFT, workflow.SUBMITTED, workflow.AWAITING_PAYMENT)
    if not application.fee_yen or application.charge_id is None or application.state in unpaid:
        return 0
    return application.fee_yen


# --- the form designer ---------------------------------------------------------------------------


def form_versions(procedure: Procedure) -> QuerySet[FormDefinition]:
    return procedure.forms.select_related("created_by", "approved_by").order_by("-version")


def latest_form(procedure: Procedure) -> FormDefinition | None:
    """The newest version, published or not: what the designer edits next."""
    return procedure.forms.order_by("-version").first()


def publish_checklist(procedure: Procedure, definition: dict) -> list[formschema.Problem]:
    """Everything that blocks publishing this definition for this procedure: the form's own
    problems (formschema.publish_problems) and the procedure's (English name, the fee and its
    revenue, the questions its certificate reads, the signature the law asks for)."""
    from payments.selectors import fee_revenues

    from .certificates import get as certificate_kind
    from .models import JPKI_CERTIFICATE_KINDS, FeeRule, IdentityLevel

    problems = list(formschema.publish_problems(definition))
    add = problems.append
    settings_problem = "procedure"
    if not procedure.name_en.strip():
        add(formschema.Problem(settings_problem, _("手続の英語の名称がありません。")))
    if not procedure.description_ja.strip():
        add(formschema.Problem(settings_problem, _("手続の説明がありません。")))
    elif not procedure.description_en.strip():
        add(formschema.Problem(settings_problem, _("手続の説明に英語がありません。")))
    if procedure.fee_rule != FeeRule.NONE:
        revenues = dict(fee_revenues())
        if not procedure.fee_revenue:
            add(formschema.Problem("fee", _("手数料を収める歳入科目が選ばれていません。")))
        elif procedure.fee_revenue not in revenues:
            add(
                formschema.Problem(
                    "fee",
                    _("手数料の歳入科目「%(code)s」がありません。")
                    % {"code": procedure.fee_revenue},
                )
            )
    fields = formschema.all_fields(definition)
    if procedure.fee_rule in (FeeRule.FIXED, FeeRule.PER_COPY) and not procedure.fee_yen:
        add(formschema.Problem("fee", _("手数料の額がありません。")))
    if procedure.fee_rule == FeeRule.PER_COPY and not any(f.get("counts_copies") for f in fields):
        add(
            formschema.Problem(
                "fee", _("1通あたりの手数料には、通数を聞く数の質問（通数として使う）が必要です。")
            )
        )
    if procedure.fee_rule == FeeRule.BY_CHOICE and not any(
        c.get("fee") for f in fields for c in f.get("choices", [])
    ):
        add(formschema.Problem("fee", _("手数料のある選択肢が一つもありません。")))
    if procedure.certificate_kind:
        kind = certificate_kind(procedure.certificate_kind)
        by_id = {f["id"]: f for f in fields}
        for needed in kind.form_fields:
            have = by_id.get(needed["id"])
            if have is None or have["type"] != needed["type"]:
                add(
                    formschema.Problem(
                        "certificate_fields",
                        _("交付する証明書「%(kind)s」には質問「%(label)s」が必要です。")
                        % {
                            "kind": CertificateKind(procedure.certificate_kind).label,
                            "label": formschema.label(needed["label"], _lang()),
                        },
                        field=needed["id"],
                    )
                )
        online = not procedure.counter_only
        if (
            online
            and procedure.certificate_kind in JPKI_CERTIFICATE_KINDS
            and procedure.identity_level != IdentityLevel.JPKI
        ):
            # 住民票の写し等のオンライン請求は電子署名で本人確認する（情報通信技術活用法6条）。
            add(
                formschema.Problem(
                    "procedure",
                    _(
                        "オンラインで証明書を請求する手続には、マイナンバーカードの電子署名が必要です。"
                    ),
                )
            )
    return problems


def _lang() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"
