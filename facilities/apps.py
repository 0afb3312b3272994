from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "facilities"
    verbose_name = _("公共施設予約")

    def ready(self) -> None:
        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import ADMIN, CLERK, SUPERVISOR, grant

        from . import payment_hooks  # noqa: F401 - registers the settlement hook
        from .views import dashboard_fingerprint, dashboard_panel

        clerk = (
            "facilities.view_facility",
            "facilities.view_unit",
            "facilities.view_booking",
            "facilities.change_booking",
            "facilities.view_registration",
            "facilities.view_lotteryround",
            "facilities.approve_registration",
            "facilities.check_in_booking",
            "facilities.block_slots",
            "facilities.process_refund",
        )
        supervisor = (*clerk, "facilities.run_draw", "facilities.view_facility_stats")
        admin = (
            *supervisor,
            "facilities.add_facility",
            "facilities.change_facility",
            "facilities.add_unit",
            "facilities.change_unit",
            "facilities.add_period",
            "facilities.change_period",
            "facilities.add_equipment",
            "facilities.change_equipment",
            "facilities.add_openinghours",
            "facilities.change_openinghours",
            "facilities.add_photo",
            "facilities.change_photo",
            "facilities.add_lotteryround",
            "facilities.change_lotteryround",
        )
        grant(CLERK, *clerk)
        grant(SUPERVISOR, *supervisor)
        grant(ADMIN, *admin)

        register_portal(
            Link(
                "facilities:search",
                _("公共施設の予約"),
                _("体育館・会議室・テニスコートなどの空き状況を調べて予約し、抽選に申し込みます"),
                order=40,
            )
        )
        register_staff(
            Link(
                "facilities:staff_home",
                _("公共施設の予約"),
                _("週間予定表、団体登録の審査、コマの押さえ、抽選、利用確認、稼働率"),
                order=70,
            )
        )
        register_panel(
            Panel(
                key="facilities",
                template="facilities/_dashboard_panel.html",
                context=dashboard_panel,
                order=55,
                fingerprint=dashboard_fingerprint(),
            )
        )
