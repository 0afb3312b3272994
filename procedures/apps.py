from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = _("電子申請")

    def ready(self) -> None:
        from cityhall.dashboard import Panel, register_panel
        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import ADMIN, grant, has_role

        from .certificates import storage  # noqa: F401 - registers its key-rotation hook
        from .signing import register as register_signing
        from .views import dashboard_fingerprint, dashboard_panel

        register_signing()

        register_portal(
            Link(
                "procedures:catalogue",
                _("手続きをさがす"),
                _("名前やライフイベントから申請できる手続きをさがします"),
                20,
            )
        )
        register_portal(
            Link(
                "procedures:my_applications",
                _("申請した手続き"),
                _("申請の状況を確かめ、証明書を受け取ります"),
                25,
            )
        )
        register_staff(
            Link("procedures:case_queue", _("申請の審査"), _("審査待ちの申請の一覧"), 20)
        )
        register_staff(
            Link(
                "procedures:counter_start",
                _("書かない窓口"),
                _("来庁者の申請を記録から作成します"),
                25,
            )
        )
        register_staff(
            Link(
                "procedures:admin_procedures",
                _("手続と様式の管理"),
                _("申請書の様式を編集・公開します（管理者）"),
                80,
                allowed=lambda user: has_role(user, ADMIN),
            )
        )
        register_panel(
            Panel(
                "procedures",
                "procedures/_dashboard_panel.html",
                dashboard_panel,
                25,
                fingerprint=dashboard_fingerprint(),
            )
        )

        grant("resident", "procedures.view_procedure", "procedures.add_application")
        staff_read = (
            "procedures.view_procedure",
            "procedures.view_formdefinition",
            "procedures.view_application",
            "procedures.change_application",
            "procedures.view_caseevent",
            "procedures.view_attachment",
            "procedures.view_certificate",
            "procedures.view_sealregistration",
        )
        grant("clerk", *staff_read)
        grant("supervisor", *staff_read)
        grant(
            "admin",
            *staff_read,
            "procedures.add_procedure",
            "procedures.change_procedure",
            "procedures.add_formdefinition",
            "procedures.change_formdefinition",
            "procedures.publish_formdefinition",
        )
        # A fee charge settled by payments moves its application on (registers the hook).
        from . import payment_hooks  # noqa: F401
