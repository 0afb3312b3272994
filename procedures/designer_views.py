"""The form designer (/staff/admin/procedures/…): procedures created and edited in /staff/,
questions added from a palette and edited one at a time, pages and routes chosen from menus,
order by drag and drop or up/down buttons, a resident's preview on a phone-sized frame, versions
with a diff in words, four-eyes publishing now or on a date, JSON export and import.

Every change is saved as a new draft version (services.save_draft_form) based on the version
the page showed, so two people editing at once never undo each other silently.

Kept in one file: every view edits the same draft version through the same load-check-save steps (a
new version per change, based on the version shown); the forms and the pure diff are apart
(``designer_forms``, ``formdiff``).
"""

from __future__ import annotations

import json
from typing import Any

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from cityhall import audit
from cityhall.roles import ADMIN, has_role
from residents.selectors import get_resident, search_residents

from . import designer, formdiff, formschema, selectors, services
from .certificates import get as certificate_kind
from .designer_forms import ImportForm, PageForm, ProcedureSettingsForm, PublishForm, QuestionForm
from .forms import answers_from_post, error_summary, field_rows
from .models import FormDefinition, IdentityLevel, Procedure

PREVIEW_PURPOSE = "様式のプレビュー"


def _admin(request) -> None:
    if not has_role(request.user, ADMIN):
        raise PermissionDenied(_("様式を管理できるのは管理者だけです。"))


def _procedure(slug: str) -> Procedure:
    return get_object_or_404(Procedure, slug=slug)


def _working(procedure: Procedure) -> tuple[FormDefinition | None, dict]:
    """The newest version (what the designer edits next) and its definition as pages."""
    latest = selectors.latest_form(procedure)
    return latest, designer.as_pages(latest.definition if latest else None)


def _used_ids(procedure: Procedure) -> tuple[set[str], set[str]]:
    return designer.ids_in([f.definition for f in procedure.forms.only("definition")])


def _questions_url(procedure: Procedure, anchor: str = "") -> str:
    url = reverse("procedures:designer_questions", args=[procedure.slug])
    return f"{url}#{anchor}" if anchor else url


def _store(request, procedure: Procedure, definition: dict, done: str) -> FormDefinition | None:
    """Save as a new version based on the one the page showed; tell the person either way."""
    try:
        base = int(request.POST.get("base", ""))
    except ValueError:
        base = None
    try:
        saved = services.save_draft_form(
            procedure=procedure, definition=definition, actor=request.user, base_version=base
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return None
    messages.success(
        request,
        _("%(done)s（第%(v)s版として保存しました）") % {"done": done, "v": saved.version},
    )
    return saved


# --- procedures ---------------------------------------------------------------------------------


def procedure_new(request):
    _admin(request)
    return _settings_page(request, Procedure(), template="procedures/designer/procedure_new.html")


def procedure_settings(request, slug: str):
    _admin(request)
    return _settings_page(
        request, _procedure(slug), template="procedures/designer/procedure_settings.html"
    )


def _settings_page(request, procedure: Procedure, *, template: str):
    from payments.selectors import fee_revenues

    form = ProcedureSettingsForm(request.POST or None, instance=procedure, revenues=fee_revenues())
    if request.method == "POST" and form.is_valid():
        created = procedure.pk is None
        saved = services.save_procedure_settings(
            procedure=form.save(commit=False), actor=request.user, changed=form.changed_data
        )
        messages.success(
            request,
            _("手続を作りました。次に質問を加えます。")
            if created
            else _("手続の設定を保存しました。"),
        )
        if created:
            return redirect("procedures:designer_questions", slug=saved.slug)
        return redirect("procedures:admin_procedure", slug=saved.slug)
    return render(
        request,
        template,
        {"procedure": procedure, "form": form, "errors": _form_errors(form)},
        status=400 if form.errors else 200,
    )


def _form_errors(form) -> list[dict[str, str]]:
    """The GOV.UK error summary of a Django form: each message linked to its input."""
    out = []
    for name, errors in form.errors.items():
        anchor = form[name].id_for_label if name in form.fields else ""
        if name in form.fields and form.fields[name].widget.input_type in ("radio", "checkbox"):
            anchor = f"{form[name].auto_id}_0"
        for message in errors:
            out.append({"anchor": anchor, "message": message})
    return out


def overview(request, slug: str, *, level_error: str = "", status: int = 200):
    """The task list: what the procedure is, its questions, what blocks publishing, versions."""
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    live = selectors.published_form(procedure)
    problems = selectors.publish_checklist(procedure, definition)
    return render(
        request,
        "procedures/designer/overview.html",
        {
            "procedure": procedure,
            "latest": latest,
            "live": live,
            "problems": problems,
            "question_count": len(formschema.all_fields(definition)),
            "page_count": len(formschema.pages_of(definition)),
            "versions": selectors.form_versions(procedure)[:5],
            "can_publish": request.user.has_perm("procedures.publish_formdefinition"),
            "identity_levels": IdentityLevel.choices,
            "level_error": level_error,
        },
        status=status,
    )


# --- questions -----------------------------------------------------------------------------------


def questions(request, slug: str):
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    problems = selectors.publish_checklist(procedure, definition)
    by_field: dict[str, list[str]] = {}
    by_page: dict[str, list[str]] = {}
    for problem in problems:
        if problem.field:
            by_field.setdefault(problem.field, []).append(problem.message)
        if problem.page:
            by_page.setdefault(problem.page, []).append(problem.message)
    pages = []
    lang = formschema._lang()
    all_items = formschema.all_fields(definition)
    for number, page in enumerate(definition["pages"], start=1):
        items = []
        for field in page["fields"]:
            items.append(
                {
                    "field": field,
                    "id": field["id"],
                    "label": formschema.field_name(field),
                    "kind": designer.KINDS[designer.kind_of(field)].label,
                    "required": bool(field.get("required")),
                    "condition": formdiff._condition_text(definition, field.get("show_if")),
                    "problems": by_field.get(field["id"], []),
                    "first": field is all_items[0],
                    "last": field is all_items[-1],
                }
            )
        pages.append(
            {
                "id": page["id"],
                "number": number,
                "name": formschema.page_name(definition, page["id"]),
                "title": formschema.label(page.get("title"), lang),
                "items": items,
                "routes": [formdiff._route_text(definition, r) for r in page.get("routes", [])],
                "problems": by_page.get(page["id"], []),
            }
        )
    missing_certificate_fields = [p for p in problems if p.code == "certificate_fields"]
    return render(
        request,
        "procedures/designer/questions.html",
        {
            "procedure": procedure,
            "latest": latest,
            "base": latest.version if latest else 0,
            "pages": pages,
            "problems": problems,
            "missing_certificate_fields": missing_certificate_fields,
        },
    )


def question_add(request, slug: str):
    """「質問を追加」: choose the kind of answer (GOV.UK Forms' first step), then its settings."""
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    page_id = request.GET.get("page") or request.POST.get("page") or definition["pages"][-1]["id"]
    if page_id not in {p["id"] for p in definition["pages"]}:
        raise Http404
    kind = request.GET.get("kind") or request.POST.get("kind")
    if kind not in designer.KINDS:
        error = _("質問の種類を選んでください。") if "kind" in request.GET else ""
        return render(
            request,
            "procedures/designer/palette.html",
            {
                "procedure": procedure,
                "palette": designer.PALETTE,
                "page_id": page_id,
                "error": error,
                "errors": [{"anchor": "kind-0", "message": error}] if error else [],
            },
            status=400 if error else 200,
        )
    form = QuestionForm(
        request.POST if request.method == "POST" else None, kind=kind, definition=definition
    )
    if request.method == "POST" and "more_choices" not in request.POST and form.is_valid():
        used_fields, _pages = _used_ids(procedure)
        fid = designer.next_id("q", used_fields)
        field = form.to_field(fid)
        saved = _store(
            request,
            procedure,
            designer.add_field(definition, field, page_id=page_id),
            _("質問「%(name)s」を加えました。") % {"name": formschema.field_name(field)},
        )
        if saved is not None:
            return redirect(_questions_url(procedure, f"q-{fid}"))
    return _question_page(request, procedure, latest, form, kind=kind, page_id=page_id)


def _question_page(request, procedure, latest, form, *, kind, page_id="", field=None):
    posted = request.method == "POST" and "more_choices" not in request.POST
    return render(
        request,
        "procedures/designer/question.html",
        {
            "procedure": procedure,
            "base": latest.version if latest else 0,
            "form": form,
            "kind": designer.KINDS[kind],
            "page_id": page_id,
            "field": field,
            "errors": _form_errors(form) if posted else [],
        },
        status=400 if posted and form.errors else 200,
    )


def question_edit(request, slug: str, fid: str):
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    field = formschema.field_map(definition).get(fid)
    if field is None:
        raise Http404
    kind = designer.kind_of(field)
    form = QuestionForm(
        request.POST if request.method == "POST" else None,
        kind=kind,
        definition=definition,
        field=field,
    )
    if request.method == "POST" and "more_choices" not in request.POST and form.is_valid():
        changed = form.to_field(fid)
        # Settings the designer does not show (set by JSON import) are kept.
        kept = {
            k: v for k, v in field.items() if k in ("prefill", "staff_only") and k not in changed
        }
        saved = _store(
            request,
            procedure,
            designer.replace_field(definition, changed | kept),
            _("質問「%(name)s」を変えました。") % {"name": formschema.field_name(changed)},
        )
        if saved is not None:
            return redirect(_questions_url(procedure, f"q-{fid}"))
    return _question_page(request, procedure, latest, form, kind=kind, field=field)


def question_delete(request, slug: str, fid: str):
    """Asks first, naming the conditions and routes that rely on the question."""
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    field = formschema.field_map(definition).get(fid)
    if field is None:
        raise Http404
    if request.method == "POST":
        saved = _store(
            request,
            procedure,
            designer.delete_field(definition, fid),
            _("質問「%(name)s」を削除しました。") % {"name": formschema.field_name(field)},
        )
        return redirect(_questions_url(procedure) if saved else request.path)
    return render(
        request,
        "procedures/designer/question_delete.html",
        {
            "procedure": procedure,
            "base": latest.version if latest else 0,
            "field": field,
            "name": formschema.field_name(field),
            "references": designer.references_to(definition, fid),
        },
    )


@require_POST
def question_move(request, slug: str, fid: str):
    _admin(request)
    procedure = _procedure(slug)
    _latest, definition = _working(procedure)
    field = formschema.field_map(definition).get(fid)
    if field is None:
        raise Http404
    step = -1 if request.POST.get("step") == "up" else 1
    _store(
        request,
        procedure,
        designer.move_field(definition, fid, step),
        (_("「%(name)s」を上に移しました。") if step < 0 else _("「%(name)s」を下に移しました。"))
        % {"name": formschema.field_name(field)},
    )
    direction = "up" if step < 0 else "down"
    return redirect(_questions_url(procedure, f"move-{direction}-{fid}"))


@require_POST
def question_break(request, slug: str, fid: str):
    """A page break after this question."""
    _admin(request)
    procedure = _procedure(slug)
    _latest, definition = _working(procedure)
    if fid not in formschema.field_map(definition):
        raise Http404
    _fields, used_pages = _used_ids(procedure)
    used_pages |= {p["id"] for p in definition["pages"]}
    new_id = designer.next_id("p", used_pages)
    _store(
        request,
        procedure,
        designer.split_page(definition, fid, new_page_id=new_id),
        _("ページを分けました。"),
    )
    return redirect(_questions_url(procedure, f"page-{new_id}"))


@require_POST
def reorder(request, slug: str):
    """The order a drag and drop left: one "order" value per page, "<page id>:<q1>,<q2>"."""
    _admin(request)
    procedure = _procedure(slug)
    _latest, definition = _working(procedure)
    order = []
    for value in request.POST.getlist("order"):
        page_id, _sep, fids = value.partition(":")
        order.append((page_id, [f for f in fids.split(",") if f]))
    try:
        changed = designer.reorder(definition, order)
    except ValueError:
        messages.error(request, _("並べ替えを読み取れませんでした。画面を開き直してください。"))
        return redirect(_questions_url(procedure))
    _store(request, procedure, changed, _("質問を並べ替えました。"))
    return redirect(_questions_url(procedure))


@require_POST
def page_add(request, slug: str):
    _admin(request)
    procedure = _procedure(slug)
    _latest, definition = _working(procedure)
    _fields, used_pages = _used_ids(procedure)
    used_pages |= {p["id"] for p in definition["pages"]}
    new_id = designer.next_id("p", used_pages)
    _store(
        request,
        procedure,
        designer.add_page(definition, new_page_id=new_id),
        _("ページを加えました。"),
    )
    return redirect(_questions_url(procedure, f"page-{new_id}"))


@require_POST
def page_join(request, slug: str, page_id: str):
    _admin(request)
    procedure = _procedure(slug)
    _latest, definition = _working(procedure)
    if page_id not in {p["id"] for p in definition["pages"]}:
        raise Http404
    try:
        changed = designer.remove_page_break(definition, page_id)
    except ValueError:
        messages.error(request, _("最初のページは前のページとつなげられません。"))
        return redirect(_questions_url(procedure))
    _store(request, procedure, changed, _("ページの区切りを外しました。"))
    return redirect(_questions_url(procedure))


def page_edit(request, slug: str, page_id: str):
    _admin(request)
    procedure = _procedure(slug)
    latest, definition = _working(procedure)
    if page_id not in {p["id"] for p in definition["pages"]}:
        raise Http404
    form = PageForm(
        request.POST if request.method == "POST" else None,
        definition=definition,
        page_id=page_id,
    )
    if request.method == "POST" and form.is_valid():
        saved = _store(
            request,
            procedure,
            designer.set_page(definition, page_id, title=form.title(), routes=form.routes()),
            _("%(page)sを変えました。") % {"page": formschema.page_name(definition, page_id)},
        )
        if saved is not None:
            return redirect(_questions_url(procedure, f"page-{page_id}"))
    posted = request.method == "POST"
    return render(
        request,
        "procedures/designer/page.html",
        {
            "procedure": procedure,
            "base": latest.version if latest else 0,
            "form": form,
            "page_name": formschema.page_name(definition, page_id),
            "page_id": page_id,
            "errors": _form_errors(form) if posted else [],
        },
        status=400 if posted and form.errors else 200,
    )


@require_POST
def certificate_fields(request, slug: str):
    """Add the questions the procedure's certificate reads (a checklist item's fix)."""
    _admin(request)
    procedure = _procedure(slug)
    if not procedure.certificate_kind:
        raise Http404
    _latest, definition = _working(procedure)
    kind = certificate_kind(procedure.certificate_kind)
    _store(
        request,
        procedure,
        designer.add_certificate_fields(definition, kind.form_fields),
        _("証明書に必要な質問を加えました。"),
    )
    return redirect(_questions_url(procedure))


# --- preview -------------------------------------------------------------------------------------


def _version(pk: int) -> FormDefinition:
    return get_object_or_404(
        FormDefinition.objects.select_related("procedure", "created_by", "approved_by"), pk=pk
    )


def preview(request, pk: int):
    """The form as a resident sees it, in a phone-sized frame, in either language, prefilled with
    the fictitious 見本 太郎 or with a resident record chosen here (a staff read: audited)."""
    _admin(request)
    form_version = _version(pk)
    procedure = form_version.procedure
    lang = "en" if request.GET.get("lang") == "en" else "ja"
    resident = None
    found = []
    query = request.GET.get("q", "").strip()
    if request.GET.get("resident"):
        resident = get_resident(request.GET["resident"])
        if resident is None:
            raise Http404
        audit.record_read(
            request=request,
            action="procedures.form_previewed_with_resident",
            obj=resident,
            purpose=PREVIEW_PURPOSE,
            details={"form": form_version.pk},
        )
    elif query:
        found = search_residents(query, limit=10)
        if found:
            audit.record_read(
                request=request,
                action="procedures.preview_residents_shown",
                object_type="residents.Resident",
                purpose=PREVIEW_PURPOSE,
                details={"residents": [r.pk for r in found]},
            )
    frame = reverse("procedures:designer_preview_frame", args=[pk]) + f"?lang={lang}&start=1"
    if resident is not None:
        frame += f"&resident={resident.pk}"
    return render(
        request,
        "procedures/designer/preview.html",
        {
            "procedure": procedure,
            "form_version": form_version,
            "lang": lang,
            "frame_url": frame,
            "resident": resident,
            "found": found,
            "query": query,
            "problems": selectors.publish_checklist(procedure, form_version.definition),
        },
    )


# Shown inside the designer's own preview page only: framing by the same origin, not by others.
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def preview_frame(request, pk: int):
    """What the frame shows: the resident's form page by page (routes followed), in the chosen
    language; answers live in the session only, nothing is stored."""
    _admin(request)
    form_version = _version(pk)
    definition = form_version.definition
    lang = "en" if request.GET.get("lang") == "en" else "ja"
    resident = get_resident(request.GET["resident"]) if request.GET.get("resident") else None
    key = f"designer-preview:{pk}:{resident.pk if resident else 'sample'}"
    if request.GET.get("start") or key not in request.session:
        prefill = (
            selectors.prefill_values(definition, resident)
            if resident is not None
            else selectors.sample_prefill(definition)
        )
        request.session[key] = prefill
    answers = request.session[key]
    dynamic = (
        selectors.dynamic_choices(definition, resident)
        if resident is not None
        else {
            f["id"]: selectors.sample_household()
            for f in formschema.all_fields(definition)
            if f.get("prefill") == "household_members"
        }
    )
    with translation.override(lang):
        return _preview_step(request, form_version, answers, dynamic, key=key, lang=lang)


def _preview_step(request, form_version, answers, dynamic, *, key, lang):
    definition = form_version.definition
    path = formschema.page_path(definition, answers)
    page_id = request.GET.get("page") or path[0]
    if page_id not in {p["id"] for p in formschema.pages_of(definition)}:
        raise Http404
    errors: dict = {}
    query = request.GET.copy()
    query.pop("start", None)
    if request.method == "POST":
        page_fields = formschema.page_fields(definition, page_id, staff=False)
        posted = answers_from_post({"fields": page_fields}, request.POST)
        answers = answers | posted
        request.session[key] = answers
        _cleaned, all_errors = formschema.validate_answers(
            definition,
            answers,
            formschema.Context(
                dynamic_choices={k: [v for v, _label in pairs] for k, pairs in dynamic.items()},
                attachment_counts={f["id"]: 1 for f in formschema.all_fields(definition)},
            ),
        )
        ids = {f["id"] for f in page_fields}
        errors = {fid: msgs for fid, msgs in all_errors.items() if fid in ids}
        if not errors:
            path = formschema.page_path(definition, answers)
            following = path[path.index(page_id) + 1 :] if page_id in path else []
            query["page"] = following[0] if following else "done"
            return redirect(f"{request.path}?{query.urlencode()}")
    if request.GET.get("page") == "done":
        rows = field_rows(definition, answers, dynamic=dynamic)
        return render(
            request,
            "procedures/designer/preview_frame_done.html",
            {"form_version": form_version, "rows": rows, "lang": lang},
        )
    visible_on_page = {f["id"] for f in formschema.page_fields(definition, page_id, staff=False)}
    rows = [
        row
        for row in field_rows(definition, answers, errors, dynamic=dynamic)
        if row["id"] in visible_on_page
    ]
    position = path.index(page_id) + 1 if page_id in path else 1
    back = path[path.index(page_id) - 1] if page_id in path and path.index(page_id) > 0 else ""
    back_query = request.GET.copy()
    back_query.pop("start", None)
    back_query["page"] = back
    return render(
        request,
        "procedures/designer/preview_frame.html",
        {
            "form_version": form_version,
            "rows": rows,
            "errors": error_summary(errors, rows),
            "page_title": formschema.label(
                next(p for p in formschema.pages_of(definition) if p["id"] == page_id).get("title"),
                lang,
            ),
            "position": position,
            "page_count": len(path),
            "back_url": f"{request.path}?{back_query.urlencode()}" if back else "",
            "lang": lang,
        },
        status=400 if errors else 200,
    )


# --- versions and publishing ---------------------------------------------------------------------


def versions(request, slug: str):
    _admin(request)
    procedure = _procedure(slug)
    rows = []
    items = list(selectors.form_versions(procedure))
    for index, version in enumerate(items):
        older = items[index + 1] if index + 1 < len(items) else None
        changes = formdiff.describe_changes(older.definition, version.definition) if older else []
        rows.append(
            {
                "version": version,
                "summary": formdiff.summary(changes) if older else _("最初の版"),
            }
        )
    return render(
        request,
        "procedures/designer/versions.html",
        {"procedure": procedure, "rows": rows, "numbers": [v.version for v in items]},
    )


def compare(request, slug: str):
    """The diff in words between any two versions (?a=3&b=5)."""
    _admin(request)
    procedure = _procedure(slug)
    try:
        a, b = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        messages.error(request, _("比べる二つの版を選んでください。"))
        return redirect("procedures:designer_versions", slug=slug)
    old = get_object_or_404(FormDefinition, procedure=procedure, version=min(a, b))
    new = get_object_or_404(FormDefinition, procedure=procedure, version=max(a, b))
    return render(
        request,
        "procedures/designer/compare.html",
        {
            "procedure": procedure,
            "old": old,
            "new": new,
            "changes": formdiff.describe_changes(old.definition, new.definition),
        },
    )


def version_detail(request, pk: int, *, form=None, status: int = 200):
    """A version: who saved it, its state, what changed since the one before, what blocks it,
    and publishing for a second person holding the publish permission."""
    _admin(request)
    form_version = _version(pk)
    procedure = form_version.procedure
    previous = procedure.forms.filter(version__lt=form_version.version).order_by("-version").first()
    live = selectors.published_form(procedure)
    can_publish = request.user.has_perm("procedures.publish_formdefinition")
    return render(
        request,
        "procedures/designer/version.html",
        {
            "procedure": procedure,
            "form_version": form_version,
            "previous": previous,
            "changes": formdiff.describe_changes(previous.definition, form_version.definition)
            if previous
            else [],
            "problems": selectors.publish_checklist(procedure, form_version.definition),
            "live": live,
            "can_publish": can_publish,
            "is_author": form_version.created_by_id == request.user.pk,
            "publish_form": form or PublishForm(today=timezone.localdate()),
            "errors": _form_errors(form) if form is not None else [],
        },
        status=status,
    )


@require_POST
def publish(request, pk: int):
    if not request.user.has_perm("procedures.publish_formdefinition"):
        raise PermissionDenied(_("様式を公開できるのは、公開の権限がある職員だけです。"))
    form_version = _version(pk)
    form = PublishForm(request.POST, today=timezone.localdate())
    if not form.is_valid():
        return version_detail(request, pk, form=form, status=400)
    try:
        services.publish_form(
            form=form_version, actor=request.user, publish_on=form.publish_on_value()
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        if any(e.code == "four_eyes" for e in getattr(exc, "error_list", [])):
            # The one who saved the version asked to publish it: refused (four eyes), the
            # version page says why.
            return version_detail(request, pk, status=403)
        return redirect("procedures:designer_version", pk=pk)
    form_version.refresh_from_db()
    if form_version.is_published:
        messages.success(request, _("第%(v)s版を公開しました。") % {"v": form_version.version})
    else:
        messages.success(
            request,
            _("第%(v)s版を%(day)sに公開するよう予約しました。")
            % {"v": form_version.version, "day": form_version.publish_on.isoformat()},
        )
    return redirect("procedures:designer_version", pk=pk)


@require_POST
def unschedule(request, pk: int):
    if not request.user.has_perm("procedures.publish_formdefinition"):
        raise PermissionDenied(_("様式を公開できるのは、公開の権限がある職員だけです。"))
    form_version = _version(pk)
    try:
        services.cancel_schedule(form=form_version, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("公開の予約を取り消しました。"))
    return redirect("procedures:designer_version", pk=pk)


def export_json(request, pk: int):
    _admin(request)
    form_version = _version(pk)
    body = json.dumps(form_version.definition, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = f"{form_version.procedure.slug}-v{form_version.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def import_json(request, slug: str):
    """JSON for power users: checked by the same schema, saved as a new draft version; problems
    are named in words (the page and question), a JSON syntax error by its line."""
    _admin(request)
    procedure = _procedure(slug)
    latest, _definition = _working(procedure)
    problems: list[str] = []
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            problems, definition = _parse(form.text())
            if not problems:
                saved = _store(request, procedure, definition, _("JSONを読み込みました。"))
                if saved is not None:
                    return redirect("procedures:designer_version", pk=saved.pk)
    else:
        text = json.dumps(
            latest.definition if latest else {"pages": []}, ensure_ascii=False, indent=2
        )
        form = ImportForm(initial={"definition": text})
    errors = [{"anchor": "id_definition", "message": p} for p in problems] + (
        _form_errors(form) if request.method == "POST" else []
    )
    return render(
        request,
        "procedures/designer/import.html",
        {
            "procedure": procedure,
            "form": form,
            "problems": problems,
            "errors": errors,
            "base": latest.version if latest else 0,
            "latest": latest,
        },
        status=400 if errors else 200,
    )


def _parse(text: str) -> tuple[list[str], Any]:
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        return [
            _("JSONの%(line)s行目%(col)s文字目あたりの書き方が正しくありません（%(detail)s）。")
            % {"line": exc.lineno, "col": exc.colno, "detail": exc.msg}
        ], None
    return formschema.definition_problems(definition), definition
