from django.contrib import admin

from . import services
from .models import Application, CaseEvent, Certificate, FormDefinition, Procedure, SealRegistration


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = [
        "name_ja",
        "slug",
        "department",
        "fee_yen",
        "certificate_kind",
        "channels",
        "is_active",
    ]
    list_filter = ["department", "channels", "is_active"]
    search_fields = ["name_ja", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}

    def save_model(self, request, obj, form, change):
        services.save_procedure(procedure=obj)


@admin.register(FormDefinition)
class FormDefinitionAdmin(admin.ModelAdmin):
    """Read-only here: forms are edited and published on /staff/admin/procedures/."""

    list_display = ["procedure", "version", "published_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["reference", "procedure", "state", "due_on", "assignee"]
    list_filter = ["state", "procedure"]
    search_fields = ["reference"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SealRegistration)
class SealRegistrationAdmin(admin.ModelAdmin):
    list_display = ["number", "resident", "registered_on", "revoked_on"]
    raw_id_fields = ["resident"]


admin.site.register(CaseEvent)
admin.site.register(Certificate)
