"""manage.py gis_generalise [LAYER ...]: rebuild the generalised tile rows of the layers (all
of them without arguments). Idempotent; needed only after the generalisation rule changes,
since triggers keep the rows in step with every feature write."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gis import services
from gis.models import Layer


class Command(BaseCommand):
    help = "Rebuild the generalised (low-zoom) tile rows of layers from their current features."

    def add_arguments(self, parser):
        parser.add_argument("layers", nargs="*", help="slugs of the layers (default: all)")

    def handle(self, *args, **options):
        layers = Layer.objects.all()
        if options["layers"]:
            layers = layers.filter(slug__in=options["layers"])
            missing = set(options["layers"]) - set(layers.values_list("slug", flat=True))
            if missing:
                raise CommandError(
                    f"レイヤ {', '.join(sorted(missing))} がありません / "
                    f"No layer {', '.join(sorted(missing))}"
                )
        for layer in layers:
            written = services.refresh_generalised(layer=layer)
            self.stdout.write(f"{layer.slug}: {written}")
