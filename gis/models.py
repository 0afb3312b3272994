"""統合型GIS: layers, their features with history, address points and garbage calendars.

Geometries are stored in JGD2011 geographic coordinates (EPSG:6668, FORMATS.md §6). A feature is
never edited in place: an edit closes the current row (valid_to) and inserts the new version, so
"what did the parcel map say on 1 April" is a query, not an archaeology project.
"""

from __future__ import annotations

from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .coords import JGD2011_GEOGRAPHIC


class Layer(models.Model):
    class Kind(models.TextChoices):
        PARCELS = "parcels", _("筆（地番）")
        BUILDINGS = "buildings", _("建物")
        ROADS = "roads", _("道路")
        WATER_PIPES = "water_pipes", _("上水道管")
        SEWER_PIPES = "sewer_pipes", _("下水道管")
        DISTRICTS_GARBAGE = "districts_garbage", _("ごみ収集地区")
        DISTRICTS_SCHOOL = "districts_school", _("通学区域")
        DISTRICTS_POLLING = "districts_polling", _("投票区")
        FACILITIES = "facilities", _("施設")
        HAZARD_ZONES = "hazard_zones", _("災害危険区域")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("公開")
        STAFF = "staff", _("職員のみ")

    slug = models.SlugField(_("識別子"), max_length=50, unique=True)
    name_ja = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=100)
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    department = models.CharField(_("所管課"), max_length=100)
    visibility = models.CharField(
        _("公開範囲"), max_length=10, choices=Visibility.choices, default=Visibility.STAFF
    )
    # Leaflet path options ({"color": "#...", "weight": 1, "fill": true, ...}) for the map.
    style = models.JSONField(_("表示スタイル"), default=dict, blank=True)
    # Below this zoom the layer's tiles are empty: a million parcels do not fit on one screen.
    min_zoom = models.PositiveSmallIntegerField(_("表示する最小ズーム"), default=0)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)
    # Raised whenever the layer's features change; part of the tiles' ETag.
    revision = models.PositiveIntegerField(_("版"), default=0)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("レイヤ")
        verbose_name_plural = _("レイヤ")
        ordering = ["order", "slug"]
        permissions = [("view_staff_layers", _("職員用レイヤを閲覧できる"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility__in=["public", "staff"]), name="layer_visibility_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "parcels",
                        "buildings",
                        "roads",
                        "water_pipes",
                        "sewer_pipes",
                        "districts_garbage",
                        "districts_school",
                        "districts_polling",
                        "facilities",
                        "hazard_zones",
                    ]
                ),
                name="layer_kind_known",
            ),
            models.CheckConstraint(condition=Q(min_zoom__lte=24), name="layer_min_zoom_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class Feature(models.Model):
    """One version of one feature. The current version has valid_to NULL."""

    layer = models.ForeignKey(
        Layer, verbose_name=_("レイヤ"), on_delete=models.PROTECT, related_name="features"
    )
    external_id = models.CharField(_("外部ID"), max_length=100)
    geometry = gis_models.GeometryField(_("形状"), srid=JGD2011_GEOGRAPHIC, spatial_index=True)
    attributes = models.JSONField(_("属性"), default=dict, blank=True)
    valid_from = models.DateTimeField(_("有効開始"))
    valid_to = models.DateTimeField(_("有効終了"), null=True, blank=True)

    class Meta:
        verbose_name = _("地物")
        verbose_name_plural = _("地物")
        indexes = [
            models.Index(
                fields=["layer", "external_id"],
                condition=Q(valid_to__isnull=True),
                name="feature_current_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "external_id"],
                condition=Q(valid_to__isnull=True),
                name="one_current_feature_per_external_id",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="feature_valid_range_ordered",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="feature_external_id_set"),
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}:{self.external_id}"


class AddressPoint(models.Model):
    """Where an address (「本町3丁目12番4号」) lies, and the parcel (筆) it stands on."""

    address_key = models.CharField(_("住所キー"), max_length=120, unique=True)
    point = gis_models.PointField(_("位置"), srid=JGD2011_GEOGRAPHIC)
    parcel_key = models.CharField(_("地番キー"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("住所位置")
        verbose_name_plural = _("住所位置")

    def __str__(self) -> str:
        return self.address_key


class GarbageDistrict(models.Model):
    """ごみ収集地区. Its area is the current feature with external_id == code in a
    districts_garbage layer; the code is kept rather than a foreign key to one feature version."""

    code = models.CharField(_("地区コード"), max_length=40, unique=True)
    name_ja = models.CharField(_("地区名"), max_length=100)
    name_en = models.CharField(_("地区名（英語）"), max_length=100)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("ごみ収集地区")
        verbose_name_plural = _("ごみ収集地区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja


class GarbageSchedule(models.Model):
    """Which days one kind of garbage goes out in one district, as day tokens (FORMATS.md §7)."""

    class Kind(models.TextChoices):
        BURNABLE = "burnable", _("燃やすごみ")
        NON_BURNABLE = "non_burnable", _("燃やさないごみ")
        PLASTIC = "plastic", _("プラスチック")
        RECYCLABLE = "recyclable", _("資源（びん・缶・ペットボトル）")
        PAPER = "paper", _("古紙・布")
        HAZARDOUS = "hazardous", _("有害ごみ")

    district = models.ForeignKey(
        GarbageDistrict,
        verbose_name=_("ごみ収集地区"),
        on_delete=models.CASCADE,
        related_name="schedules",
    )
    kind = models.CharField(_("ごみの種類"), max_length=20, choices=Kind.choices)
    rule = models.CharField(_("収集日"), max_length=200)

    class Meta:
        verbose_name = _("ごみ収集日")
        verbose_name_plural = _("ごみ収集日")
        ordering = ["district", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["district", "kind"], name="one_rule_per_kind"),
            models.CheckConstraint(condition=~Q(rule=""), name="garbage_rule_set"),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} {self.kind}: {self.rule}"

    def clean(self) -> None:
        # The admin's forms call this; services.set_garbage_schedule checks the same.
        from django.core.exceptions import ValidationError

        from .garbage import parse_rule

        try:
            parse_rule(self.rule)
        except ValueError as exc:
            raise ValidationError({"rule": str(exc)}) from exc


class GeneralisedFeature(models.Model):
    """What a map tile below GENERALISED_BELOW_ZOOM draws: for each zoom, the current features
    at least one screen pixel across at that zoom, already in Web Mercator and simplified to a
    quarter pixel. A tile reads only its own zoom's rows, so a city of a million tiny parcels
    costs a low-zoom tile nothing, where filtering geo_feature had to find and discard every
    one of them. Kept in step with geo_feature by statement-level triggers (migration 0002);
    `gis.services.refresh_generalised` rebuilds a layer's rows from scratch."""

    layer = models.ForeignKey(
        Layer, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # the GiST index below leads with it
    # The version of the feature (Feature.pk) this row draws; not a foreign key, so a closed
    # version's rows can be removed by the trigger in the same statement that closes it.
    feature_id = models.BigIntegerField(db_index=True)
    zoom = models.PositiveSmallIntegerField()
    external_id = models.CharField(max_length=100)
    attributes = models.JSONField(default=dict, blank=True)
    geometry = gis_models.GeometryField(srid=3857, spatial_index=False)

    class Meta:
        verbose_name = _("地物（縮尺別簡略形状）")
        verbose_name_plural = _("地物（縮尺別簡略形状）")
        indexes = [
            # One GiST over (layer, zoom, box) (btree_gist): a tile's query is all three.
            GistIndex(fields=["layer", "zoom", "geometry"], name="generalised_tile_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(zoom__lte=24), name="generalised_zoom_range"),
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}:{self.external_id}@z{self.zoom}"


class TileCell(models.Model):
    """How many current features of a layer lie in one small square of the map (a z20 tile,
    ~30 m here), by the centre of each feature's bounding box. A z16 or z17 tile sums its
    256 or 64 cells to learn, without reading a feature, whether it holds more than a tile
    should draw; if it does it draws these cells instead (gis.selectors.TILE_FEATURE_BUDGET).
    Kept in step with geo_feature by statement-level triggers (migration 0004)."""

    layer = models.ForeignKey(
        Layer, on_delete=models.CASCADE, related_name="+", db_index=False
    )  # the indexes below lead with it
    x = models.IntegerField()
    y = models.IntegerField()
    features = models.IntegerField()

    class Meta:
        verbose_name = _("地物数（タイル区画別）")
        verbose_name_plural = _("地物数（タイル区画別）")
        constraints = [
            models.UniqueConstraint(fields=["layer", "x", "y"], name="tilecell_unique"),
            # A negative count would mean the triggers missed a write.
            models.CheckConstraint(condition=Q(features__gte=0), name="tilecell_features_gte_0"),
        ]
        indexes = [
            # A z16 tile's cells are exactly those with x / 16 and y / 16 equal to its own x
            # and y (integer division): one equality lookup instead of a strip of the layer.
            models.Index(
                models.F("layer"),
                models.F("x") / 16,
                models.F("y") / 16,
                name="tilecell_z16_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}:{self.x}/{self.y}={self.features}"
