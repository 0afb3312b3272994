from celery.schedules import crontab
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The nightly jobs. The lead merges this into settings.CELERY_BEAT_SCHEDULE (ready() below also
# adds the entries that are missing, so a worker started with -B has them either way).
BEAT_SCHEDULE = {
    "payments-nightly-arrears": {
        "task": "payments.nightly_arrears",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 60 * 60 * 6},
    },
    "payments-sync-pending-payments": {
        "task": "payments.sync_pending_payments",
        "schedule": 60 * 15,
        "options": {"expires": 60 * 10},
    },
    "payments-resume-orphaned-batches": {
        "task": "payments.resume_orphaned_batches",
        "schedule": 60 * 5,
        "options": {"expires": 60 * 4},
    },
    "payments-nightly-late-charges": {
        "task": "payments.nightly_late_charges",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 60 * 60 * 6},
    },
    "payments-announce-due-installments": {
        "task": "payments.announce_due_installments",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 60 * 60 * 6},
    },
}


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("税・料金の収納")

    def ready(self):
        from django.conf import settings

        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import grant

        from . import providers  # noqa: F401 - registers the sandbox provider
        from .views import dashboard_panel

        schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None)
        if isinstance(schedule, dict):
            for name, entry in BEAT_SCHEDULE.items():
                schedule.setdefault(name, entry)

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
        supervisor_writes = ("payments.add_batchrun", "payments.change_batchrun")
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
        register_panel(
            Panel(key="payments", template="payments/panel.html", context=dashboard_panel, order=20)
        )
