"""Pages of the counter: the kiosk, the holder's phone page, the congestion display (public) and
the clerk's desk, the resident 360 view and statistics (under /staff/)."""

from __future__ import annotations

import csv
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cityhall import audit
from cityhall.roles import is_staff_member
from residents.selectors import resident_for_user

from . import forms, selectors, services
from .models import Counter, Service, Ticket
from .residentview import resident_overview
from .ticketpdf import qr_svg, ticket_pdf

# ---- public ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def kiosk(request):
    services_open = list(Service.objects.filter(active=True))
    rows = {row["code"]: row for row in selectors.congestion()}
    if request.method == "POST":
        service = Service.objects.filter(active=True, code=request.POST.get("service", "")).first()
        if service is None:
            messages.error(request, _("業務を選んでください。"))
            return redirect("counter:kiosk")
        if not rows.get(service.code, {}).get("open_counters"):
            messages.error(
                request,
                _("「%(name)s」の窓口は受付時間外です。") % {"name": service.name},
            )
            return redirect("counter:kiosk")
        resident = resident_for_user(request.user)
        try:
            ticket = services.issue_ticket(service=service, resident=resident)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("counter:kiosk")
        return redirect(reverse("counter:ticket", args=[ticket.token]) + "?issued=1")
    choices = [(service, rows.get(service.code, {})) for service in services_open]
    return render(
        request, "counter/kiosk.html", {"choices": choices, "hours": selectors.opening_hours()}
    )


def _ticket_or_404(token: str) -> Ticket:
    ticket = selectors.ticket_by_token(token)
    if ticket is None:
        raise Http404(_("整理券が見つかりません。"))
    return ticket


def ticket_page(request, token: str):
    ticket = _ticket_or_404(token)
    context = {
        "ticket": ticket,
        "token": token,
        "position": selectors.ticket_position(ticket),
    }
    if request.headers.get("HX-Request"):
        return render(request, "counter/_ticket_status.html", context)
    url = request.build_absolute_uri(reverse("counter:ticket", args=[token]))
    context.update(qr=qr_svg(url), issued=request.GET.get("issued") == "1")
    return render(request, "counter/ticket.html", context)


def ticket_pdf_view(request, token: str):
    ticket = _ticket_or_404(token)
    url = request.build_absolute_uri(reverse("counter:ticket", args=[token]))
    pdf = ticket_pdf(ticket, url=url, city_name=settings.CITY_NAME)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="ticket-{ticket.label}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _congestion_context() -> dict:
    return {
        "rows": selectors.congestion(),
        "updated_at": timezone.localtime(),
        "hours": selectors.opening_hours(),
    }


def _display_context() -> dict:
    calls = selectors.latest_calls()
    return {**_congestion_context(), "latest": calls[0] if calls else None, "others": calls[1:]}


DASHBOARD_SUMMARY_SECONDS = 5


def _congestion_summary() -> dict | None:
    rows = selectors.congestion()
    if not rows:
        return None
    waits = [r["estimated_wait_minutes"] for r in rows if r["estimated_wait_minutes"] is not None]
    return {
        "waiting": sum(r["waiting"] for r in rows),
        "open": bool(waits),
        "longest_wait": max(waits, default=0),
    }


def dashboard_panel(user) -> dict | None:
    """Today's congestion in one line on the resident's /my/ page (public figures only).

    The figures are the same for every resident, so they are computed at most once every few
    seconds for the whole city rather than on every dashboard view."""
    summary = cache.get_or_set(
        "counter:dashboard-summary", lambda: _congestion_summary() or {}, DASHBOARD_SUMMARY_SECONDS
    )
    return summary or None


def status(request):
    context = _congestion_context()
    context["charts"] = selectors.typical_wait_by_hour()
    context["weekday"] = timezone.localdate()
    return render(request, "counter/status.html", context)


def display(request):
    return render(request, "counter/display.html", _display_context())


def congestion_fragment(request):
    if request.GET.get("layout") == "display":
        return render(request, "counter/_display_board.html", _display_context())
    return render(request, "counter/_congestion.html", _congestion_context())


# ---- staff ----------------------------------------------------------------------------------


def _require_permission(request, permission: str) -> None:
    if not is_staff_member(request.user) or not request.user.has_perm(permission):
        raise PermissionDenied(_("この画面を使う権限がありません。"))


def desk_pick(request):
    _require_permission(request, "counter.serve_ticket")
    counters = Counter.objects.filter(active=True).prefetch_related("services")
    chosen = request.session.get("counter_desk")
    if chosen and Counter.objects.filter(pk=chosen, active=True).exists() and not request.GET:
        return redirect("counter:desk", counter_id=chosen)
    return render(request, "counter/desk_pick.html", {"counters": counters})


def _desk_context(counter: Counter, transfer_form=None) -> dict:
    ticket = selectors.active_ticket_at(counter)
    return {
        "counter": counter,
        "ticket": ticket,
        "waiting": selectors.waiting_for_counter(counter),
        "recent": selectors.recent_at_counter(counter),
        "transfer_form": transfer_form or forms.TransferForm(current=counter),
        "rows": selectors.congestion(),
        "updated_at": timezone.localtime(),
    }


def desk(request, counter_id: int):
    _require_permission(request, "counter.serve_ticket")
    counter = get_object_or_404(Counter.objects.prefetch_related("services"), pk=counter_id)
    request.session["counter_desk"] = counter.pk
    context = _desk_context(counter)
    if request.headers.get("HX-Request"):
        return render(request, "counter/_desk.html", context)
    return render(request, "counter/desk.html", context)


def desk_waiting(request, counter_id: int):
    """The desk's waiting count, polled by the desk page so it stays current by itself."""
    _require_permission(request, "counter.serve_ticket")
    counter = get_object_or_404(Counter.objects.prefetch_related("services"), pk=counter_id)
    return render(
        request,
        "counter/_desk_waiting.html",
        {"counter": counter, "waiting": selectors.waiting_for_counter(counter)},
    )


DESK_ACTIONS = {
    "recall": services.recall,
    "start": services.start_service,
    "done": services.finish,
    "no-show": services.mark_no_show,
}


@require_POST
def desk_action(request, counter_id: int, action: str):
    _require_permission(request, "counter.serve_ticket")
    counter = get_object_or_404(Counter, pk=counter_id)
    transfer_form = None
    try:
        if action == "call-next":
            ticket = services.call_next(counter=counter, clerk=request.user)
            if ticket is None:
                messages.info(request, _("お待ちの方はいません。"))
            else:
                messages.success(
                    request, _("%(label)s をお呼びしました。") % {"label": ticket.label}
                )
        elif action in DESK_ACTIONS or action == "transfer":
            ticket = get_object_or_404(Ticket, pk=request.POST.get("ticket"), counter=counter)
            if action == "transfer":
                transfer_form = forms.TransferForm(request.POST, current=counter)
                if transfer_form.is_valid():
                    successor = services.transfer(
                        ticket=ticket,
                        clerk=request.user,
                        counter=counter,
                        service=transfer_form.cleaned_data["service"],
                        to_counter=transfer_form.cleaned_data["to_counter"],
                    )
                    transfer_form = None
                    messages.success(
                        request,
                        _("%(old)s を %(new)s として転送しました。")
                        % {"old": ticket.label, "new": successor.label},
                    )
            else:
                DESK_ACTIONS[action](ticket=ticket, clerk=request.user, counter=counter)
        else:
            raise Http404
    except ValidationError as error:
        if transfer_form is not None and hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                transfer_form.add_error(field if field in transfer_form.fields else None, errors)
        else:
            messages.error(request, " ".join(error.messages))
    if request.headers.get("HX-Request"):
        context = _desk_context(counter, transfer_form)
        context["partial"] = True
        return render(request, "counter/_desk.html", context)
    if transfer_form is not None and transfer_form.errors:
        return render(request, "counter/desk.html", _desk_context(counter, transfer_form))
    return redirect("counter:desk", counter_id=counter.pk)


@require_POST
def link_resident(request, counter_id: int, ticket_id: int, resident_id: int):
    _require_permission(request, "counter.serve_ticket")
    ticket = get_object_or_404(Ticket, pk=ticket_id, counter_id=counter_id)
    resident = _get_resident(resident_id)
    try:
        services.link_resident(ticket=ticket, clerk=request.user, resident=resident)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("counter:desk", counter_id=counter_id)
    return redirect("counter:resident_360", resident_id=resident.pk)


def _get_resident(resident_id: int):
    from residents import selectors as resident_selectors

    resident = resident_selectors.get_resident(resident_id)
    if resident is None:
        raise Http404(_("住民が見つかりません。"))
    return resident


def resident_search(request):
    _require_permission(request, "counter.view_resident_360")
    form = forms.ResidentSearchForm(request.GET or None)
    results = None
    if form.is_valid():
        from residents import selectors as resident_selectors

        results = list(
            resident_selectors.search_residents(
                form.cleaned_data["q"], birth_date=form.cleaned_data.get("birth_date"), limit=50
            )
        )
        audit.record(
            action="resident.search",
            request=request,
            purpose="窓口対応",
            details={"results": len(results)},
        )
    ticket = None
    ticket_id = request.GET.get("ticket")
    if ticket_id and ticket_id.isdigit():
        ticket = Ticket.objects.filter(pk=ticket_id, state__in=Ticket.ACTIVE_AT_COUNTER).first()
    return render(
        request,
        "counter/resident_search.html",
        {"form": form, "results": results, "ticket": ticket},
    )


def resident_360(request, resident_id: int):
    # The /staff/ door refuses non-staff already; the view checks again (defence in depth).
    _require_permission(request, "counter.view_resident_360")
    resident = _get_resident(resident_id)
    audit.record(
        action="resident.view_360",
        actor=request.user,
        obj=resident,
        purpose="窓口対応",
        request=request,
    )
    context = resident_overview(resident)
    context["visits"] = selectors.tickets_for_resident(resident)
    return render(request, "counter/resident_360.html", context)


def _stats_range(request) -> tuple[forms.StatsForm, dt.date, dt.date]:
    today = timezone.localdate()
    form = forms.StatsForm(request.GET or None)
    date_from, date_to = today - dt.timedelta(days=13), today
    if form.is_valid():
        date_from = form.cleaned_data.get("date_from") or date_from
        date_to = form.cleaned_data.get("date_to") or date_to
    return form, date_from, date_to


def stats(request):
    _require_permission(request, "counter.view_counter_stats")
    form, date_from, date_to = _stats_range(request)
    rows = selectors.daily_statistics(date_from, date_to) if not form.errors else []
    return render(
        request,
        "counter/stats.html",
        {"form": form, "rows": rows, "date_from": date_from, "date_to": date_to},
    )


STATS_COLUMNS = [
    ("date", "業務日"),
    ("service", "業務記号"),
    ("service_name", "業務"),
    ("issued", "発券数"),
    ("done", "完了"),
    ("no_show", "不在"),
    ("transferred", "転送"),
    ("mean_wait_minutes", "平均待ち時間（分）"),
    ("mean_service_minutes", "平均対応時間（分）"),
    ("no_show_rate", "不在率（%）"),
]


def stats_csv(request):
    _require_permission(request, "counter.view_counter_stats")
    form, date_from, date_to = _stats_range(request)
    if form.errors:
        return render(
            request,
            "counter/stats.html",
            {"form": form, "rows": [], "date_from": date_from, "date_to": date_to},
            status=400,
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="counter-stats-{date_from:%Y%m%d}-{date_to:%Y%m%d}.csv"'
    )
    # A byte-order mark so spreadsheet software opens the Japanese headers as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([title for _key, title in STATS_COLUMNS])
    for row in selectors.daily_statistics(date_from, date_to):
        writer.writerow(["" if row[key] is None else row[key] for key, _title in STATS_COLUMNS])
    return response
