from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = _("本人確認")

    def ready(self):
        from cityhall.navigation import Link, register_staff

        from . import checks, receivers  # noqa: F401 - system checks and allauth's signals

        register_staff(
            Link(
                "mfa_index",
                _("セキュリティキーと二要素認証"),
                _("セキュリティキー（パスキー）と認証アプリの登録"),
                order=90,
            )
        )
