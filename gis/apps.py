from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GisConfig(AppConfig):
    name = "gis"
    # django.contrib.gis already uses the label "gis".
    label = "geo"
    verbose_name = _("統合型GIS")

    def ready(self):
        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import grant

        from .selectors import can_see_staff_layers

        staff_reads = (
            "geo.view_layer",
            "geo.view_feature",
            "geo.view_staff_layers",
            "geo.view_addresspoint",
            "geo.view_garbagedistrict",
            "geo.view_garbageschedule",
        )
        grant("clerk", *staff_reads, "geo.change_addresspoint")
        grant("supervisor", *staff_reads, "geo.change_addresspoint")
        grant(
            "admin",
            *staff_reads,
            "geo.change_addresspoint",
            "geo.add_layer",
            "geo.change_layer",
            "geo.change_garbageschedule",
        )
        register_portal(
            Link("gis:map", _("地図"), _("施設、ごみ収集地区、浸水想定区域を地図で見る"), order=60)
        )
        register_portal(
            Link("gis:garbage", _("ごみ出しの日"), _("住所からごみ収集日を調べる"), order=61)
        )
        register_staff(
            Link(
                "gis:staff_map",
                _("統合型GIS地図"),
                _("筆・道路・上下水道・住民・課税を一つの地図で"),
                order=60,
                allowed=can_see_staff_layers,
            )
        )
        register_staff(
            Link(
                "gis:staff_unresolved",
                _("位置未確定の住所"),
                _("地図上の位置が決まらない住所を直す"),
                order=61,
                permission="geo.change_addresspoint",
            )
        )
        register_staff(
            Link(
                "gis:staff_layers",
                _("GISレイヤ"),
                _("レイヤの一覧とGeoJSONの書き出し"),
                order=62,
                allowed=can_see_staff_layers,
            )
        )
        from .views import dashboard_fingerprint, dashboard_panel

        register_panel(
            Panel(
                key="garbage",
                template="gis/panel.html",
                context=dashboard_panel,
                order=60,
                fingerprint=dashboard_fingerprint(),
            )
        )
