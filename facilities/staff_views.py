"""Staff pages (under /staff/, behind the staff door): the week calendar per facility, group
approval, official use, the lottery's close / draw / publish with a progress bar, check-in at
the door, refunds, and usage statistics with CSV. Every page that shows users' names writes an
audit row."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cityhall import audit

from . import forms, selectors
from . import slots as slotlib
from .models import Booking, CancellationRefund, Facility, LotteryRound, Registration
from .rules import add_months
from .services import billing, bookings, lottery, registrations
from .services.common import today


def _need(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(_("この操作をする権限がありません。"))


def _read(request: HttpRequest, action: str, *, obj=None, details: dict | None = None) -> None:
    """A staff read of users' personal data (names, member lists) goes to the audit log."""
    audit.record(
        action=action, request=request, obj=obj, purpose="facilities", details=details or {}
    )


def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = today()
    return day - timedelta(days=day.weekday())


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.view_booking")
    return render(
        request,
        "facilities/staff/home.html",
        {
            "facilities": Facility.objects.filter(active=True).annotate(
                units_count=Count("units", filter=Q(units__active=True))
            ),
            "pending": Registration.objects.filter(state="pending")
            .exclude(kind="temporary")
            .count(),
            "refunds": CancellationRefund.objects.exclude(state="refunded").count(),
            "rounds": LotteryRound.objects.exclude(state="finished")[:4],
        },
    )


@never_cache
def week(request: HttpRequest, code: str) -> HttpResponse:
    _need(request, "facilities.view_booking")
    facility = get_object_or_404(Facility, code=code)
    first = _monday(request.GET.get("date"))
    _read(request, "facilities.view_week", obj=facility, details={"week": first.isoformat()})
    return render(
        request,
        "facilities/staff/week.html",
        {
            "calendar": selectors.week(facility, first=first),
            "previous": (first - timedelta(days=7)).isoformat(),
            "next": (first + timedelta(days=7)).isoformat(),
            "facilities": Facility.objects.filter(active=True),
        },
    )


@never_cache
def registrations_list(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.view_registration")
    state = request.GET.get("state", "pending")
    if state not in Registration.State.values:
        state = ""
    found = selectors.staff_registrations(state=state, query=request.GET.get("q", "").strip())[:200]
    _read(request, "facilities.view_registrations", details={"state": state})
    return render(
        request,
        "facilities/staff/registrations.html",
        {"registrations": found, "state": state, "states": Registration.State.choices},
    )


@never_cache
def registration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "facilities.view_registration")
    registration = get_object_or_404(
        Registration.objects.select_related("representative", "decided_by"), pk=pk
    )
    form = forms.DecisionForm(request.POST or None)
    confirming = False
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        # Refusing is answered by a question first (the applicant reads the reason).
        confirming = (
            not approve
            and request.POST.get("confirmed") != "1"
            and form.is_valid()
            and bool(form.cleaned_data["reason"].strip())
        )
        if form.is_valid() and not confirming:
            try:
                registrations.decide(
                    registration=registration,
                    approve=approve,
                    clerk=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                messages.success(
                    request, _("承認しました。") if approve else _("不承認にしました。")
                )
                return redirect("facilities:staff_registration", pk=pk)
    _read(request, "facilities.view_registration", obj=registration)
    members = list(registration.members.all())
    return render(
        request,
        "facilities/staff/registration.html",
        {
            "registration": registration,
            "members": members,
            "in_city": sum(1 for m in members if m.in_city),
            "share_met": registrations.city_share_met(members) if members else None,
            "form": form,
            "confirming": confirming,
            "points": registration.penalty_points.all()[:20],
        },
    )


@never_cache
def block(request: HttpRequest, code: str) -> HttpResponse:
    """行政利用でコマを押さえる, with a confirmation page."""
    _need(request, "facilities.block_slots")
    facility = get_object_or_404(Facility, code=code)
    form = forms.BlockForm(request.POST or None, facility=facility)
    context = {"facility": facility, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        starts = datetime.combine(data["day"], data["starts"], tzinfo=slotlib.TOKYO)
        ends = datetime.combine(data["day"], data["ends"], tzinfo=slotlib.TOKYO)
        if request.POST.get("action") == "block":
            try:
                booking = bookings.block_slots(
                    unit=data["unit"],
                    starts_at=starts,
                    ends_at=ends,
                    clerk=request.user,
                    reason=data["reason"],
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                messages.success(
                    request, _("押さえました（予約番号 %(ref)s）。") % {"ref": booking.reference}
                )
                return redirect(
                    reverse("facilities:staff_week", args=[code]) + f"?date={data['day']}"
                )
        else:
            context.update(reviewing=True, starts=starts, ends=ends)
    return render(request, "facilities/staff/block.html", context)


@never_cache
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, "facilities.view_booking")
    booking = get_object_or_404(
        Booking.objects.select_related("unit__facility", "registration", "booked_by"), pk=pk
    )
    _read(request, "facilities.view_booking", obj=booking)
    return render(
        request,
        "facilities/staff/booking.html",
        {
            "booking": booking,
            "events": booking.events.select_related("actor").order_by("id"),
            "receipt_form": forms.ReceiptForm(),
            "refund": getattr(booking, "refund", None),
            "confirm": request.GET.get("confirm", ""),
        },
    )


@require_POST
def booking_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    booking = get_object_or_404(Booking, pk=pk)
    back = request.POST.get("back") or reverse("facilities:staff_booking", args=[pk])
    if not back.startswith("/staff/"):
        back = reverse("facilities:staff_booking", args=[pk])
    try:
        if action == "check-in":
            bookings.check_in(booking=booking, clerk=request.user)
            messages.success(request, _("利用を確認しました。"))
        elif action == "no-show":
            bookings.mark_no_show(booking=booking, clerk=request.user)
            messages.success(request, _("無断不使用にしました。ペナルティ点数がつきました。"))
        elif action == "facility-payment":
            bookings.record_facility_payment(
                booking=booking, clerk=request.user, receipt=request.POST.get("receipt", "")
            )
            messages.success(request, _("使用料を受け取りました。"))
        elif action == "cancel":
            if not request.user.has_perm("facilities.change_booking"):
                raise PermissionDenied
            bookings.cancel(
                booking=booking, actor=request.user, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("予約を取り消しました。"))
        else:
            raise PermissionDenied
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(back)


@never_cache
def checkin(request: HttpRequest, code: str) -> HttpResponse:
    """利用確認: today's bookings at the door, found by time or by booking number."""
    _need(request, "facilities.check_in_booking")
    facility = get_object_or_404(Facility, code=code)
    found = selectors.bookings_on(facility, today())
    reference = request.GET.get("reference", "").strip().upper()
    if reference:
        found = found.filter(reference=reference)
    _read(request, "facilities.view_checkin", obj=facility, details={"reference": reference})
    return render(
        request,
        "facilities/staff/checkin.html",
        {"facility": facility, "bookings": found, "reference": reference, "today": today()},
    )


# --- lottery -----------------------------------------------------------------------------------


@never_cache
def rounds(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.view_lotteryround")
    return render(
        request,
        "facilities/staff/rounds.html",
        {"rounds": LotteryRound.objects.annotate(entry_count=Count("entries"))[:24]},
    )


@never_cache
def round_detail(request: HttpRequest, code: str) -> HttpResponse:
    _need(request, "facilities.view_lotteryround")
    round_ = get_object_or_404(LotteryRound, code=code)
    template = (
        "facilities/staff/_draw_progress.html"
        if request.headers.get("HX-Request")
        else "facilities/staff/round.html"
    )
    return render(
        request,
        template,
        {
            "round": round_,
            "entry_count": round_.entries.count(),
            "slot_count": round_.slots.count(),
            "won": round_.entries.filter(state="won").count(),
            "can_run": request.user.has_perm("facilities.run_draw"),
            "action": request.GET.get("action", ""),
        },
    )


@require_POST
def round_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    round_ = get_object_or_404(LotteryRound, code=code)
    try:
        if action == "open":
            _need(request, "facilities.run_draw")
            lottery.open_round(round_=round_)
            messages.success(request, _("申込の受付を始めました。"))
        elif action == "close":
            _need(request, "facilities.run_draw")
            lottery.close_round(round_=round_)
            messages.success(request, _("申込を締め切り、乱数の種のSHA-256を公開しました。"))
        elif action == "draw":
            lottery.start_draw(round_=round_, clerk=request.user)
            messages.success(request, _("抽選を始めました。"))
        elif action == "publish":
            lottery.publish(round_=round_, clerk=request.user)
            messages.success(request, _("抽選結果と乱数の種を公開しました。"))
        else:
            raise PermissionDenied
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("facilities:staff_round", code=code)


# --- refunds and statistics --------------------------------------------------------------------


@never_cache
def refunds(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.process_refund")
    open_refunds = CancellationRefund.objects.exclude(state="refunded").select_related(
        "booking__registration", "booking__unit__facility", "reduced_by"
    )
    _read(request, "facilities.view_refunds")
    return render(
        request,
        "facilities/staff/refunds.html",
        {
            "refunds": open_refunds,
            "done": CancellationRefund.objects.filter(state="refunded").select_related(
                "booking__registration"
            )[:20],
        },
    )


@require_POST
def refund_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    refund = get_object_or_404(CancellationRefund, pk=pk)
    try:
        if action == "reduce":
            billing.reduce_for_refund(refund=refund, clerk=request.user)
            messages.success(request, _("調定を減額しました。別の職員が還付してください。"))
        elif action == "pay":
            billing.pay_refund(refund=refund, clerk=request.user)
            messages.success(request, _("還付の手続きをしました。"))
        else:
            raise PermissionDenied
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("facilities:staff_refunds")


def _stats_rows(request: HttpRequest):
    this_month = today().replace(day=1)
    form = forms.StatsForm(
        request.GET or None,
        initial={"first": add_months(this_month, -5), "last": this_month},
    )
    if form.is_bound and form.is_valid():
        first = form.cleaned_data["first"].replace(day=1)
        last = form.cleaned_data["last"].replace(day=1)
        facility = form.cleaned_data["facility"]
    else:
        first, last, facility = add_months(this_month, -5), this_month, None
    rows = selectors.usage(first_month=first, last_month=last, facility=facility)
    return form, rows


@never_cache
def stats(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.view_facility_stats")
    form, rows = _stats_rows(request)
    months, table, totals = _usage_table(rows)
    return render(
        request,
        "facilities/staff/stats.html",
        {
            "form": form,
            "months": months,
            "table": table,
            "totals": totals,
            "csv_query": request.GET.urlencode(),
        },
    )


def _usage_table(rows: list[dict]) -> tuple[list, list[dict], list[dict]]:
    """The page shows one line per unit and one column per month (41 units over six months fit
    a screen; the long list of unit-months stays in the CSV), with the month's total below."""
    months = sorted({row["month"] for row in rows})
    by_unit: dict[int, dict] = {}
    for row in rows:
        line = by_unit.setdefault(row["unit"].pk, {"unit": row["unit"], "cells": {}})
        line["cells"][row["month"]] = row
    table = [
        {"unit": line["unit"], "cells": [line["cells"].get(month) for month in months]}
        for line in sorted(
            by_unit.values(), key=lambda line: (line["unit"].facility.code, line["unit"].code)
        )
    ]
    totals = []
    for month in months:
        month_rows = [row for row in rows if row["month"] == month]
        offered = sum(row["offered_hours"] for row in month_rows)
        booked = sum(row["booked_hours"] for row in month_rows)
        totals.append(
            {
                "offered_hours": round(offered, 1),
                "booked_hours": round(booked, 1),
                "bookings": sum(row["bookings"] for row in month_rows),
                "no_shows": sum(row["no_shows"] for row in month_rows),
                "rate": round(booked * 100 / offered, 1) if offered else 0.0,
            }
        )
    return months, table, totals


def stats_csv(request: HttpRequest) -> HttpResponse:
    _need(request, "facilities.view_facility_stats")
    _form, rows = _stats_rows(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="facility-usage.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("月"),
            _("施設"),
            _("室場"),
            _("提供時間（時間）"),
            _("利用時間（時間）"),
            _("稼働率（%）"),
            _("予約件数"),
            _("無断不使用"),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                f"{row['month']:%Y-%m}",
                row["unit"].facility.name,
                row["unit"].name,
                row["offered_hours"],
                row["booked_hours"],
                row["rate"],
                row["bookings"],
                row["no_shows"],
            ]
        )
    return response
