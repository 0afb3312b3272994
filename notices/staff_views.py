"""Staff pages: templates, compose → segment (count) → preview → approve → schedule, a send's
live progress, and delivery statistics."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall.audit import record_read
from residents.selectors import get_resident

from . import forms, segments, selectors, services, templating
from .models import Send, Template


def _require(request, permission: str = services.COMPOSE) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _send(pk: int) -> Send:
    return get_object_or_404(
        Send.objects.select_related("template_version__template", "created_by", "approved_by"),
        pk=pk,
    )


def sends(request):
    _require(request)
    return render(
        request,
        "notices/staff/sends.html",
        {
            "sends": selectors.sends(),
            "awaiting": selectors.awaiting_approval(),
            "can_approve": request.user.has_perm(services.APPROVE),
        },
    )


def templates(request):
    _require(request)
    return render(
        request,
        "notices/staff/templates.html",
        {"templates": Template.objects.prefetch_related("versions").order_by("topic", "name")},
    )


def template_new(request):
    _require(request)
    form = forms.TemplateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            template = services.create_template(
                key=data["key"],
                name=data["name"],
                topic=data["topic"],
                event_key=data["event_key"],
                uses_sensitive_data=data["uses_sensitive_data"],
                actor=request.user,
                texts={f: data[f] for f in services.TEXT_FIELDS},
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("ひな形を作成しました。"))
            return redirect("notices:staff_template", pk=template.pk)
    return render(request, "notices/staff/template_form.html", {"form": form, "template": None})


def template_detail(request, pk: int):
    _require(request)
    template = get_object_or_404(Template, pk=pk)
    latest = template.latest_version()
    initial = {f: getattr(latest, f) for f in services.TEXT_FIELDS} if latest else {}
    form = forms.TextsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.save_template_version(
                template=template,
                actor=request.user,
                texts={f: form.cleaned_data[f] for f in services.TEXT_FIELDS},
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("第%(n)s版を保存しました。") % {"n": version.number})
            return redirect("notices:staff_template", pk=template.pk)
    return render(
        request,
        "notices/staff/template_form.html",
        {
            "form": form,
            "template": template,
            "versions": template.versions.select_related("created_by").order_by("-number"),
        },
    )


def compose(request):
    _require(request)
    form = forms.ComposeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            send = services.compose_send(
                template=form.cleaned_data["template"],
                emergency=form.cleaned_data["emergency"],
                actor=request.user,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return redirect("notices:staff_segment", pk=send.pk)
    return render(request, "notices/staff/compose.html", {"form": form})


def _segment_initial(send: Send) -> dict:
    spec = send.segment or {}
    initial = {k: v for k, v in spec.items() if k not in ("near", "user_ids")}
    if spec.get("near"):
        initial.update(
            near_lon=spec["near"]["lon"],
            near_lat=spec["near"]["lat"],
            near_metres=int(spec["near"]["metres"]),
        )
    initial["as_of"] = send.as_of
    return initial


def segment(request, pk: int):
    """Choose who gets it; 「人数を数える」 counts in SQL and stays on the page."""
    _require(request)
    send = _send(pk)
    if send.state != Send.State.DRAFT:
        return redirect("notices:staff_send", pk=send.pk)
    as_of = send.as_of
    if request.method == "POST":
        try:
            as_of = forms.SegmentForm.base_fields["as_of"].to_python(request.POST.get("as_of"))
        except ValidationError:
            as_of = send.as_of
    form = forms.SegmentForm(
        request.POST if request.method == "POST" else None,
        initial=_segment_initial(send),
        on=as_of or send.as_of,
    )
    counted = None
    if request.method == "POST" and form.is_valid():
        try:
            counted = services.set_segment(
                send=send,
                data=form.spec_data(),
                actor=request.user,
                as_of=form.cleaned_data["as_of"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            if "next" in request.POST:
                return redirect("notices:staff_preview", pk=send.pk)
    elif send.segment:
        counted = segments.count(segments.parse(send.segment), send.as_of)
    return render(
        request,
        "notices/staff/segment.html",
        {
            "send": send,
            "form": form,
            "counted": counted,
            "fields": segments.Spec().fields,
            "template_fields": templating.fields_in(*send.template_version.all_texts()),
            "list_form": forms.RecipientListForm(),
        },
    )


def recipient_list_upload(request, pk: int):
    _require(request)
    send = _send(pk)
    form = forms.RecipientListForm(
        request.POST if request.method == "POST" else None, request.FILES or None
    )
    if request.method == "POST" and form.is_valid():
        try:
            uploaded = services.upload_recipient_list(
                name=form.cleaned_data["name"], codes=form.codes, actor=request.user
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(
                request,
                _("配信先リスト「%(name)s」（%(n)s件）を登録しました。下の条件で選べます。")
                % {"name": uploaded.name, "n": uploaded.size},
            )
            return redirect("notices:staff_segment", pk=send.pk)
    return render(request, "notices/staff/list_upload.html", {"send": send, "list_form": form})


def preview(request, pk: int):
    """The notice with a real resident's data (the staff read is audited)."""
    _require(request)
    send = _send(pk)
    if not send.segment:
        return redirect("notices:staff_segment", pk=send.pk)
    spec = segments.parse(send.segment)
    candidates = segments.sample(spec, send.as_of, limit=10) if not spec.user_ids else []
    chosen = None
    raw = request.GET.get("resident")
    if raw:
        chosen = next((r for r in candidates if str(r.pk) == raw), None) or get_resident(raw)
    elif candidates:
        chosen = candidates[0]
    rendered, problem = None, ""
    if chosen is not None:
        try:
            rendered = services.preview(
                send=send, resident=chosen, actor=request.user, request=request
            )
        except ValidationError as exc:
            problem = " ".join(exc.messages)
    schedule_form = forms.ScheduleForm()
    return render(
        request,
        "notices/staff/preview.html",
        {
            "send": send,
            "candidates": candidates,
            "chosen": chosen,
            "rendered": rendered,
            "problem": problem,
            "schedule_form": schedule_form,
            "needs_second": services.needs_second_person(send),
            "threshold": services.approval_threshold(),
        },
    )


def submit(request, pk: int):
    _require(request)
    send = _send(pk)
    form = forms.ScheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            send = services.submit(
                send=send, actor=request.user, scheduled_at=form.cleaned_data["scheduled_at"]
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            if send.state == Send.State.AWAITING_APPROVAL:
                messages.success(
                    request, _("承認を依頼しました。別の職員が承認すると配信されます。")
                )
            else:
                messages.success(request, _("配信を予約しました。"))
            return redirect("notices:staff_send", pk=send.pk)
    return render(
        request,
        "notices/staff/submit.html",
        {"send": send, "form": form},
        status=400 if form.errors else 200,
    )


def send_detail(request, pk: int):
    """One send: what, to whom, who approved it, its history and live progress."""
    _require(request)
    send = _send(pk)
    can_approve = (
        request.user.has_perm(services.APPROVE)
        and send.state == Send.State.AWAITING_APPROVAL
        and not (services.needs_second_person(send) and send.created_by_id == request.user.pk)
    )
    return render(
        request,
        "notices/staff/send.html",
        {
            "send": send,
            "progress": selectors.progress(send),
            "history": selectors.history(send),
            "can_approve": can_approve,
            "approve_form": forms.ApproveForm(),
            "send_back_form": forms.SendBackForm(),
            "cancel_form": forms.CancelForm(),
            "spec_lines": _describe_segment(send),
            "live": send.state in (Send.State.SENDING, Send.State.SCHEDULED),
        },
    )


def _describe_segment(send: Send) -> list[str]:
    spec = send.segment or {}
    lines = []
    if spec.get("age_min") is not None or spec.get("age_max") is not None:
        lines.append(
            _("年齢 %(low)s〜%(high)s歳")
            % {"low": spec.get("age_min", 0), "high": spec.get("age_max", "")}
        )
    if spec.get("sex"):
        lines.append(_("性別: %(sex)s") % {"sex": _("男") if spec["sex"] == "male" else _("女")})
    if spec.get("towns"):
        lines.append(
            _("町丁目: %(towns)s")
            % {
                "towns": "、".join(
                    t.replace(":", "") + ("丁目" if t.split(":")[1] else "") for t in spec["towns"]
                )
            }
        )
    if spec.get("garbage_districts"):
        lines.append(_("ごみ収集地区: %(d)s") % {"d": "、".join(spec["garbage_districts"])})
    if spec.get("child_under"):
        lines.append(_("%(n)s歳未満の子どもがいる世帯") % {"n": spec["child_under"]})
    if spec.get("installment_due_days") is not None:
        lines.append(
            _("%(n)s日以内に納期限が来る未納がある人（同意者のみ）")
            % {"n": spec["installment_due_days"]}
        )
    if spec.get("near"):
        lines.append(_("地点から半径 %(m)s m") % {"m": int(spec["near"]["metres"])})
    if spec.get("recipient_list"):
        lines.append(_("配信先リスト（CSV）"))
    if spec.get("user_ids"):
        lines.append(_("できごとの本人"))
    return lines


def progress_fragment(request, pk: int):
    _require(request)
    send = _send(pk)
    return render(
        request,
        "notices/staff/_progress.html",
        {
            "send": send,
            "progress": selectors.progress(send),
            "live": send.state in (Send.State.SENDING, Send.State.SCHEDULED),
        },
    )


def approve(request, pk: int):
    _require(request, services.APPROVE)
    send = _send(pk)
    form = forms.ApproveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.approve(
                send=send, approver=request.user, scheduled_at=form.cleaned_data["scheduled_at"]
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("配信を承認しました。"))
            return redirect("notices:staff_send", pk=send.pk)
    return render(
        request,
        "notices/staff/approve.html",
        {"send": send, "form": form, "spec_lines": _describe_segment(send)},
        status=400 if form.errors else 200,
    )


def send_back(request, pk: int):
    _require(request, services.APPROVE)
    send = _send(pk)
    form = forms.SendBackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.send_back(
                send=send, approver=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("作成者に差し戻しました。"))
            return redirect("notices:staff_send", pk=send.pk)
    return render(
        request,
        "notices/staff/send_back.html",
        {"send": send, "form": form},
        status=400 if form.errors else 200,
    )


def control(request, pk: int, action: str):
    """Pause, resume or cancel (cancel asks for a confirmation)."""
    _require(request)
    send = _send(pk)
    if request.method != "POST":
        return redirect("notices:staff_send", pk=send.pk)
    try:
        if action == "pause":
            services.pause(send=send, actor=request.user)
            messages.success(request, _("配信を一時停止しました。"))
        elif action == "resume":
            services.resume(send=send, actor=request.user)
            messages.success(request, _("配信を再開しました。"))
        elif action == "cancel":
            form = forms.CancelForm(request.POST)
            if not form.is_valid():
                return render(
                    request,
                    "notices/staff/cancel.html",
                    {"send": send, "form": form},
                    status=400,
                )
            services.cancel(send=send, actor=request.user)
            messages.success(request, _("配信を取り消しました。"))
        else:
            return redirect("notices:staff_send", pk=send.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("notices:staff_send", pk=send.pk)


def statistics(request):
    _require(request)
    return render(request, "notices/staff/stats.html", {"stats": selectors.statistics()})


def resident_notices(request, resident_id: int):
    """A resident's inbox and delivery history (also shown in the counter's 360 view)."""
    if not request.user.has_perm("counter.view_resident_360") and not request.user.has_perm(
        services.COMPOSE
    ):
        raise PermissionDenied
    resident = get_resident(resident_id)
    if resident is None:
        raise Http404
    record_read(
        request=request,
        action="notices.resident_deliveries",
        purpose="お知らせの配信状況の確認",
        obj=resident,
    )
    return render(
        request,
        "notices/staff/resident.html",
        {"resident": resident, **selectors.resident_360_section(resident), "now": timezone.now()},
    )
