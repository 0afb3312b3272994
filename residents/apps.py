from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("住民基本台帳")

    def ready(self):
        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import grant

        from .views import dashboard_fingerprint, dashboard_panel

        staff_reads = (
            "residents.view_resident",
            "residents.view_household",
            "residents.view_movement",
        )
        staff_writes = ("residents.add_movement", "residents.change_resident")
        # Printing a My Number on a certificate the resident asked for (住基法12条5項) is the
        # counter's work; showing one on screen stays with supervisors.
        certify = "residents.certify_mynumber"
        grant("clerk", *staff_reads, *staff_writes, certify)
        grant("supervisor", *staff_reads, *staff_writes, certify, "residents.reveal_mynumber")
        grant("admin", *staff_reads)
        register_staff(
            Link(
                "residents:staff_search",
                _("住民記録"),
                _("住民の検索、住民票の記録と異動の届出"),
                order=10,
                permission="residents.view_resident",
            )
        )
        register_portal(
            Link("residents:my_info", _("わたしの情報"), _("住民票の記録と世帯の確認"), order=30)
        )
        register_portal(
            Link(
                "residents:my_link",
                _("住民情報との連携"),
                _("郵送された登録コードで、アカウントと住民記録を連携します"),
                order=31,
            )
        )
        register_panel(
            Panel(
                key="residents",
                template="residents/_dashboard_panel.html",
                context=dashboard_panel,
                order=10,
                fingerprint=dashboard_fingerprint(),
            )
        )
