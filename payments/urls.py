from django.urls import path

from . import staff_money, views

app_name = "payments"
urlpatterns = [
    path("my/statement/", views.statement, name="statement"),
    path("my/statement/pay/", views.pay_selected, name="pay_selected"),
    path("my/statement/pdf/", views.statement_pdf_request, name="statement_pdf_request"),
    path("my/statement/pdf/<int:pk>/", views.statement_pdf_download, name="statement_pdf"),
    path("my/statement/pdf/list/", views.statement_documents, name="statement_documents"),
    path("my/direct-debit/", views.debit_account, name="debit_account"),
    path("pay/charge/<int:charge_id>/", views.pay_charge, name="pay_charge"),
    path("pay/return/", views.payment_return, name="payment_return"),
    path("staff/payments/arrears/", views.staff_arrears, name="staff_arrears"),
    path(
        "staff/payments/residents/<int:resident_id>/", views.staff_resident, name="staff_resident"
    ),
    path("staff/payments/receipts/<int:payment_id>/", views.staff_receipt, name="staff_receipt"),
    path("staff/payments/notices/<int:notice_id>/", views.staff_notice_pdf, name="staff_notice"),
    path("staff/payments/reconciliation/", views.staff_reconciliation, name="staff_reconciliation"),
    path(
        "staff/payments/charges/<int:charge_id>/correct/",
        staff_money.correct_charge,
        name="staff_correct_charge",
    ),
    path(
        "staff/payments/credits/<int:credit_id>/apply/",
        staff_money.apply_credit,
        name="staff_apply_credit",
    ),
    path(
        "staff/payments/credits/<int:credit_id>/refund/",
        staff_money.refund_credit,
        name="staff_refund_credit",
    ),
    path("staff/payments/approvals/", staff_money.approval_list, name="staff_approvals"),
    path("staff/payments/approvals/<int:pk>/", staff_money.approval_detail, name="staff_approval"),
    path(
        "staff/payments/reviews/<int:payment_id>/",
        staff_money.payment_review,
        name="staff_payment_review",
    ),
    path("staff/payments/batches/", views.staff_batches, name="staff_batches"),
    path("staff/payments/batches/<int:pk>/", views.staff_batch, name="staff_batch"),
    path(
        "staff/payments/batches/<int:pk>/retry/",
        views.staff_batch_retry,
        name="staff_batch_retry",
    ),
    path(
        "staff/payments/batches/<int:pk>/output/",
        views.staff_batch_output,
        name="staff_batch_output",
    ),
]
