from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CounterConfig(AppConfig):
    name = "counter"
    verbose_name = _("総合窓口")

    def ready(self) -> None:
        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import ADMIN, CLERK, SUPERVISOR, grant

        from .views import dashboard_panel

        register_portal(
            Link(
                "counter:status",
                _("窓口の混雑状況"),
                _("市役所の窓口の待ち人数と待ち時間の目安、曜日・時間帯ごとの混み具合"),
                order=60,
            )
        )
        register_staff(
            Link(
                "counter:desk_pick",
                _("窓口"),
                _("整理券の呼出・転送と、来庁者の総合照会"),
                order=60,
                permission="counter.serve_ticket",
            )
        )
        register_staff(
            Link(
                "counter:stats",
                _("窓口の統計"),
                _("業務別・日別の発券数、平均待ち時間・対応時間、不在率（CSV）"),
                order=61,
                permission="counter.view_counter_stats",
            )
        )
        clerk_perms = (
            "counter.view_service",
            "counter.view_counter",
            "counter.view_ticket",
            "counter.serve_ticket",
            "counter.view_resident_360",
        )
        grant(CLERK, *clerk_perms)
        grant(SUPERVISOR, *clerk_perms, "counter.view_counter_stats")
        grant(
            ADMIN,
            *clerk_perms,
            "counter.view_counter_stats",
            "counter.add_service",
            "counter.change_service",
            "counter.add_counter",
            "counter.change_counter",
        )
        register_panel(
            Panel(
                key="counter",
                template="counter/_dashboard_panel.html",
                context=dashboard_panel,
                order=70,
            )
        )
