"""The declaration's pages (one topic each), the simulation, and the staff forms.

Amounts accept what people type: full-width digits, commas and 円 are fine; anything else gets a
message next to the field naming the fix. Each topic form's ``values()`` is what the declaration
stores for that topic (see ``inputs.py``).
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from cityhall.japanese import normalize_text

from . import labels
from .templatetags.taxes_format import format_fiscal

MAX_YEN = 10_000_000_000


class YenField(forms.CharField):
    """Whole yen, 0 or more. "３,５００,０００円" is 3500000."""

    def __init__(self, *, label, help_text="", required=False, **kwargs):
        super().__init__(label=label, help_text=help_text, required=required, **kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def clean(self, value):
        text = normalize_text(str(value or "")).replace(",", "").replace("円", "").strip()
        if not text:
            if self.required:
                raise forms.ValidationError(_("金額を入力してください。"), code="required")
            return 0
        if not text.isdigit():
            raise forms.ValidationError(
                _("金額は0以上の整数（半角・全角の数字）で入力してください。例: 3500000"),
                code="invalid",
            )
        amount = int(text)
        if amount > MAX_YEN:
            raise forms.ValidationError(_("金額が大きすぎます。桁を確かめてください。"), code="max")
        return amount


class TopicForm(forms.Form):
    topic = ""

    def values(self) -> dict:
        return dict(self.cleaned_data)

    @classmethod
    def initial_from(cls, data: dict) -> dict:
        return dict(data.get(cls.topic) or {})

    def error_summary(self) -> list[tuple[str, str]]:
        out = []
        for name, errors in self.errors.items():
            field = self.fields.get(name)
            label = field.label if field is not None else ""
            for message in errors:
                out.append((name, f"{label}: {message}" if label else message))
        return out


class IncomeForm(TopicForm):
    topic = "income"
    salary_revenue = YenField(
        label=_("給与の収入金額"),
        help_text=_("源泉徴収票の「支払金額」。勤め先が複数あるときは合計します。"),
    )
    pension_revenue = YenField(
        label=_("公的年金等の収入金額"),
        help_text=_("年金の源泉徴収票の「支払金額」。"),
    )
    other_income = YenField(
        label=_("その他の所得金額"),
        help_text=_("事業・不動産・雑所得などの収入から必要経費を引いた額。"),
    )


class InsuranceForm(TopicForm):
    topic = "insurance"
    social_insurance = YenField(
        label=_("社会保険料"),
        help_text=_(
            "国民健康保険料、国民年金保険料、給与から引かれた社会保険料など、払った額の合計。"
        ),
    )
    life_new_general = YenField(label=_("一般生命保険料（新契約）"))
    life_old_general = YenField(label=_("一般生命保険料（旧契約）"))
    life_nursing_medical = YenField(label=_("介護医療保険料"))
    life_new_annuity = YenField(label=_("個人年金保険料（新契約）"))
    life_old_annuity = YenField(label=_("個人年金保険料（旧契約）"))
    earthquake_insurance = YenField(label=_("地震保険料"))


class MedicalForm(TopicForm):
    topic = "medical"
    medical_paid = YenField(label=_("支払った医療費"))
    medical_reimbursed = YenField(
        label=_("保険金などで補てんされる金額"),
        help_text=_("高額療養費、出産育児一時金、医療保険の給付金など。"),
    )

    def clean(self):
        cleaned = super().clean()
        paid = cleaned.get("medical_paid")
        back = cleaned.get("medical_reimbursed")
        if paid is not None and back is not None and back > paid:
            self.add_error(
                "medical_reimbursed",
                _("補てんされる金額は、支払った医療費より大きくできません。"),
            )
        return cleaned

    def values(self) -> dict:
        paid = self.cleaned_data["medical_paid"]
        back = self.cleaned_data["medical_reimbursed"]
        return {"medical_paid": paid, "medical_reimbursed": back, "medical_expenses": paid - back}


class HousingForm(TopicForm):
    topic = "housing"
    housing_loan_credit = YenField(
        label=_("住宅借入金等特別控除のうち所得税から引ききれなかった額"),
        help_text=_(
            "源泉徴収票の「住宅借入金等特別控除可能額」から「住宅借入金等特別控除の額」を引いた額。"
        ),
    )


CLAIM_CHOICES = list(labels.CLAIMS.items())
DISABILITY_CHOICES = list(labels.DISABILITIES.items())


class FamilyForm(TopicForm):
    """Own status, then one block per household member (from the register) and up to two more
    people who live elsewhere. Fields of a member are named ``m-<key>-<field>``."""

    topic = "family"
    EXTRA = ("x1", "x2")

    widow = forms.BooleanField(label=_("寡婦にあたる"), required=False)
    single_parent = forms.ChoiceField(
        label=_("ひとり親"), choices=list(labels.SINGLE_PARENT.items()), required=False
    )
    disability = forms.ChoiceField(
        label=_("あなたの障害者控除"), choices=DISABILITY_CHOICES, required=False
    )
    working_student = forms.BooleanField(label=_("勤労学生にあたる"), required=False)

    def __init__(self, *args, members: list[dict], fiscal_year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = [m for m in members if m.get("resident_id")]
        self.fiscal_year = fiscal_year
        for member in self.members:
            self._member_fields(member["key"], register=True)
        for key in self.EXTRA:
            self._member_fields(key, register=False)

    def _member_fields(self, key: str, *, register: bool) -> None:
        prefix = f"m-{key}-"
        if not register:
            self.fields[prefix + "name"] = forms.CharField(
                label=_("氏名"), max_length=40, required=False
            )
            self.fields[prefix + "birth_date"] = forms.DateField(
                label=_("生年月日"),
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={"invalid": _("生年月日を 1990-04-01 の形で入力してください。")},
            )
        self.fields[prefix + "claim"] = forms.ChoiceField(
            label=_("控除"), choices=CLAIM_CHOICES, required=False
        )
        self.fields[prefix + "income"] = YenField(
            label=_("その人の合計所得金額"),
            help_text=_(
                "収入がなければ0。パート収入だけなら給与所得（収入から給与所得控除を引いた額）。"
            ),
        )
        self.fields[prefix + "lives_with"] = forms.BooleanField(
            label=_("同居している"), required=False
        )
        self.fields[prefix + "parent"] = forms.BooleanField(
            label=_("あなたか配偶者の親・祖父母"), required=False
        )
        self.fields[prefix + "disability"] = forms.ChoiceField(
            label=_("障害者控除"), choices=DISABILITY_CHOICES, required=False
        )

    @classmethod
    def initial_for(cls, data: dict) -> dict:
        family = data.get("family") or {}
        initial = {
            "widow": bool(family.get("widow")),
            "single_parent": family.get("single_parent") or "",
            "disability": family.get("disability") or "",
            "working_student": bool(family.get("working_student")),
        }
        for member in family.get("members") or []:
            prefix = f"m-{member['key']}-"
            for name in ("claim", "income", "lives_with", "parent", "disability"):
                initial[prefix + name] = member.get(name, "")
            if not member.get("resident_id"):
                initial[prefix + "name"] = member.get("name", "")
                initial[prefix + "birth_date"] = member.get("birth_date", "")
        return initial

    def blocks(self) -> list[dict]:
        """Per person: the bound fields, for the template."""
        out = []
        for member in self.members:
            out.append({"member": member, "fields": self._bound(member["key"], register=True)})
        for key in self.EXTRA:
            out.append({"member": {"key": key}, "fields": self._bound(key, register=False)})
        return out

    def _bound(self, key: str, *, register: bool) -> list:
        names = ([] if register else ["name", "birth_date"]) + [
            "claim",
            "income",
            "lives_with",
            "parent",
            "disability",
        ]
        return [self[f"m-{key}-{name}"] for name in names]

    def clean(self):
        cleaned = super().clean()
        spouses = 0
        for key in [m["key"] for m in self.members] + list(self.EXTRA):
            prefix = f"m-{key}-"
            claim = cleaned.get(prefix + "claim")
            spouses += claim == "spouse"
            if key in self.EXTRA and claim:
                if not cleaned.get(prefix + "name"):
                    self.add_error(prefix + "name", _("控除する人の氏名を入力してください。"))
                born = cleaned.get(prefix + "birth_date")
                if born is None and prefix + "birth_date" not in self.errors:
                    self.add_error(
                        prefix + "birth_date", _("控除する人の生年月日を入力してください。")
                    )
                elif born is not None and born > date(self.fiscal_year - 1, 12, 31):
                    self.add_error(
                        prefix + "birth_date", _("申告する年の12月31日より後の日付です。")
                    )
        if spouses > 1:
            first = next(
                f"m-{k}-claim"
                for k in [m["key"] for m in self.members] + list(self.EXTRA)
                if cleaned.get(f"m-{k}-claim") == "spouse"
            )
            self.add_error(first, _("配偶者として控除できるのは一人だけです。"))
        if cleaned.get("widow") and cleaned.get("single_parent"):
            self.add_error(
                "widow", _("寡婦とひとり親の両方にはあたりません。どちらか一つを選んでください。")
            )
        return cleaned

    def values(self) -> dict:
        c = self.cleaned_data
        members = []
        for member in self.members:
            prefix = f"m-{member['key']}-"
            members.append(
                {
                    **{
                        k: member[k]
                        for k in ("key", "resident_id", "name", "relationship", "birth_date", "age")
                    },
                    "claim": c.get(prefix + "claim") or "",
                    "income": c.get(prefix + "income") or 0,
                    "lives_with": bool(c.get(prefix + "lives_with")),
                    "parent": bool(c.get(prefix + "parent")),
                    "disability": c.get(prefix + "disability") or "",
                }
            )
        for key in self.EXTRA:
            prefix = f"m-{key}-"
            if not c.get(prefix + "name") and not c.get(prefix + "claim"):
                continue
            born = c.get(prefix + "birth_date")
            members.append(
                {
                    "key": key,
                    "resident_id": None,
                    "name": c.get(prefix + "name") or "",
                    "relationship": "",
                    "birth_date": born.isoformat() if born else "",
                    "claim": c.get(prefix + "claim") or "",
                    "income": c.get(prefix + "income") or 0,
                    "lives_with": bool(c.get(prefix + "lives_with")),
                    "parent": bool(c.get(prefix + "parent")),
                    "disability": c.get(prefix + "disability") or "",
                }
            )
        return {
            "members": members,
            "widow": bool(c.get("widow")),
            "single_parent": c.get("single_parent") or "",
            "disability": c.get("disability") or "",
            "working_student": bool(c.get("working_student")),
        }


TOPIC_FORMS = {
    "income": IncomeForm,
    "insurance": InsuranceForm,
    "family": FamilyForm,
    "medical": MedicalForm,
    "housing": HousingForm,
}


def topic_form(topic: str, declaration, data=None):
    """The bound (``data``) or initial form of a topic for a declaration."""
    cls = TOPIC_FORMS[topic]
    if cls is FamilyForm:
        members = (declaration.data.get("family") or {}).get("members") or []
        return FamilyForm(
            data,
            members=members,
            fiscal_year=declaration.fiscal_year,
            initial=FamilyForm.initial_for(declaration.data),
        )
    return cls(data, initial=cls.initial_from(declaration.data))


class SimulationForm(forms.Form):
    """The public simulation: salary, family, insurance. Nothing is stored."""

    fiscal_year = forms.TypedChoiceField(label=_("年度"), coerce=int)
    age = forms.IntegerField(
        label=_("あなたの年齢（12月31日時点）"),
        min_value=15,
        max_value=120,
        error_messages={
            "invalid": _("年齢は数字で入力してください。"),
            "min_value": _("15歳以上の年齢を入力してください。"),
            "max_value": _("年齢を確かめてください。"),
            "required": _("年齢を入力してください。"),
        },
    )
    salary_revenue = IncomeForm.base_fields["salary_revenue"]
    pension_revenue = IncomeForm.base_fields["pension_revenue"]
    social_insurance = InsuranceForm.base_fields["social_insurance"]
    life_new_general = YenField(label=_("生命保険料（新契約の合計）"))
    earthquake_insurance = InsuranceForm.base_fields["earthquake_insurance"]
    spouse = forms.ChoiceField(
        label=_("配偶者"),
        required=False,
        choices=[
            ("", _("いない・控除しない")),
            ("under70", _("70歳未満・所得なし")),
            ("over70", _("70歳以上・所得なし")),
        ],
    )
    children_under16 = forms.IntegerField(
        label=_("16歳未満の子"), min_value=0, max_value=20, initial=0, required=False
    )
    dependants_general = forms.IntegerField(
        label=_("16〜18歳・23〜69歳の扶養親族"),
        min_value=0,
        max_value=20,
        initial=0,
        required=False,
    )
    dependants_specified = forms.IntegerField(
        label=_("19〜22歳の扶養親族"), min_value=0, max_value=20, initial=0, required=False
    )
    dependants_elderly = forms.IntegerField(
        label=_("70歳以上の扶養親族"), min_value=0, max_value=20, initial=0, required=False
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fiscal_year"].choices = [(y, format_fiscal(y)) for y in years]
        for name in (
            "children_under16",
            "dependants_general",
            "dependants_specified",
            "dependants_elderly",
        ):
            self.fields[name].error_messages.update(
                {
                    "invalid": _("人数は数字で入力してください。"),
                    "min_value": _("0人以上で入力してください。"),
                    "max_value": _("人数を確かめてください。"),
                }
            )

    def declaration(self):
        from .residenttax import Declaration, LifeInsurance, Person

        c = self.cleaned_data
        spouse = {"under70": Person(age=40), "over70": Person(age=72)}.get(c.get("spouse") or "")
        dependants = (
            [Person(age=10)] * (c.get("children_under16") or 0)
            + [Person(age=17)] * (c.get("dependants_general") or 0)
            + [Person(age=20)] * (c.get("dependants_specified") or 0)
            + [Person(age=75, lives_with=False)] * (c.get("dependants_elderly") or 0)
        )
        return Declaration(
            fiscal_year=c["fiscal_year"],
            age=c["age"],
            salary_revenue=c["salary_revenue"],
            pension_revenue=c["pension_revenue"],
            social_insurance=c["social_insurance"],
            life_insurance=LifeInsurance(new_general=c["life_new_general"]),
            earthquake_insurance=c["earthquake_insurance"],
            spouse=spouse,
            dependants=dependants,
        )


class CorrectionReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("修正の理由"),
        max_length=200,
        error_messages={"required": _("修正の理由を入力してください。")},
    )


class StopSpecialForm(forms.Form):
    months_deducted = forms.IntegerField(
        label=_("給与から引いた月数（6月から数えて）"),
        min_value=0,
        max_value=12,
        error_messages={
            "required": _("月数を入力してください。"),
            "invalid": _("月数は0から12の数字で入力してください。"),
            "min_value": _("月数は0から12の数字で入力してください。"),
            "max_value": _("月数は0から12の数字で入力してください。"),
        },
    )
    reason = forms.ChoiceField(
        label=_("理由"),
        choices=[("left_job", _("退職・転職")), ("moved_out", _("転出")), ("other", _("その他"))],
    )


class RunForm(forms.Form):
    fiscal_year = forms.TypedChoiceField(label=_("年度"), coerce=int)
    kind = forms.ChoiceField(
        label=_("種類"),
        choices=[("initial", _("当初課税")), ("recompute", _("再計算（更正）"))],
    )
    reason = forms.CharField(label=_("更正の理由（再計算のとき）"), max_length=200, required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fiscal_year"].choices = [(y, format_fiscal(y)) for y in years]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "recompute" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("再計算（更正）の理由を入力してください。"))
        return cleaned


class SalaryReportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("給与支払報告書（CSV）"),
        error_messages={"required": _("CSVファイルを選んでください。")},
    )
