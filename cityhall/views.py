"""Pages of the shared core: the portal home, the staff dashboard, health and inbox."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_POST

from .dashboard import panels_for
from .models import Notification


def home(request):
    return render(request, "home.html")


def favicon(request):
    """Programs that ask for /favicon.ico without reading the page get the city's icon too."""
    return redirect(static("favicon.svg"), permanent=True)


def live(request):
    """Liveness: the process answers, touching nothing else (also the benchmark's floor)."""
    return HttpResponse("ok", content_type="text/plain")


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})


def staff_dashboard(request):
    # The Django admin opens only for accounts it accepts (active and is_staff: admins).
    return render(
        request, "staff/dashboard.html", {"can_open_admin": admin.site.has_permission(request)}
    )


@login_required
def my_dashboard(request):
    """The resident's own page: what to do, what to pay and what happened, from every app."""
    panels = [
        {"template": panel.template, "context": context}
        for panel, context in panels_for(request.user)
    ]
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return render(request, "cityhall/my_dashboard.html", {"panels": panels, "unread": unread})


@login_required
def inbox(request):
    notifications = Notification.objects.filter(user=request.user)[:100]
    return render(request, "cityhall/inbox.html", {"notifications": notifications})


@login_required
@require_POST
def inbox_mark_read(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return redirect("inbox")
