"""Who a notice goes to, computed in the database from the register and the other apps.

A segment is a set of criteria, all of which must hold (age band, sex, 町丁目, garbage district,
a child under N in the household, an open installment due within N days, near a point, an
uploaded list). It is evaluated on a date: only people with a live residence period on that
date are ever in it (住民基本台帳: who lives here that day), whatever else is asked. The query is
one SQL statement built from the owners' selectors (residents, gis, payments), so counting
100,000 residents and handing them to delivery never loads them into Python.

Criteria that use tax or benefit data (the installment one) choose only residents who gave
consent (Consent, live); a withdrawn consent is out of the next count at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils.translation import gettext as _

from gis import selectors as gis_selectors
from payments import selectors as payment_selectors
from residents import selectors as resident_selectors

from .models import Consent, RecipientListEntry

SEXES = ("male", "female")
MAX_AGE = 130
# Fields every recipient provides to a template (GOV.UK Notify's personalisation).
BASE_FIELDS = ("name", "family_name")


@dataclass(frozen=True)
class Spec:
    """A segment's criteria. Empty criteria are not applied."""

    age_min: int | None = None
    age_max: int | None = None
    sex: str = ""
    towns: tuple[str, ...] = ()  # "本町:3" (町:丁目), "中央:" for a town without 丁目
    garbage_districts: tuple[str, ...] = ()
    child_under: int | None = None
    installment_due_days: int | None = None
    near: tuple[float, float, float] | None = None  # lon, lat, metres
    recipient_list: int | None = None
    # Events about one person go to their account, not through the register.
    user_ids: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_sensitive_data(self) -> bool:
        return self.installment_due_days is not None

    @property
    def fields(self) -> tuple[str, ...]:
        provided = list(BASE_FIELDS)
        if self.garbage_districts:
            provided.append("district")
        if self.installment_due_days is not None:
            provided += ["due_date", "amount"]
        return tuple(provided)

    @property
    def is_empty(self) -> bool:
        return self == Spec()

    def to_json(self) -> dict:
        data: dict[str, Any] = {}
        for name in (
            "age_min",
            "age_max",
            "child_under",
            "installment_due_days",
            "recipient_list",
        ):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.sex:
            data["sex"] = self.sex
        for name in ("towns", "garbage_districts", "user_ids"):
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        if self.near is not None:
            lon, lat, metres = self.near
            data["near"] = {"lon": lon, "lat": lat, "metres": metres}
        return data


def _int(data: dict, name: str, errors: dict, *, low: int, high: int) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = _("半角の数字で入力してください。")
        return None
    if not low <= value <= high:
        errors[name] = _("%(low)s から %(high)s までの数で入力してください。") % {
            "low": low,
            "high": high,
        }
        return None
    return value


def parse(data: dict | None) -> Spec:
    """A Spec from stored or posted JSON; a ValidationError names each wrong criterion."""
    data = data or {}
    errors: dict[str, str] = {}
    age_min = _int(data, "age_min", errors, low=0, high=MAX_AGE)
    age_max = _int(data, "age_max", errors, low=0, high=MAX_AGE)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors["age_max"] = _("年齢の上限は下限以上にしてください。")
    sex = data.get("sex") or ""
    if sex and sex not in SEXES:
        errors["sex"] = _("性別を選び直してください。")
    child_under = _int(data, "child_under", errors, low=1, high=18)
    due_days = _int(data, "installment_due_days", errors, low=0, high=90)
    recipient_list = _int(data, "recipient_list", errors, low=1, high=2**62)
    towns = tuple(str(t) for t in data.get("towns") or ())
    for town in towns:
        if ":" not in town:
            errors["towns"] = _("町丁目を選び直してください。")
    districts = tuple(str(d) for d in data.get("garbage_districts") or ())
    near = None
    raw_near = data.get("near")
    if raw_near:
        try:
            lon, lat, metres = (
                float(raw_near["lon"]),
                float(raw_near["lat"]),
                float(raw_near["metres"]),
            )
        except (KeyError, TypeError, ValueError):
            errors["near"] = _("地図の地点と半径を数で入力してください。")
        else:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                errors["near"] = _("地点の経度・緯度が範囲外です。")
            elif not 1 <= metres <= 20_000:
                errors["near"] = _("半径は 1 から 20,000 メートルまでで入力してください。")
            else:
                near = (lon, lat, metres)
    user_ids = tuple(int(u) for u in data.get("user_ids") or ())
    if errors:
        raise ValidationError(errors)
    return Spec(
        age_min=age_min,
        age_max=age_max,
        sex=sex,
        towns=towns,
        garbage_districts=districts,
        child_under=child_under,
        installment_due_days=due_days,
        near=near,
        recipient_list=recipient_list,
        user_ids=user_ids,
    )


def born_on_or_before_for_age(on: date, age: int) -> date:
    """The last birth date of someone who is at least `age` on `on` (their birthday has come;
    a 29 February birthday counts from 28 February in other years)."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:
        return on.replace(year=on.year - age, day=28)


def live_consent() -> QuerySet[Consent]:
    return Consent.objects.filter(purpose=Consent.Purpose.TAX_BENEFIT, withdrawn_at__isnull=True)


def periods(spec: Spec, on: date) -> QuerySet:
    """The residence periods (one per resident) the segment selects on `on`, annotated with
    `personalisation` (a JSON object of the template fields the segment provides)."""
    qs = resident_selectors.periods_on(on)
    if spec.age_min is not None:
        qs = qs.filter(resident__birth_date__lte=born_on_or_before_for_age(on, spec.age_min))
    if spec.age_max is not None:
        qs = qs.filter(resident__birth_date__gt=born_on_or_before_for_age(on, spec.age_max + 1))
    if spec.sex:
        qs = qs.filter(resident__sex=spec.sex)
    if spec.towns:
        where = Q()
        for town in spec.towns:
            name, _sep, chome = town.partition(":")
            where |= Q(address__town=name, address__chome=int(chome) if chome else None)
        qs = qs.filter(where)
    if spec.child_under is not None:
        young = resident_selectors.periods_on(on).filter(
            household_id=OuterRef("household_id"),
            resident__birth_date__gt=born_on_or_before_for_age(on, spec.child_under),
        )
        qs = qs.filter(Exists(young))
    if spec.garbage_districts:
        areas = gis_selectors.garbage_district_areas(spec.garbage_districts)
        qs = qs.filter(Exists(areas.filter(geometry__intersects=OuterRef("address__location"))))
        qs = qs.annotate(
            district_code=Subquery(
                areas.filter(geometry__intersects=OuterRef("address__location"))
                .order_by("external_id")
                .values("external_id")[:1]
            )
        ).annotate(
            district_ja=Subquery(
                gis_selectors.garbage_districts()
                .filter(code=OuterRef("district_code"))
                .values("name_ja")[:1]
            ),
            district_en=Subquery(
                gis_selectors.garbage_districts()
                .filter(code=OuterRef("district_code"))
                .values("name_en")[:1]
            ),
        )
    if spec.near is not None:
        lon, lat, metres = spec.near
        qs = qs.filter(address__in=resident_selectors.addresses_near(lon, lat, metres).values("pk"))
    if spec.recipient_list is not None:
        codes = RecipientListEntry.objects.filter(recipient_list_id=spec.recipient_list)
        qs = qs.filter(resident__resident_code__in=codes.values("resident_code"))
    if spec.installment_due_days is not None:
        due = payment_selectors.open_installments_due_between(
            on, on + timedelta(days=spec.installment_due_days)
        ).filter(charge__payer_id=OuterRef("resident_id"))
        qs = qs.filter(Exists(due))
        qs = qs.annotate(
            due_date=Subquery(due.order_by("due_on").values("due_on")[:1]),
            amount=Subquery(
                due.order_by()
                .values("charge__payer_id")
                .annotate(total=Sum(F("amount") - F("allocated")))
                .values("total")[:1]
            ),
        )
    if spec.uses_sensitive_data:
        qs = qs.filter(Exists(live_consent().filter(resident_id=OuterRef("resident_id"))))
    return qs.annotate(personalisation=_personalisation(spec))


def _personalisation(spec: Spec) -> JSONObject:
    values: dict[str, Any] = {
        "name": Concat(
            F("resident__family_name"),
            Value(" "),
            F("resident__given_name"),
            output_field=CharField(),
        ),
        "family_name": F("resident__family_name"),
    }
    if spec.garbage_districts:
        values["district"] = F("district_ja")
        values["district_en"] = F("district_en")
    if spec.installment_due_days is not None:
        values["due_date"] = Cast("due_date", CharField())
        values["amount"] = F("amount")
    return JSONObject(**values)


def count(spec: Spec, on: date) -> dict[str, int]:
    """How many residents the segment holds on `on`, and how many of them have a portal
    account (only those can be reached). Counted in SQL."""
    if spec.user_ids:
        return {"residents": len(spec.user_ids), "reachable": len(spec.user_ids)}
    qs = periods(spec, on).order_by()
    return {
        "residents": qs.count(),
        "reachable": qs.filter(
            resident__user__isnull=False, resident__user__is_active=True
        ).count(),
    }


def sample(spec: Spec, on: date, *, limit: int = 10) -> list:
    """A few residents of the segment (for the preview with a real resident's data)."""
    qs = periods(spec, on).select_related("resident").order_by("resident_id")
    return [period.resident for period in qs[:limit]]


def recipients_sql(spec: Spec, on: date) -> tuple[str, list]:
    """SQL (and params) of rows (resident_id, user_id, personalisation) for delivery."""
    qs = (
        periods(spec, on)
        .filter(resident__user__isnull=False)
        .order_by()
        .values("resident_id", "resident__user_id", "personalisation")
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params)
