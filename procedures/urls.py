from django.urls import path

from . import signing, staff_views, views

app_name = "procedures"
urlpatterns = [
    path("procedures/", views.catalogue, name="catalogue"),
    path("procedures/life/<slug:event>/", views.life_event, name="life_event"),
    path("procedures/<slug:slug>/", views.procedure_detail, name="procedure_detail"),
    path("procedures/<slug:slug>/apply/", views.start, name="start"),
    path("procedures/<slug:slug>/other-ways/", signing.other_ways, name="other_ways"),
    path("my/applications/", views.my_applications, name="my_applications"),
    path("my/applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("my/applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("my/applications/<int:pk>/sign/", signing.application_sign, name="application_sign"),
    path(
        "my/applications/<int:pk>/certificate-status/",
        views.certificate_status,
        name="certificate_status",
    ),
    path(
        "my/applications/<int:pk>/confirm/",
        views.application_confirm,
        name="application_confirm",
    ),
    path(
        "my/applications/<int:pk>/withdraw/",
        views.application_withdraw,
        name="application_withdraw",
    ),
    path(
        "my/applications/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"
    ),
    path(
        "my/applications/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(
        "my/applications/<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment_delete",
    ),
    path(
        "my/applications/<int:pk>/certificate.pdf",
        views.certificate_download,
        name="certificate_download",
    ),
    path("verify/", views.verify_lookup, name="verify_lookup"),
    path("verify/<str:code>/", views.verify, name="verify"),
    path("staff/cases/", staff_views.case_queue, name="case_queue"),
    path("staff/cases/<int:pk>/", staff_views.case_detail, name="case_detail"),
    path(
        "staff/cases/<int:pk>/attachments/<int:attachment_id>/",
        staff_views.case_attachment,
        name="case_attachment",
    ),
    path(
        "staff/cases/<int:pk>/certificate.pdf",
        staff_views.case_certificate,
        name="case_certificate",
    ),
    path("staff/counter-filing/", staff_views.counter_start, name="counter_start"),
    path(
        "staff/counter-filing/certificate/<int:resident_id>/",
        staff_views.counter_certificate,
        name="counter_certificate",
    ),
    path("staff/counter-filing/<int:pk>/", staff_views.counter_edit, name="counter_edit"),
    path(
        "staff/counter-filing/<int:pk>/confirm/",
        staff_views.counter_confirm,
        name="counter_confirm",
    ),
    path("staff/admin/procedures/", staff_views.admin_procedures, name="admin_procedures"),
    path(
        "staff/admin/procedures/<slug:slug>/", staff_views.admin_procedure, name="admin_procedure"
    ),
    path(
        "staff/admin/procedures/<slug:slug>/identity/",
        staff_views.admin_identity_level,
        name="admin_identity_level",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/draft/",
        staff_views.admin_draft_edit,
        name="admin_draft_edit",
    ),
    path(
        "staff/admin/forms/<int:pk>/preview/",
        staff_views.admin_form_preview,
        name="admin_form_preview",
    ),
    path(
        "staff/admin/forms/<int:pk>/publish/",
        staff_views.admin_form_publish,
        name="admin_form_publish",
    ),
]
