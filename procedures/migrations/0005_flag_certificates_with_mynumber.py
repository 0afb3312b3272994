"""Certificates of residence issued before the flag existed: those whose applicant asked for My
Number (answers["include"] contains "mynumber") printed it, so they are flagged."""

from django.db import migrations


def flag(apps, schema_editor):
    Certificate = apps.get_model("procedures", "Certificate")
    Certificate.objects.filter(
        kind="residence", application__answers__include__contains=["mynumber"]
    ).update(shows_mynumber=True)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0004_certificate_shows_mynumber")]

    operations = [migrations.RunPython(flag, migrations.RunPython.noop)]
