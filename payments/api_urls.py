"""API routes of payments, mounted under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("payments/payments", api.PaymentViewSet, basename="payment")
router.register("payments/allocations", api.AllocationViewSet, basename="allocation")
router.register("payments/batch-runs", api.BatchRunViewSet, basename="batchrun")

urlpatterns = [
    path("payments/statement/", api.statement, name="payments_statement"),
    path("payments/installments/", api.installments, name="payments_installments"),
    path("payments/reconciliation/", api.reconciliation, name="payments_reconciliation"),
    path("payments/webhooks/<str:provider>/", api.webhook, name="payments_webhook"),
    *router.urls,
]
