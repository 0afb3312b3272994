from django.contrib import admin

from .models import BatchRun, Charge, Installment, Payment, Revenue


@admin.register(Revenue)
class RevenueAdmin(admin.ModelAdmin):
    list_display = ["code", "slip_code", "name_ja", "kind", "first_period_months"]


class InstallmentInline(admin.TabularInline):
    model = Installment
    extra = 0
    can_delete = False
    readonly_fields = ["number", "assessed_amount", "amount", "due_on", "allocated"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Charge)
class ChargeAdmin(admin.ModelAdmin):
    """Read-only: charges change through services (corrections are adjusting entries)."""

    list_display = ["id", "payer", "revenue", "fiscal_year", "amount", "origin", "settled_at"]
    list_filter = ["revenue", "fiscal_year"]
    search_fields = ["origin", "parcel_key"]
    inlines = [InstallmentInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "amount", "state", "paid_on", "payer"]
    list_filter = ["channel", "state"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BatchRun)
class BatchRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "processed", "total", "amount_total", "created_at"]
    list_filter = ["kind", "state"]
    exclude = ["output"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
