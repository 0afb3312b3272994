"""Pages of the shared core: the portal home, the staff dashboard, health and inbox."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .dashboard import dashboard_page
from .health import run_checks
from .models import Notification
from .pagecache import anonymous_page_cache


@anonymous_page_cache(600)
def home(request):
    return render(request, "home.html")


def favicon(request):
    """Programs that ask for /favicon.ico without reading the page get the city's icon too."""
    return redirect(static("favicon.svg"), permanent=True)


def live(request):
    """Liveness: the process answers, touching nothing else (also the benchmark's floor)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def health(request):
    """PostgreSQL, Redis and a worker heartbeat; 503 naming each part that is down.

    `?part=database` asks for some checks only (the Kubernetes readiness probe: a web pod that
    reaches the database can serve pages, even while Redis or the workers are away)."""
    parts = [p for p in request.GET.get("part", "").split(",") if p] or None
    checks = run_checks(parts)
    down = [name for name, result in checks.items() if result.startswith("down")]
    failing = down or [name for name, result in checks.items() if result != "ok"]
    body = {"status": "down" if failing else "ok", "down": down, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)


def staff_dashboard(request):
    # The Django admin opens only for accounts it accepts (active and is_staff: admins).
    return render(
        request, "staff/dashboard.html", {"can_open_admin": admin.site.has_permission(request)}
    )


@login_required
def my_dashboard(request):
    """The resident's own page: what to do, what to pay and what happened, from every app."""
    return dashboard_page(request, template="cityhall/my_dashboard.html")


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


# allauth's limits that answer 429 count per minute (ACCOUNT_RATE_LIMITS: "20/m/ip" and the
# like), so a minute is what the person, and a client reading Retry-After, should wait.
RETRY_AFTER_SECONDS = 60


def too_many_requests(request, exception=None):
    """allauth's rate limits answer here (ROOT_URLCONF.handler429). When the limit's store is
    unreachable the limit fails closed: 503 and a page that says why, not "too many tries"."""
    is_available = getattr(cache, "is_available", None)
    store_down = is_available is not None and not is_available()
    response = render(
        request,
        "429.html",
        {"store_down": store_down, "retry_minutes": RETRY_AFTER_SECONDS // 60},
        status=503 if store_down else 429,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
