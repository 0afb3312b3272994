from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardLoginConfig(AppConfig):
    """allauth's provider for the マイナンバーカード platform (its own app, as allauth expects)."""

    name = "identity.card"
    label = "identity_card"
    verbose_name = _("マイナンバーカードでのログイン")
