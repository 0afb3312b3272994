from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("お知らせ配信")

    def ready(self) -> None:

        from cityhall.dashboard import Panel, register_panel
        from cityhall.events import register_handler
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import ADMIN, CLERK, SUPERVISOR, grant
        from counter.residentview import register_section

        from . import events, selectors

        register_handler("notices", events.receive)
        grant(CLERK, "notices.compose_send")
        grant(SUPERVISOR, "notices.compose_send", "notices.approve_send")
        grant(ADMIN, "notices.approve_send")
        register_portal(
            Link(
                "notices:inbox",
                _("お知らせ"),
                _("市からのお知らせと、受け取り方の設定（メール・LINE）"),
                15,
            )
        )
        register_staff(
            Link(
                "notices:staff_sends",
                _("お知らせ配信"),
                _("住民へのお知らせの作成・承認・配信状況"),
                60,
                permission="notices.compose_send",
            )
        )
        register_panel(
            Panel(
                key="notices",
                template="notices/_dashboard_panel.html",
                context=selectors.dashboard_panel,
                order=15,
                fingerprint=selectors.dashboard_fingerprint(),
            )
        )
        register_section(
            key="notices",
            template="notices/_resident_360.html",
            context=selectors.resident_360_section,
            order=90,
        )
