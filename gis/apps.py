from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GisConfig(AppConfig):
    name = "gis"
    # django.contrib.gis already uses the label "gis".
    label = "geo"
    verbose_name = _("統合型GIS")
