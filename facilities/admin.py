"""Django admin for the city's configuration of facilities (admins): facilities with their
opening hours, units with their periods, equipment, photos and closures. Bookings, rounds and
registrations are changed through the staff pages and services, not here."""

from __future__ import annotations

from django.contrib import admin

from .models import Closure, Equipment, Facility, OpeningHours, Period, Photo, Unit
from .services.places import show_on_map


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class EquipmentInline(admin.TabularInline):
    model = Equipment
    extra = 0


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ("code", "name_ja", "kind", "area_ja", "months_ahead", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name_ja", "name_en")
    inlines = [OpeningHoursInline, EquipmentInline, PhotoInline, ClosureInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        show_on_map(obj, actor=request.user)


class PeriodInline(admin.TabularInline):
    model = Period
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name_ja", "facility", "slot_mode", "capacity", "lottery", "active")
    list_filter = ("facility", "slot_mode", "lottery", "active")
    search_fields = ("code", "name_ja", "name_en")
    inlines = [PeriodInline]
