"""Django admin for the GIS tables. Geometries are shown as text: the admin's default map
widget would fetch OpenStreetMap tiles from the internet, which Machiba does not do."""

from django.contrib import admin

from .models import AddressPoint, Feature, GarbageDistrict, GarbageSchedule, Layer


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_ja", "kind", "department", "visibility", "min_zoom", "revision"]
    list_filter = ["kind", "visibility"]
    readonly_fields = ["revision", "updated_at"]


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["external_id", "layer", "valid_from", "valid_to"]
    list_filter = ["layer"]
    search_fields = ["external_id"]
    readonly_fields = [
        "layer",
        "external_id",
        "geometry_wkt",
        "attributes",
        "valid_from",
        "valid_to",
    ]
    exclude = ["geometry"]

    @admin.display(description="WKT")
    def geometry_wkt(self, obj):
        return obj.geometry.wkt[:2000] if obj.geometry else ""

    def has_add_permission(self, request):
        # Features change through gis_import or services.edit_feature, which keep history.
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AddressPoint)
class AddressPointAdmin(admin.ModelAdmin):
    list_display = ["address_key", "parcel_key"]
    search_fields = ["address_key", "parcel_key"]
    exclude = ["point"]
    readonly_fields = ["address_key", "parcel_key"]


class GarbageScheduleInline(admin.TabularInline):
    model = GarbageSchedule
    extra = 0


@admin.register(GarbageDistrict)
class GarbageDistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name_ja", "name_en"]
    inlines = [GarbageScheduleInline]
