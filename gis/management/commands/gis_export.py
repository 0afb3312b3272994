"""manage.py gis_export LAYER [-o FILE]: the layer's current features as GeoJSON."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from gis import selectors
from gis.models import Layer


class Command(BaseCommand):
    help = "Export a layer's current features as GeoJSON (EPSG:6668 longitude/latitude)."

    def add_arguments(self, parser):
        parser.add_argument("layer", help="slug of the layer")
        parser.add_argument("-o", "--output", default="-", help="file to write (default stdout)")

    def handle(self, *args, **options):
        layer = Layer.objects.filter(slug=options["layer"]).first()
        if layer is None:
            raise CommandError(
                f"レイヤ {options['layer']} がありません / No layer {options['layer']}"
            )
        if options["output"] == "-":
            out = self.stdout
            for piece in selectors.iter_layer_geojson(layer):
                out.write(piece, ending="")
            return
        with open(options["output"], "w", encoding="utf-8") as out:
            for piece in selectors.iter_layer_geojson(layer):
                out.write(piece)
        sys.stderr.write(f"wrote {options['output']}\n")
