"""manage.py gis_import LAYER FILE [--srid N] [--id-field NAME]"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from gis import services
from gis.models import Layer


class Command(BaseCommand):
    help = (
        "Import GeoJSON, Shapefile or GeoPackage into a layer (reprojected to EPSG:6668, "
        "repaired, idempotent on the external id)."
    )

    def add_arguments(self, parser):
        parser.add_argument("layer", help="slug of the layer")
        parser.add_argument("file", help="path to a GeoJSON, Shapefile (.shp) or GeoPackage")
        parser.add_argument(
            "--srid", type=int, default=None, help="source EPSG code when the file has none"
        )
        parser.add_argument(
            "--id-field", default=None, help="attribute holding the external id (default: id)"
        )

    def handle(self, *args, **options):
        layer = Layer.objects.filter(slug=options["layer"]).first()
        if layer is None:
            raise CommandError(
                f"レイヤ {options['layer']} がありません / No layer {options['layer']}"
            )
        try:
            report = services.import_layer_file(
                layer=layer,
                path=options["file"],
                srid=options["srid"],
                id_field=options["id_field"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for external_id, reason in report.repaired:
            self.stdout.write(f"repaired {external_id}: {reason}")
        for label, reason in report.rejected:
            self.stdout.write(f"rejected row {label}: {reason}")
        self.stdout.write(report.summary())
