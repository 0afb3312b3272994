"""Resident pages (/my/notices/), the one-click unsubscribe and the LINE webhook."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from cityhall.models import Notification
from residents.selectors import resident_for_user

from . import forms, lineauth, selectors, services
from .models import Channel, Delivery, LineLink


@login_required
def inbox(request):
    return render(
        request,
        "notices/inbox.html",
        {
            "items": selectors.inbox_items(request.user),
            "has_legacy": Notification.objects.filter(user=request.user).exists(),
        },
    )


@login_required
def notice_detail(request, pk: int):
    row = get_object_or_404(
        Delivery.objects.select_related("send__template_version"),
        pk=pk,
        user=request.user,
        channel=Channel.INBOX,
    )
    services.mark_read(delivery_row=row)
    return render(
        request,
        "notices/notice.html",
        {
            "delivery": row,
            "message": selectors.rendered(row),
            "topic": row.send.get_topic_display(),
        },
    )


@login_required
def open_send(request, send_id: int):
    """The link in an e-mail or LINE message: the reader's own inbox copy of that notice."""
    row = Delivery.objects.filter(send_id=send_id, user=request.user, channel=Channel.INBOX).first()
    if row is None:
        raise Http404
    return redirect("notices:notice", pk=row.pk)


def _preference_initial(preference) -> dict:
    return {
        "topics": preference.topics,
        "channels": [c for c in preference.channels if c != Channel.INBOX],
        "language": preference.language,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
    }


@login_required
def settings_page(request):
    preference = services.preference_for(request.user)
    form = forms.PreferenceForm(
        request.POST if request.method == "POST" else None, initial=_preference_initial(preference)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_preferences(
                user=request.user,
                topics=data["topics"],
                channels=data["channels"],
                language=data["language"],
                quiet_start=data["quiet_start"],
                quiet_end=data["quiet_end"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("受信設定を保存しました。"))
            return redirect("notices:settings")
    resident = resident_for_user(request.user)
    return render(
        request,
        "notices/settings.html",
        {
            "form": form,
            "preference": preference,
            "line_link": LineLink.objects.filter(user=request.user).first(),
            "resident": resident,
            "consented": services.has_consent(request.user),
            "email": request.user.email,
        },
    )


@login_required
def consent(request):
    resident = resident_for_user(request.user)
    if resident is None:
        messages.info(request, _("同意の前に、アカウントを住民情報と連携してください。"))
        return redirect("residents:my_link")
    consented = services.has_consent(request.user)
    form_class = forms.WithdrawConsentForm if consented else forms.ConsentForm
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if consented:
            services.withdraw_consent(user=request.user)
            messages.success(request, _("同意を取り消しました。"))
        else:
            services.grant_consent(user=request.user, resident=resident)
            messages.success(request, _("同意を記録しました。"))
        return redirect("notices:settings")
    return render(request, "notices/consent.html", {"form": form, "consented": consented})


@login_required
def line_page(request):
    return render(
        request,
        "notices/line.html",
        {
            "line_link": LineLink.objects.filter(user=request.user).first(),
            "configured": lineauth.configured(),
            "friend_url": settings.NOTICES_LINE_FRIEND_URL,
        },
    )


def _callback_url(request) -> str:
    return request.build_absolute_uri(reverse("notices:line_callback"))


@login_required
@require_POST
def line_start(request):
    if not lineauth.configured():
        messages.error(request, _("LINE連携は現在使えません。"))
        return redirect("notices:line")
    state, nonce = lineauth.new_state()
    request.session["notices_line_login"] = {"state": state, "nonce": nonce}
    return redirect(
        lineauth.authorize_url(redirect_uri=_callback_url(request), state=state, nonce=nonce)
    )


@login_required
def line_callback(request):
    pending = request.session.pop("notices_line_login", None)
    if not pending or request.GET.get("state") != pending.get("state"):
        messages.error(request, _("LINE連携を最初からやり直してください。"))
        return redirect("notices:line")
    if request.GET.get("error") or not request.GET.get("code"):
        messages.info(request, _("LINE連携を取りやめました。"))
        return redirect("notices:line")
    try:
        identity = lineauth.exchange(
            code=request.GET["code"], redirect_uri=_callback_url(request), nonce=pending["nonce"]
        )
        services.link_line(
            user=request.user,
            line_user_id=identity.user_id,
            display_name=identity.display_name,
            following=identity.friend,
        )
    except lineauth.LineLoginError:
        messages.error(request, _("LINEとの連携に失敗しました。もう一度お試しください。"))
        return redirect("notices:line")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("notices:line")
    messages.success(
        request, _("LINEと連携しました。受信設定で「LINE」を選ぶと、LINEでも届きます。")
    )
    return redirect("notices:line")


@login_required
@require_POST
def line_unlink(request):
    services.unlink_line(user=request.user)
    messages.success(request, _("LINEとの連携を解除しました。"))
    return redirect("notices:line")


@csrf_exempt
def unsubscribe(request, token: str):
    """RFC 8058 one-click: a POST (from the mail client, without sign-in or CSRF token) stops
    notice e-mail. A GET only shows a page with the button: link checkers must not unsubscribe."""
    user_id = services.user_from_unsubscribe_token(token)
    if user_id is None:
        raise Http404
    if request.method == "POST":
        services.unsubscribe_email(user_id=user_id)
        return render(request, "notices/unsubscribed.html")
    return render(request, "notices/unsubscribe.html", {"token": token})


@csrf_exempt
@require_POST
def line_webhook(request):
    """LINE's webhook: the body must be signed (X-Line-Signature, HMAC-SHA256 with the channel
    secret); follow and unfollow (which is also how a block shows) keep the link state true."""
    signature = request.headers.get("X-Line-Signature", "")
    secret = settings.NOTICES_LINE_CHANNEL_SECRET
    if not secret or not signature:
        return HttpResponseBadRequest("signature required")
    body = request.body.decode("utf-8", errors="replace")
    try:
        events = WebhookParser(secret).parse(body, signature)
    except InvalidSignatureError:
        return HttpResponseBadRequest("invalid signature")
    except (ValueError, KeyError):
        return HttpResponseBadRequest("malformed body")
    for event in events:
        user_id = getattr(getattr(event, "source", None), "user_id", None)
        if not user_id:
            continue
        if isinstance(event, FollowEvent):
            services.set_following(line_user_id=user_id, following=True)
        elif isinstance(event, UnfollowEvent):
            services.set_following(line_user_id=user_id, following=False)
    return HttpResponse("ok", content_type="text/plain")
