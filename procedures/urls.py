from django.urls import path

from . import designer_views, signing, staff_views, views

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
        "staff/admin/procedures/new/",
        designer_views.procedure_new,
        name="designer_procedure_new",
    ),
    path("staff/admin/procedures/<slug:slug>/", designer_views.overview, name="admin_procedure"),
    path(
        "staff/admin/procedures/<slug:slug>/identity/",
        staff_views.admin_identity_level,
        name="admin_identity_level",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/settings/",
        designer_views.procedure_settings,
        name="designer_settings",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/",
        designer_views.questions,
        name="designer_questions",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/add/",
        designer_views.question_add,
        name="designer_question_add",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/<slug:fid>/",
        designer_views.question_edit,
        name="designer_question",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/<slug:fid>/delete/",
        designer_views.question_delete,
        name="designer_question_delete",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/<slug:fid>/move/",
        designer_views.question_move,
        name="designer_question_move",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/questions/<slug:fid>/break/",
        designer_views.question_break,
        name="designer_question_break",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/order/",
        designer_views.reorder,
        name="designer_reorder",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/pages/add/",
        designer_views.page_add,
        name="designer_page_add",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/pages/<slug:page_id>/",
        designer_views.page_edit,
        name="designer_page",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/pages/<slug:page_id>/join/",
        designer_views.page_join,
        name="designer_page_join",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/certificate-fields/",
        designer_views.certificate_fields,
        name="designer_certificate_fields",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/versions/",
        designer_views.versions,
        name="designer_versions",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/versions/compare/",
        designer_views.compare,
        name="designer_compare",
    ),
    path(
        "staff/admin/procedures/<slug:slug>/draft/",
        designer_views.import_json,
        name="admin_draft_edit",
    ),
    path("staff/admin/forms/<int:pk>/", designer_views.version_detail, name="designer_version"),
    path(
        "staff/admin/forms/<int:pk>/preview/",
        designer_views.preview,
        name="admin_form_preview",
    ),
    path(
        "staff/admin/forms/<int:pk>/preview/frame/",
        designer_views.preview_frame,
        name="designer_preview_frame",
    ),
    path(
        "staff/admin/forms/<int:pk>/publish/",
        designer_views.publish,
        name="admin_form_publish",
    ),
    path(
        "staff/admin/forms/<int:pk>/unschedule/",
        designer_views.unschedule,
        name="designer_unschedule",
    ),
    path(
        "staff/admin/forms/<int:pk>/export.json",
        designer_views.export_json,
        name="designer_export",
    ),
]
