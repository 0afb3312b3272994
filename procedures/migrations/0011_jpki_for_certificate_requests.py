"""住民票の写し, 印鑑登録証明書 and 課税証明書 requested online need a マイナンバーカード signature
(identity level "jpki"); the catalogue's existing entries are set so. Reversing puts them back to
"linked", the level every procedure had before."""

from django.db import migrations

KINDS = ("residence", "seal", "tax")


def require_jpki(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    Procedure.objects.filter(certificate_kind__in=KINDS).update(identity_level="jpki")


def back_to_linked(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    Procedure.objects.filter(certificate_kind__in=KINDS).update(identity_level="linked")


class Migration(migrations.Migration):
    dependencies = [("procedures", "0010_identity_level_and_signatures")]

    operations = [migrations.RunPython(require_jpki, back_to_linked)]
