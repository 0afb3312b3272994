"""Data for the designer's new procedure settings, from what the rows said before:

- channels: a counter-only procedure is filed at the counter only, every other one both ways;
- fee_rule: a fixed fee where there is one, "by choice" where a published form prices its
  options (粗大ごみ), else none; the revenue is 手数料 ("fee") wherever there is a fee;
- category: 証明書の交付 for procedures that issue a certificate, else 申請・請求.
"""

from django.db import migrations


def _prices_options(procedure) -> bool:
    for form in procedure.forms.all():
        definition = form.definition or {}
        pages = definition.get("pages") or [{"fields": definition.get("fields", [])}]
        for page in pages:
            for field in page.get("fields", []):
                if any("fee" in choice for choice in field.get("choices", [])):
                    return True
    return False


def forward(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    for procedure in Procedure.objects.all():
        procedure.channels = "counter" if procedure.counter_only else "both"
        if _prices_options(procedure):
            procedure.fee_rule = "by_choice"
        elif procedure.fee_yen:
            procedure.fee_rule = "fixed"
        else:
            procedure.fee_rule = "none"
        if procedure.fee_rule != "none" and not procedure.fee_revenue:
            procedure.fee_revenue = "fee"
        procedure.category = "certificate" if procedure.certificate_kind else "application"
        procedure.save(update_fields=["channels", "fee_rule", "fee_revenue", "category"])


def backward(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    Procedure.objects.filter(channels="counter").update(counter_only=True)
    Procedure.objects.exclude(channels="counter").update(counter_only=False)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0012_designer_fields_and_versions")]

    operations = [migrations.RunPython(forward, backward)]
