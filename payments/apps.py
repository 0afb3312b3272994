from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("税・料金の収納")

    def ready(self):
        from django.conf import settings

        from cityhall.dashboard import Panel, register_panel
        from cityhall.metrics import register_collector
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import grant

        from . import (
            checks,  # noqa: F401 - registers the system checks
            latecharge,
        )
        from .metrics import batch_run_metrics
        from .providers import stripe_checkout  # noqa: F401 - registers the provider
        from .views import dashboard_fingerprint, dashboard_panel

        latecharge.add_rates(latecharge.parse_rates(settings.PAYMENTS_LATE_CHARGE_RATES))

        reads = (
            "payments.view_charge",
            "payments.view_installment",
            "payments.view_payment",
            "payments.view_allocation",
            "payments.view_credit",
            "payments.view_refund",
            "payments.view_batchrun",
            "payments.view_notice",
            "payments.view_paymentplan",
            "payments.view_approval",
        )
        clerk_writes = (
            "payments.add_payment",
            "payments.add_paymentplan",
            "payments.add_debitaccount",
            "payments.add_adjustment",
            "payments.change_credit",
            "payments.add_refund",
            "payments.change_refund",
        )
        supervisor_writes = (
            "payments.add_batchrun",
            "payments.change_batchrun",
            "payments.review_payment",
            "payments.decide_approval",
        )
        grant("clerk", *reads, *clerk_writes)
        grant("supervisor", *reads, *clerk_writes, *supervisor_writes)
        grant("admin", *reads, *clerk_writes, *supervisor_writes)

        register_portal(
            Link(
                "payments:statement",
                _("納付状況と支払い"),
                _("税金・保険料・料金をまとめて確認し、支払います"),
                order=20,
            )
        )
        register_portal(
            Link(
                "payments:debit_account", _("口座振替の申込み"), _("口座からの自動引落し"), order=21
            )
        )
        register_staff(
            Link(
                "payments:staff_arrears",
                _("滞納整理"),
                _("住民ごとの滞納額と督促"),
                order=30,
                permission="payments.view_installment",
            )
        )
        register_staff(
            Link(
                "payments:staff_batches",
                _("収納バッチ"),
                _("賦課、取込、口座振替の実行状況"),
                order=31,
                permission="payments.view_batchrun",
            )
        )
        register_staff(
            Link(
                "payments:staff_reconciliation",
                _("収納の突合"),
                _("消込の整合性チェック"),
                order=32,
                permission="payments.view_allocation",
            )
        )
        register_staff(
            Link(
                "payments:staff_approvals",
                _("更正・還付の承認"),
                _("監督者の承認を待つ更正・還付と、金額が相違した収納"),
                order=33,
            )
        )
        register_collector(batch_run_metrics)
        register_panel(
            Panel(
                key="payments",
                template="payments/panel.html",
                context=dashboard_panel,
                order=20,
                fingerprint=dashboard_fingerprint(),
            )
        )
