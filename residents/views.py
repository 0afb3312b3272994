"""Clerk pages (/staff/residents/) and the resident's own pages (/my/). Thin: forms in, services
do the work, selectors read."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cityhall import audit
from cityhall.roles import is_staff_member

from . import forms, selectors, services
from .models import Resident

PURPOSE_SESSION_KEY = "residents_access_purpose"


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(_("この操作を行う権限がありません。"))


def _resident_or_404(pk: int) -> Resident:
    resident = selectors.get_resident(pk)
    if resident is None:
        raise Http404(_("住民が見つかりません。"))
    return resident


def _apply_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _others(resident: Resident) -> QuerySet[Resident]:
    return Resident.objects.filter(
        household_id=resident.household_id, status=Resident.Status.CURRENT
    ).exclude(pk=resident.pk)


def _detail_url(resident: Resident, request: HttpRequest) -> str:
    url = reverse("residents:staff_detail", args=[resident.pk])
    purpose = request.session.get(PURPOSE_SESSION_KEY)
    return f"{url}?purpose={purpose}" if purpose else url


# --- staff: search and detail -------------------------------------------------------------------


@never_cache
def staff_search(request: HttpRequest) -> HttpResponse:
    _require(request, "residents.view_resident")
    form = forms.SearchForm(request.GET or None)
    results = None
    if request.GET and form.is_valid():
        results = selectors.search_residents(
            form.cleaned_data["q"],
            birth_date=form.cleaned_data["birth_date"],
            address=form.cleaned_data["address"],
            include_former=True,
        )
        services.record_search(request=request, results=results)
    return render(request, "residents/staff/search.html", {"form": form, "results": results})


@never_cache
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "residents.view_resident")
    resident = _resident_or_404(pk)
    form = forms.PurposeForm(request.GET if "purpose" in request.GET else None)
    if not form.is_valid():
        # The purpose is chosen before anything of the record is shown.
        form.initial["purpose"] = request.session.get(PURPOSE_SESSION_KEY, "counter")
        return render(
            request, "residents/staff/purpose.html", {"form": form, "resident_pk": resident.pk}
        )
    purpose = form.cleaned_data["purpose"]
    request.session[PURPOSE_SESSION_KEY] = purpose
    services.record_resident_view(
        resident=resident, actor=request.user, purpose=purpose, request=request
    )
    return render(request, "residents/staff/detail.html", _detail_context(request, resident))


def _detail_context(request: HttpRequest, resident: Resident, **extra) -> dict:
    members = selectors.household_members(resident) if resident.household_id else []
    return {
        "resident": resident,
        "members": members,
        "movements": selectors.movement_history(resident),
        "mynumber_masked": services.mask_of(resident),
        "can_reveal": request.user.has_perm("residents.reveal_mynumber"),
        "can_change": request.user.has_perm("residents.add_movement"),
        "is_current": resident.status == Resident.Status.CURRENT,
        "reveal_form": extra.pop("reveal_form", forms.RevealForm()),
        **extra,
    }


@require_POST
@never_cache
def staff_reveal_mynumber(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    if not request.user.has_perm("residents.reveal_mynumber"):
        raise PermissionDenied(_("個人番号を表示する権限がありません。"))
    form = forms.RevealForm(request.POST)
    revealed = None
    if form.is_valid():
        revealed = services.reveal_mynumber(
            resident=resident,
            actor=request.user,
            purpose=form.cleaned_data["purpose"],
            request=request,
        )
    return render(
        request,
        "residents/staff/detail.html",
        _detail_context(request, resident, reveal_form=form, revealed=revealed),
    )


# --- staff: movement forms ----------------------------------------------------------------------


def _movement_page(
    request: HttpRequest,
    *,
    title: str,
    form,
    run: Callable[[dict], Resident],
    resident: Resident | None = None,
    intro: str = "",
) -> HttpResponse:
    _require(request, "residents.add_movement")
    if request.method == "POST" and form.is_valid():
        try:
            target = run(form.cleaned_data)
        except ValidationError as error:
            _apply_service_errors(form, error)
        else:
            messages.success(request, _("%(title)sを登録しました。") % {"title": title})
            return redirect(_detail_url(target, request))
    if resident is not None:
        # The form shows the record it changes: a staff read, its purpose the notification.
        audit.record_read(
            request=request, action="residents.resident_viewed", obj=resident, purpose=title
        )
    return render(
        request,
        "residents/staff/form.html",
        {"form": form, "title": title, "resident": resident, "intro": intro},
    )


def _post(request: HttpRequest):
    return request.POST if request.method == "POST" else None


@never_cache
def staff_move_in(request: HttpRequest) -> HttpResponse:
    household = None
    with_pk = request.GET.get("with")
    anchor = _resident_or_404(with_pk) if with_pk else None
    if anchor is not None:
        household = anchor.household
    form = forms.MoveInForm(_post(request), joining=household is not None)

    def run(data):
        return services.register_move_in(
            family_name=data["family_name"],
            given_name=data["given_name"],
            family_name_kana=data["family_name_kana"],
            given_name_kana=data["given_name_kana"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            effective_on=data["effective_on"],
            notified_on=data["notified_on"],
            clerk=request.user,
            address=data["address"],
            household=household,
            relationship=data["relationship"],
            mynumber=data["mynumber"],
            previous_address=data["previous_address"],
        ).resident

    intro = (
        _("世帯 %(number)s（世帯主 %(head)s）に入ります。")
        % {"number": household.number, "head": anchor.full_name}
        if household
        else _("新しい世帯をつくり、その世帯主として記録します。")
    )
    return _movement_page(
        request, title=_("転入届"), form=form, run=run, resident=anchor, intro=intro
    )


@never_cache
def staff_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    form = forms.MoveOutForm(_post(request), others=_others(resident))

    def run(data):
        return services.register_move_out(
            resident=resident,
            effective_on=data["effective_on"],
            notified_on=data["notified_on"],
            clerk=request.user,
            destination=data["destination"],
            new_head=data["new_head"],
        ).resident

    return _movement_page(request, title=_("転出届"), form=form, run=run, resident=resident)


@never_cache
def staff_relocation(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    members = Resident.objects.filter(
        household_id=resident.household_id, status=Resident.Status.CURRENT
    ).order_by("-is_head", "birth_date")
    form = forms.RelocationForm(
        _post(request), members=members, initial={"residents": list(members)}
    )

    def run(data):
        services.register_relocation(
            residents=list(data["residents"]),
            address=data["address"],
            effective_on=data["effective_on"],
            notified_on=data["notified_on"],
            clerk=request.user,
            new_head=data["new_head"],
        )
        return resident

    return _movement_page(request, title=_("転居届"), form=form, run=run, resident=resident)


@never_cache
def staff_birth(request: HttpRequest, pk: int) -> HttpResponse:
    parent = _resident_or_404(pk)
    form = forms.BirthForm(
        _post(request),
        initial={"family_name": parent.family_name, "family_name_kana": parent.family_name_kana},
    )

    def run(data):
        return services.register_birth(
            household=parent.household,
            family_name=data["family_name"],
            given_name=data["given_name"],
            family_name_kana=data["family_name_kana"],
            given_name_kana=data["given_name_kana"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            relationship=data["relationship"],
            mynumber=data["mynumber"],
            notified_on=data["notified_on"],
            clerk=request.user,
        ).resident

    return _movement_page(request, title=_("出生届"), form=form, run=run, resident=parent)


@never_cache
def staff_death(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    form = forms.DeathForm(_post(request), others=_others(resident))

    def run(data):
        return services.register_death(
            resident=resident,
            died_on=data["died_on"],
            notified_on=data["notified_on"],
            clerk=request.user,
            new_head=data["new_head"],
        ).resident

    return _movement_page(request, title=_("死亡届"), form=form, run=run, resident=resident)


@never_cache
def staff_change_head(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    others = Resident.objects.filter(
        household_id=resident.household_id, status=Resident.Status.CURRENT, is_head=False
    )
    form = forms.HeadChangeForm(_post(request), others=others)

    def run(data):
        return services.change_head_of_household(
            household=resident.household,
            new_head=data["new_head"],
            effective_on=data["effective_on"],
            notified_on=data["notified_on"],
            clerk=request.user,
            former_head_relationship=data["former_head_relationship"],
        ).resident

    return _movement_page(request, title=_("世帯主変更届"), form=form, run=run, resident=resident)


@never_cache
def staff_correct(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_404(pk)
    initial = {f: getattr(resident, f) for f in services.CORRECTABLE_FIELDS if f != "mynumber"}
    form = forms.CorrectionForm(_post(request), initial=initial)

    def run(data):
        changes = {
            f: data[f]
            for f in form.changed_data
            if f in services.CORRECTABLE_FIELDS and (f != "mynumber" or data[f])
        }
        return services.correct_record(
            resident=resident,
            changes=changes,
            reason=data["reason"],
            notified_on=data["notified_on"],
            clerk=request.user,
        ).resident

    return _movement_page(request, title=_("記載事項の修正"), form=form, run=run, resident=resident)


@require_POST
@never_cache
def staff_issue_activation(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "residents.change_resident")
    resident = _resident_or_404(pk)
    try:
        activation, code = services.issue_activation_code(resident=resident, clerk=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_detail_url(resident, request))
    # The plain code exists only in this response: the letter is printed now or never.
    return render(
        request,
        "residents/staff/activation_letter.html",
        {"resident": resident, "code": code, "activation": activation},
    )


# --- resident portal ----------------------------------------------------------------------------


@login_required
@never_cache
def my_link(request: HttpRequest) -> HttpResponse:
    if selectors.resident_for_user(request.user) is not None:
        return redirect("residents:my_info")
    locked = services.link_is_locked(request.user)
    form = forms.LinkForm(_post(request))
    if request.method == "POST" and not locked and form.is_valid():
        try:
            services.link_account(
                user=request.user,
                code=form.cleaned_data["code"],
                birth_date=form.cleaned_data["birth_date"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
            locked = services.link_is_locked(request.user)
        else:
            messages.success(request, _("住民情報と連携しました。"))
            return redirect("residents:my_info")
    return render(
        request,
        "residents/my/link.html",
        {
            "form": form,
            "locked": locked,
            "locked_message": services.MSG_LINK_LOCKED.format(
                count=services.LINK_MAX_FAILURES, hours=services.LINK_LOCK_HOURS
            ),
        },
    )


@login_required
@never_cache
def my_info(request: HttpRequest) -> HttpResponse:
    resident = selectors.resident_for_user(request.user)
    if resident is None:
        return redirect("residents:my_link")
    return render(
        request,
        "residents/my/info.html",
        {"resident": resident, "members": selectors.household_members(resident)},
    )


def dashboard_panel(user) -> dict | None:
    """The resident's own record on /my/, or the way to link the account when it is not linked
    (staff accounts without a record see nothing: they are not asked to link)."""
    if not user.is_authenticated:
        return None
    resident = selectors.resident_for_user(user)
    if resident is None:
        if is_staff_member(user):
            return None
        return {"linked": False, "locked": services.link_is_locked(user)}
    return {
        "linked": True,
        "resident": resident,
        "household_size": len(selectors.household_members(resident)),
    }


def dashboard_fingerprint() -> str:
    """What the residents panel shows, as rows (cityhall.dashboard): the account's records, their
    households and addresses, the household members, and the link tries that can lock linking
    (their count over the last 24 hours too, so a lock that runs out shows)."""
    from cityhall.dashboard import fingerprint_of, rows_version

    from .models import Address, Household, LinkAttempt, Resident

    resident = Resident._meta.db_table
    mine = f"SELECT household_id FROM {resident} WHERE user_id = %(user)s"
    return fingerprint_of(
        # The account's record and its household's members as a UNION of two index reads:
        # "user_id = … OR household_id IN (…)" is one filter over every resident (a scan
        # that grows with the city: 0.6 ms at 2,000 residents, every dashboard).
        rows_version(
            resident,
            f"t.id IN (SELECT id FROM {resident} WHERE user_id = %(user)s"
            f" UNION SELECT id FROM {resident} WHERE household_id IN ({mine}))",
        ),
        rows_version(Household._meta.db_table, f"t.id IN ({mine})"),
        rows_version(
            Address._meta.db_table,
            f"t.id IN (SELECT address_id FROM {Household._meta.db_table} WHERE id IN ({mine}))",
        ),
        rows_version(LinkAttempt._meta.db_table, "t.user_id = %(user)s"),
        f"(SELECT count(*)::text FROM {LinkAttempt._meta.db_table} WHERE user_id = %(user)s"
        " AND attempted_at > now() - interval '24 hours')",
    )
