"""Filing with a マイナンバーカード signature: the signing step between confirmation and
submission, and the page that says how else to get a certificate.

The step is its own view so the form pages stay as they are: where an application would be
submitted, `submit_or_sign` sends a procedure of identity level jpki here instead. The signature
itself is fetched and verified by identity; once it verifies, identity calls `on_signed` (the
hook registered below), which submits the application with it, or refuses and stores nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from identity import services as identity_services
from identity import signing as identity_signing
from identity.views import callback_url

from . import selectors, services, workflow
from .forms import field_rows
from .models import Application, Procedure

ORIGIN_PREFIX = "procedures.application:"


def on_signed(*, origin: str, signature, actor) -> None:
    """identity verified a signature on an application: submit the application with it."""
    application = Application.objects.filter(pk=int(origin[len(ORIGIN_PREFIX) :])).first()
    if application is None:
        raise ValidationError(_("申請が見つかりません。"), code="no_application")
    services.submit_application(application=application, actor=actor, signature=signature)


def help_url(origin: str) -> str:
    """The other-ways page of the signed application's procedure."""
    application = (
        Application.objects.select_related("procedure")
        .filter(pk=int(origin[len(ORIGIN_PREFIX) :]))
        .first()
    )
    if application is None:
        return ""
    return reverse("procedures:other_ways", args=[application.procedure.slug])


def register() -> None:
    identity_signing.register(
        identity_signing.SignedHook(prefix=ORIGIN_PREFIX, on_signed=on_signed, help_url=help_url)
    )


def submit_or_sign(request, application: Application, answers: dict | None = None):
    """Where a resident's application would be submitted (the confirmation page's button): a
    procedure that needs a signature goes to the signing step (after its answers are checked),
    others return None."""
    if not services.needs_signature(application):
        return None
    try:
        services.prepare_for_signing(application=application, actor=request.user, answers=answers)
    except ValidationError as exc:
        from .views import render_application_form

        application.refresh_from_db()
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return render_application_form(
            request, application, errors=errors, template="procedures/application_form.html"
        )
    return redirect("procedures:application_sign", pk=application.pk)


def _own(request, pk: int) -> Application:
    return get_object_or_404(
        Application.objects.select_related("procedure", "form", "applicant"),
        pk=pk,
        user=request.user,
    )


@login_required
@never_cache
def application_sign(request, pk: int):
    """マイナンバーカードで署名します: what will be signed, what is needed, and the button."""
    application = _own(request, pk)
    editable = application.state in (workflow.DRAFT, workflow.CORRECTION_REQUESTED)
    if not services.needs_signature(application) or not editable:
        return redirect("procedures:application_detail", pk=pk)
    problem = ""
    if request.method == "POST":
        try:
            payload = services.prepare_for_signing(application=application, actor=request.user)
            url = identity_services.begin_signing(
                user=request.user,
                origin=application.origin,
                payload=payload,
                return_url=reverse("procedures:application_detail", args=[pk]),
                retry_url=reverse("procedures:application_sign", args=[pk]),
                callback_url=callback_url(request),
                request=request,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                messages.error(request, _("入力内容に誤りがあります。確認してください。"))
                return redirect("procedures:application_edit", pk=pk)
            problem = " ".join(exc.messages)
        except PermissionDenied:
            raise Http404 from None
        else:
            return redirect(url)
    application.refresh_from_db()
    return render(
        request,
        "procedures/application_sign.html",
        {
            "application": application,
            "answers": field_rows(
                application.form.definition,
                application.answers,
                dynamic=selectors.dynamic_choices(
                    application.form.definition, application.applicant
                ),
            ),
            "problem": problem,
        },
        status=503 if problem else 200,
    )


def other_ways(request, slug: str):
    """When a resident cannot sign with the card: the counter, convenience-store issuance, mail."""
    procedure = get_object_or_404(Procedure, slug=slug, is_active=True)
    return render(request, "procedures/other_ways.html", {"procedure": procedure})
