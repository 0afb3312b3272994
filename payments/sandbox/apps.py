from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsSandboxConfig(AppConfig):
    name = "payments.sandbox"
    label = "payments_sandbox"
    verbose_name = _("サンドボックス決済（開発用）")

    def ready(self) -> None:
        from . import provider  # noqa: F401 - registers the sandbox provider
