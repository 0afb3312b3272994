from django.urls import path

from . import staff_views, views

app_name = "taxes"
urlpatterns = [
    path("my/tax/", views.my_tax, name="my_tax"),
    path("my/tax/start/", views.start, name="declaration_start"),
    path(
        "my/tax/declarations/<int:pk>/attachments/",
        views.attachments,
        name="declaration_attachments",
    ),
    path(
        "my/tax/declarations/<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="declaration_attachment_delete",
    ),
    path("my/tax/declarations/<int:pk>/confirm/", views.confirm, name="declaration_confirm"),
    path("my/tax/declarations/<int:pk>/done/", views.done, name="declaration_done"),
    path(
        "my/tax/declarations/<int:pk>/<slug:topic>/estimate/",
        views.estimate,
        name="declaration_estimate",
    ),
    path("my/tax/declarations/<int:pk>/<slug:topic>/", views.topic, name="declaration_topic"),
    path("my/tax/notices/<int:pk>.pdf", views.notice_pdf, name="notice_pdf"),
    path("tax/simulate/", views.simulate, name="simulate"),
    path("tax/simulate/estimate/", views.simulate_estimate, name="simulate_estimate"),
    path("staff/taxes/", staff_views.assessments, name="staff_assessments"),
    path("staff/taxes/residents/<int:resident_id>/", staff_views.resident, name="staff_resident"),
    path(
        "staff/taxes/residents/<int:resident_id>/<int:fiscal_year>/stop-special/",
        staff_views.stop_special,
        name="staff_stop_special",
    ),
    path("staff/taxes/declarations/<int:pk>/", staff_views.declaration, name="staff_declaration"),
    path(
        "staff/taxes/declarations/<int:pk>/correct/<slug:topic>/",
        staff_views.correct,
        name="staff_correct",
    ),
    path("staff/taxes/notices/<int:pk>.pdf", staff_views.notice_pdf, name="staff_notice_pdf"),
    path("staff/taxes/runs/", staff_views.runs, name="staff_runs"),
    path("staff/taxes/runs/<int:pk>/", staff_views.run, name="staff_run"),
    path("staff/taxes/salary-reports/", staff_views.salary_reports, name="staff_salary_reports"),
    path("staff/taxes/employers/", staff_views.employers, name="staff_employers"),
    path(
        "staff/taxes/employers/<int:pk>/notice.csv",
        staff_views.employer_notice,
        name="staff_employer_notice",
    ),
    path("staff/taxes/statistics/", staff_views.statistics, name="staff_statistics"),
]
