from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxesConfig(AppConfig):
    name = "taxes"
    verbose_name = _("個人住民税")

    def ready(self) -> None:

        from cityhall.navigation import Link, register_portal, register_staff
        from cityhall.roles import grant
        from procedures.certificates import register_tax_source

        from . import casekind  # noqa: F401 - registers the 住民税申告 case kind
        from .selectors import certificate_rows

        register_tax_source(certificate_rows)
        register_portal(
            Link(
                "taxes:my_tax", _("住民税の申告と税額"), _("申告し、税額決定通知書を確かめます"), 22
            )
        )
        register_portal(
            Link("taxes:simulate", _("住民税の試算"), _("給与や家族から住民税を試算します"), 23)
        )
        register_staff(
            Link(
                "taxes:staff_assessments", _("個人住民税"), _("税額決定の一覧、申告、課税処理"), 40
            )
        )
        reads = (
            "taxes.view_assessment",
            "taxes.view_declaration",
            "taxes.view_salaryreport",
            "taxes.view_assessmentrun",
            "taxes.view_specialcollection",
            "taxes.view_employer",
        )
        clerk_writes = (
            "taxes.add_declarationcorrection",
            "taxes.add_salaryreportimport",
            "taxes.change_specialcollection",
        )
        grant("clerk", *reads, *clerk_writes)
        grant("supervisor", *reads, *clerk_writes, "taxes.add_assessmentrun")
        grant("admin", *reads, *clerk_writes, "taxes.add_assessmentrun")
