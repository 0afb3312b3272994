from django.contrib import admin

from .models import EventRecord, Template, TemplateVersion


class VersionInline(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    can_delete = False
    readonly_fields = ["number", "subject_ja", "subject_en", "created_by", "created_at"]
    fields = readonly_fields


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "topic", "event_key", "active"]
    inlines = [VersionInline]


@admin.register(EventRecord)
class EventRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "created_at", "handled_at", "outcome"]
    readonly_fields = [f.name for f in EventRecord._meta.fields]
