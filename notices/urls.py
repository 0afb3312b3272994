from django.urls import path

from . import staff_views, views

app_name = "notices"

urlpatterns = [
    # residents
    path("my/notices/", views.inbox, name="inbox"),
    path("my/notices/<int:pk>/", views.notice_detail, name="notice"),
    path("my/notices/s/<int:send_id>/", views.open_send, name="open_send"),
    path("my/notices/settings/", views.settings_page, name="settings"),
    path("my/notices/consent/", views.consent, name="consent"),
    path("my/notices/line/", views.line_page, name="line"),
    path("my/notices/line/start/", views.line_start, name="line_start"),
    path("my/notices/line/callback/", views.line_callback, name="line_callback"),
    path("my/notices/line/unlink/", views.line_unlink, name="line_unlink"),
    # mail clients and LINE
    path("notices/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notices/line/webhook/", views.line_webhook, name="line_webhook"),
    # staff
    path("staff/notices/", staff_views.sends, name="staff_sends"),
    path("staff/notices/stats/", staff_views.statistics, name="staff_stats"),
    path("staff/notices/templates/", staff_views.templates, name="staff_templates"),
    path("staff/notices/templates/new/", staff_views.template_new, name="staff_template_new"),
    path("staff/notices/templates/<int:pk>/", staff_views.template_detail, name="staff_template"),
    path("staff/notices/new/", staff_views.compose, name="staff_compose"),
    path("staff/notices/<int:pk>/", staff_views.send_detail, name="staff_send"),
    path("staff/notices/<int:pk>/progress/", staff_views.progress_fragment, name="staff_progress"),
    path("staff/notices/<int:pk>/segment/", staff_views.segment, name="staff_segment"),
    path(
        "staff/notices/<int:pk>/list/", staff_views.recipient_list_upload, name="staff_list_upload"
    ),
    path("staff/notices/<int:pk>/preview/", staff_views.preview, name="staff_preview"),
    path("staff/notices/<int:pk>/submit/", staff_views.submit, name="staff_submit"),
    path("staff/notices/<int:pk>/approve/", staff_views.approve, name="staff_approve"),
    path("staff/notices/<int:pk>/send-back/", staff_views.send_back, name="staff_send_back"),
    path("staff/notices/<int:pk>/<str:action>/", staff_views.control, name="staff_control"),
    path(
        "staff/notices/residents/<int:resident_id>/",
        staff_views.resident_notices,
        name="staff_resident",
    ),
]
