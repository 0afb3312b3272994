"""Resident pages: search with the availability grid, facility pages, booking with its
confirmation page, my bookings with iCalendar, registrations, recurring use and the lottery
(entry, public files, verification).

Kept in one file: the resident pages of one app share their lookups, forms and the booking
confirmation flow; the staff pages are apart (``staff_views``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import calendar as ical
from . import draw as drawlib
from . import forms, selectors
from . import slots as slotlib
from .models import (
    Booking,
    Entry,
    Facility,
    LotteryRound,
    Photo,
    Registration,
    RoundSlot,
    Series,
    Unit,
)
from .rules import add_months, is_late_cancellation, refund_amount, refund_percent
from .services import bookings, lottery, registrations
from .services.common import now, rules, today

GRID_DAYS = 7
ICAL_SALT = "facilities.ical"


def english() -> bool:
    return (get_language() or "ja").startswith("en")


def dashboard_panel(user) -> dict | None:
    """ "My facility bookings" on /my/: coming bookings and wins waiting for confirmation."""
    if not selectors.registrations_of(user).exists():
        return None
    coming = list(
        selectors.bookings_of(user)
        .filter(
            state__in=("held", "won", "confirmed", "reserved", "paid"),
            during__startswith__gte=timezone.now(),
        )
        .order_by("during")[:3]
    )
    return {
        "coming": coming,
        "to_confirm": sum(1 for b in coming if b.state == Booking.State.WON),
    }


def _grid(units: list[Unit], first: date, days: int = GRID_DAYS) -> list[dict]:
    """Rows for the availability grid: per unit, its slot labels × days with each cell."""
    last = first + timedelta(days=days - 1)
    cells = selectors.availability(
        units, first=first, last=last, rules=rules(), today=today(), now=now()
    )
    dates = [first + timedelta(days=i) for i in range(days)]
    out = []
    for unit in units:
        by_key: dict[tuple, dict] = {}
        order: list[tuple] = []
        for cell in cells[unit.pk]:
            key = (cell.slot.starts, cell.slot.ends)
            if key not in by_key:
                by_key[key] = {
                    "label": cell.slot.name_en if english() else cell.slot.name_ja,
                    "time": f"{cell.slot.starts:%H:%M}–{cell.slot.ends:%H:%M}",
                    "cells": {},
                }
                order.append(key)
            by_key[key]["cells"][cell.slot.day] = cell
        plan = selectors.plan_of(unit)
        closed = {day: slotlib.closed_reason(plan, day) for day in dates}
        rows = []
        for key in sorted(order):
            row = by_key[key]
            row["days"] = [
                row["cells"].get(day) or {"status": "closed_day" if closed[day] else "none"}
                for day in dates
            ]
            rows.append(row)
        out.append({"unit": unit, "dates": dates, "rows": rows})
    return out


def search(request: HttpRequest) -> HttpResponse:
    form = forms.SearchForm(request.GET or None, areas=selectors.areas(), english=english())
    first = today()
    kind = area = ""
    if form.is_bound and form.is_valid():
        first = max(form.cleaned_data["date"], today())
        kind, area = form.cleaned_data["kind"], form.cleaned_data["area"]
    units = selectors.units_with_plan(selectors.search_units(kind=kind, area=area))
    facilities: dict[int, dict] = {}
    for block in _grid(units, first):
        facility = block["unit"].facility
        facilities.setdefault(facility.pk, {"facility": facility, "units": []})["units"].append(
            block
        )
    query = request.GET.copy()
    query["date"] = (first - timedelta(days=GRID_DAYS)).isoformat()
    previous = query.urlencode()
    query["date"] = (first + timedelta(days=GRID_DAYS)).isoformat()
    following = query.urlencode()
    return render(
        request,
        "facilities/search.html",
        {
            "form": form,
            "results": list(facilities.values()),
            "first": first,
            "previous_query": previous if first > today() else "",
            "next_query": following,
        },
    )


def facility_page(request: HttpRequest, code: str) -> HttpResponse:
    facility = get_object_or_404(Facility, code=code, active=True)
    try:
        first = max(date.fromisoformat(request.GET.get("date", "")), today())
    except ValueError:
        first = today()
    units = selectors.units_with_plan(
        Unit.objects.filter(facility=facility, active=True).order_by("order", "code")
    )
    return render(
        request,
        "facilities/facility.html",
        {
            "facility": facility,
            "map_config": _map_config(request, facility),
            "grid": _grid(units, first),
            "first": first,
            "previous": (first - timedelta(days=GRID_DAYS)).isoformat() if first > today() else "",
            "next": (first + timedelta(days=GRID_DAYS)).isoformat(),
            "hours": facility.hours.order_by("weekday"),
            "equipment": facility.equipment.all(),
            "photos": facility.photos.all(),
            "units": units,
            "rules": rules(),
        },
    )


def _map_config(request: HttpRequest, facility: Facility) -> dict:
    """The facility's place on the city's own base map (gis' public layers, its tiles)."""
    from gis import selectors as gis_selectors

    layers = [
        layer
        for layer in gis_selectors.visible_layers(request.user).filter(visibility="public")
        if (layer.style or {}).get("basemap")
    ]
    return {
        "center": [facility.location.y, facility.location.x],
        "name": facility.name,
        "layers": [
            {
                "slug": layer.slug,
                "kind": layer.kind,
                "style": layer.style or {},
                "tiles": reverse("gis:tile", args=[layer.slug, 0, 0, 0]).replace("/0/0/0.pbf", "")
                + "/{z}/{x}/{y}.pbf",
            }
            for layer in layers
        ],
    }


def photo(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(Photo, pk=pk, facility__active=True)
    try:
        handle = item.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle, content_type="image/png" if item.image.name.endswith(".png") else None
    )


# --- booking -----------------------------------------------------------------------------------


def _start_param(request: HttpRequest) -> datetime | None:
    value = request.POST.get("start") or request.GET.get("start") or ""
    # An unencoded "+09:00" in a pasted link arrives as " 09:00".
    value = value.strip().replace(" ", "+") if "T" in value else value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=slotlib.TOKYO)
    return moment


@login_required
@never_cache
def book(request: HttpRequest, code: str) -> HttpResponse:
    """Book a free slot: the form, the confirmation page (確認画面), then the hold."""
    unit = selectors.unit_with_plan(get_object_or_404(Unit, code=code, active=True).pk)
    if unit is None:
        raise Http404
    start = _start_param(request)
    slot = slotlib.slot_at(selectors.plan_of(unit), start) if start else None
    if slot is None:
        messages.error(request, _("予約するコマを空き状況の表から選んでください。"))
        return redirect("facilities:facility", code=unit.facility.code)
    usable = selectors.usable_registrations(request.user, on=today())
    if not usable:
        messages.info(request, _("予約の前に利用者登録をしてください。"))
        return redirect(
            reverse("facilities:registrations") + "?" + urlencode({"next": request.get_full_path()})
        )
    equipment = unit.facility.equipment.filter(unit__in=[unit]) | unit.facility.equipment.filter(
        unit__isnull=True
    )
    form = forms.BookingForm(
        request.POST or None,
        registrations=usable,
        unit=unit,
        equipment=equipment.order_by("name_ja"),
    )
    context = {"unit": unit, "slot": slot, "start": start, "form": form}
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        args = {
            "registration": form.cleaned_data["registration"],
            "unit": unit,
            "starts_at": slot.start_at,
            "slot_count": form.cleaned_data.get("slot_count") or 1,
            "equipment": form.wanted_equipment(),
        }
        try:
            offer = bookings.quote(**args)
            if action == "book":
                booking = bookings.hold_first_come(
                    user=request.user,
                    purpose=form.cleaned_data["purpose"],
                    attendees=form.cleaned_data["attendees"],
                    **args,
                )
                messages.success(
                    request,
                    _("仮押さえしました。%(minutes)s分以内にお支払い方法を選んでください。")
                    % {"minutes": rules().hold_minutes},
                )
                return redirect("facilities:booking", pk=booking.pk)
        except ValidationError as error:
            forms.apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error("registration", str(error))
        else:
            if action == "review":
                context.update(offer=offer, reviewing=True)
    return render(request, "facilities/book.html", context)


def _my_booking(request: HttpRequest, pk: int) -> Booking:
    booking = selectors.booking_of(request.user, pk)
    if booking is None:
        raise Http404
    return booking


@login_required
@never_cache
def booking_page(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _my_booking(request, pk)
    from .services.billing import payer_of

    return render(
        request,
        "facilities/booking.html",
        {
            "booking": booking,
            "can_pay_online": payer_of(booking.registration) is not None,
            "equipment": booking.equipment.select_related("equipment"),
            "events": booking.events.order_by("id"),
            "refund": getattr(booking, "refund", None),
            "cancellable": booking.state in ("held", "won", "confirmed", "reserved", "paid")
            and booking.starts_at > now(),
        },
    )


@login_required
@require_POST
def booking_pay(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _my_booking(request, pk)
    try:
        charge_id = bookings.pay_online(booking=booking, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("facilities:booking", pk=pk)
    if charge_id is None:
        return redirect("facilities:booking", pk=pk)
    back = reverse("facilities:booking", args=[pk])
    return redirect(
        reverse("payments:pay_charge", args=[charge_id]) + "?" + urlencode({"next": back})
    )


@login_required
@require_POST
def booking_pay_later(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _my_booking(request, pk)
    try:
        booking = bookings.pay_later(booking=booking, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("予約を確定しました。支払期限までにお支払いください。"))
    return redirect("facilities:booking", pk=pk)


@login_required
@never_cache
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation page before cancelling: what comes back, whether points are earned."""
    booking = _my_booking(request, pk)
    use_date = booking.starts_at.astimezone(slotlib.TOKYO).date()
    percent = refund_percent(rules(), use_date=use_date, cancelled_on=today())
    paid = booking.state == Booking.State.PAID
    late = booking.state != Booking.State.HELD and is_late_cancellation(
        rules(), use_date=use_date, cancelled_on=today()
    )
    if request.method == "POST":
        try:
            bookings.cancel(
                booking=booking, actor=request.user, reason=request.POST.get("reason", "")
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("予約を取り消しました。"))
        return redirect("facilities:booking", pk=pk)
    return render(
        request,
        "facilities/cancel.html",
        {
            "booking": booking,
            "paid": paid,
            "percent": percent,
            "refund": refund_amount(booking.fee, percent) if paid else 0,
            "late": late,
            "points": rules().late_cancel_points,
        },
    )


@login_required
@require_POST
def confirm_win(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _my_booking(request, pk)
    try:
        lottery.confirm_win(booking=booking, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("当選を確認しました。期限までにお支払いください。"))
    return redirect("facilities:booking", pk=pk)


@login_required
@never_cache
def my_bookings(request: HttpRequest) -> HttpResponse:
    mine = selectors.bookings_of(request.user)
    coming = mine.filter(during__endswith__gte=now()).order_by("during")
    return render(
        request,
        "facilities/my_bookings.html",
        {
            "coming": coming,
            "past": mine.filter(during__endswith__lt=now())[:20],
            "registrations": selectors.registrations_of(request.user).order_by("kind", "number"),
            "entries": Entry.objects.filter(registration__representative=request.user)
            .select_related("round", "facility", "won_slot")
            .prefetch_related("choices__slot__unit")
            .order_by("-round__month", "number")[:30],
            "series": Series.objects.filter(registration__representative=request.user)
            .select_related("unit__facility")
            .prefetch_related("rejected_occurrences")[:10],
            "feed_url": request.build_absolute_uri(
                reverse(
                    "facilities:ical_feed", args=[signing.dumps(request.user.pk, salt=ICAL_SALT)]
                )
            ),
        },
    )


def _calendar_response(user) -> HttpResponse:
    body = ical.bookings_calendar(
        selectors.bookings_of(user).exclude(
            state__in=("cancelled", "expired", "forfeited", "held")
        ),
        name=_("施設の予約"),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="facility-bookings.ics"'
    return response


@login_required
def my_calendar(request: HttpRequest) -> HttpResponse:
    return _calendar_response(request.user)


def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A calendar app's subscription: the token in the URL is the only key (capability URL),
    as calendar apps cannot sign in."""
    from cityhall.models import User

    try:
        user_id = signing.loads(token, salt=ICAL_SALT)
    except signing.BadSignature:
        raise Http404 from None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise Http404
    return _calendar_response(user)


# --- registrations and recurring use -----------------------------------------------------------


def _safe_next(request: HttpRequest, default: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@login_required
@never_cache
def registrations_page(request: HttpRequest) -> HttpResponse:
    from residents.selectors import resident_for_user

    resident = resident_for_user(request.user)
    mine = selectors.registrations_of(request.user).order_by("kind", "-created_at")
    individual_form = forms.IndividualForm(prefix="individual")
    temporary_form = forms.IndividualForm(prefix="temporary")
    if request.method == "POST":
        kind = request.POST.get("kind")
        try:
            if kind == "individual" and resident is not None:
                registrations.register_individual(user=request.user)
            elif kind == "individual":
                individual_form = forms.IndividualForm(request.POST, prefix="individual")
                if individual_form.is_valid():
                    registrations.register_individual(
                        user=request.user, **individual_form.cleaned_data
                    )
                else:
                    raise ValidationError("")
            elif kind == "temporary":
                temporary_form = forms.IndividualForm(request.POST, prefix="temporary")
                if temporary_form.is_valid():
                    registrations.register_temporary(
                        user=request.user, **temporary_form.cleaned_data
                    )
                else:
                    raise ValidationError("")
            else:
                raise Http404
        except ValidationError as error:
            if error.messages and any(error.messages):
                target = individual_form if kind == "individual" else temporary_form
                forms.apply_errors(target, error)
        else:
            messages.success(request, _("利用者登録を受け付けました。"))
            return redirect(_safe_next(request, reverse("facilities:registrations")))
    return render(
        request,
        "facilities/registrations.html",
        {
            "resident": resident,
            "registrations": mine,
            "individual_form": individual_form,
            "temporary_form": temporary_form,
            "next": _safe_next(request, ""),
            "rules": rules(),
        },
    )


@login_required
@never_cache
def group_new(request: HttpRequest) -> HttpResponse:
    form = forms.GroupForm(request.POST or None)
    formset = forms.MemberFormSet(request.POST or None, prefix="members")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        rows = [
            registrations.MemberRow(
                f.cleaned_data["name"], f.cleaned_data["name_kana"], f.cleaned_data["relation"]
            )
            for f in formset.forms
            if f.cleaned_data.get("name")
        ]
        try:
            registrations.apply_group(user=request.user, members=rows, **form.cleaned_data)
        except ValidationError as error:
            forms.apply_errors(form, error)
        else:
            messages.success(request, _("団体登録を申請しました。市の審査をお待ちください。"))
            return redirect("facilities:registrations")
    return render(
        request,
        "facilities/group_form.html",
        {"form": form, "formset": formset, "rules": rules()},
    )


@login_required
@never_cache
def series_new(request: HttpRequest) -> HttpResponse:
    groups = [
        r
        for r in selectors.usable_registrations(request.user, on=today())
        if r.kind == Registration.Kind.GROUP
    ]
    if not groups:
        messages.info(request, _("定期利用は、承認された団体登録の代表者が申し込めます。"))
        return redirect("facilities:registrations")
    form = forms.SeriesForm(request.POST or None, registrations=groups)
    if request.method == "POST" and form.is_valid():
        try:
            series = bookings.create_series(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            forms.apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("定期利用を申し込みました。予約できなかった日は一覧にあります。")
            )
            return redirect("facilities:series", pk=series.pk)
    return render(request, "facilities/series_form.html", {"form": form})


@login_required
def series_page(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(
        Series.objects.select_related("unit__facility", "registration"),
        pk=pk,
        registration__representative=request.user,
    )
    return render(
        request,
        "facilities/series.html",
        {
            "series": series,
            "bookings": series.bookings.order_by("during"),
            "rejected": series.rejected_occurrences.all(),
        },
    )


# --- lottery -----------------------------------------------------------------------------------


def rounds(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "facilities/rounds.html",
        {"rounds": LotteryRound.objects.exclude(state="scheduled")[:24], "rules": rules()},
    )


def _round(code: str) -> LotteryRound:
    return get_object_or_404(LotteryRound.objects.exclude(state="scheduled"), code=code)


def round_page(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(code)
    facilities = Facility.objects.filter(units__lottery=True, active=True).distinct()
    months = sorted(
        {(f.months_ahead, add_months(round_.month, f.months_ahead)) for f in facilities}
    )
    results = None
    if round_.state in ("published", "finished") and round_.results_file:
        results = json.loads(bytes(round_.results_file))
    return render(
        request,
        "facilities/round.html",
        {
            "round": round_,
            "months": months,
            "results": results,
            "winners": len(results["winners"]) if results else 0,
            "entries": round_.entries.count() if round_.state != "open" else None,
        },
    )


def round_entries_file(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(code)
    if not round_.entries_file:
        raise Http404
    response = HttpResponse(bytes(round_.entries_file), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="lottery-{round_.code}-entries.json"'
    return response


def round_results_file(request: HttpRequest, code: str) -> HttpResponse:
    round_ = _round(code)
    if round_.state not in ("published", "finished") or not round_.results_file:
        raise Http404
    response = HttpResponse(bytes(round_.results_file), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="lottery-{round_.code}-results.json"'
    return response


def draw_script(request: HttpRequest) -> HttpResponse:
    body = Path(drawlib.__file__).read_bytes()
    response = HttpResponse(body, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="draw.py"'
    return response


def round_verify(request: HttpRequest, code: str) -> HttpResponse:
    """The server re-runs the draw from the two public files, in the open: the same check the
    downloadable script makes on a resident's own computer."""
    round_ = _round(code)
    if round_.state not in ("published", "finished") or not round_.results_file:
        raise Http404
    results = json.loads(bytes(round_.results_file))
    problems = drawlib.verify(
        bytes(round_.entries_file), results, published_seed_sha256=round_.seed_sha256
    )
    return render(
        request,
        "facilities/verify.html",
        {"round": round_, "problems": problems, "results": results},
    )


@login_required
@never_cache
def enter(request: HttpRequest, code: str) -> HttpResponse:
    round_ = get_object_or_404(LotteryRound, code=code, state=LotteryRound.State.OPEN)
    usable = [
        r
        for r in selectors.usable_registrations(request.user, on=today())
        if r.kind != Registration.Kind.TEMPORARY
    ]
    if not usable:
        messages.info(
            request, _("抽選には個人登録か団体登録が必要です（一時利用者は申し込めません）。")
        )
        return redirect("facilities:registrations")
    facility = Facility.objects.filter(
        code=request.GET.get("facility") or request.POST.get("facility") or "",
        units__lottery=True,
    ).first()
    facilities = Facility.objects.filter(units__lottery=True, active=True).distinct()
    if facility is None:
        return render(
            request, "facilities/enter_pick.html", {"round": round_, "facilities": facilities}
        )
    slot_rows = (
        RoundSlot.objects.filter(round=round_, unit__facility=facility, unavailable=False)
        .select_related("unit")
        .order_by("starts_at", "unit__order")
    )
    labels = [
        (
            s.pk,
            f"{s.starts_at.astimezone(slotlib.TOKYO):%m/%d(%a) %H:%M}–"
            f"{s.ends_at.astimezone(slotlib.TOKYO):%H:%M} {s.unit.name}",
        )
        for s in slot_rows
    ]
    form = forms.EntryForm(
        request.POST or None,
        registrations=usable,
        slots=labels,
        choices=round_.max_choices_per_entry,
    )
    if request.method == "POST" and form.is_valid():
        try:
            entry = lottery.enter(
                round_=round_,
                registration=form.cleaned_data["registration"],
                user=request.user,
                slot_ids=form.slot_ids(),
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "slots" in error.error_dict:
                form.add_error("choice_1", error.error_dict.pop("slots"))
            forms.apply_errors(form, error)
        except PermissionDenied as error:
            form.add_error("registration", str(error))
        else:
            messages.success(
                request,
                _("抽選に申し込みました（申込番号 %(number)s）。結果は%(date)sに公開します。")
                % {
                    "number": entry.number,
                    "date": f"{round_.results_at.astimezone(slotlib.TOKYO):%Y-%m-%d}",
                },
            )
            return redirect("facilities:my_bookings")
    return render(
        request,
        "facilities/enter.html",
        {"round": round_, "facility": facility, "form": form},
    )


@login_required
@never_cache
def entry_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdrawing an entry asks first (GET), then withdraws (POST)."""
    entry = get_object_or_404(
        Entry.objects.select_related("round", "facility"),
        pk=pk,
        registration__representative=request.user,
    )
    if request.method != "POST":
        return render(
            request,
            "facilities/entry_withdraw.html",
            {"entry": entry, "choices": entry.choices.select_related("slot__unit")},
        )
    try:
        lottery.withdraw_entry(entry=entry, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("抽選の申込を取り下げました。"))
    return redirect("facilities:my_bookings")


def dashboard_fingerprint() -> str:
    """The rows the facilities panel shows (cityhall.dashboard): the registrations the account
    represents and their bookings."""
    from cityhall.dashboard import fingerprint_of, rows_version

    from .models import Booking, Registration

    mine = f"SELECT id FROM {Registration._meta.db_table} WHERE representative_id = %(user)s"
    return fingerprint_of(
        rows_version(Registration._meta.db_table, "t.representative_id = %(user)s"),
        rows_version(Booking._meta.db_table, f"t.registration_id IN ({mine})"),
    )
