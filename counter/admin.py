from django.contrib import admin

from .models import Counter, Service, Ticket, TicketEvent


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name_ja", "name_en", "default_service_minutes", "active"]


@admin.register(Counter)
class CounterAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "opens_at", "closes_at", "active"]
    filter_horizontal = ["services"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "at", "from_state", "to_state", "actor", "counter", "details"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change only through the counter's services."""

    list_display = ["label", "business_date", "state", "counter", "issued_at", "called_at"]
    list_filter = ["business_date", "service", "state"]
    exclude = ["token", "resident"]
    inlines = [TicketEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
