"""Readings, everyday words, checklist order and counter places for the demo catalogue's
procedures, and the search columns recomputed for every procedure (names now rank first)."""

from django.db import migrations

from procedures.search import index_texts

SEEDED = {
    "tenshutsu": ("テンシュツトドケ", "引越し 引っ越し 住所変更 転出証明書", 10),
    "tennyu": ("テンニュウトドケ", "引越し 引っ越し 住所変更", 20),
    "tenkyo": ("テンキョトドケ", "引越し 引っ越し 住所変更", 30),
    "juminhyo": ("ジュウミンヒョウノウツシノコウフセイキュウ", "住民票 住民票の写し", 40),
    "inkan-shomei": ("インカントウロクショウメイショノコウフセイキュウ", "印鑑証明 はんこ", 50),
    "kazei-shomei": ("カゼイショウメイショノコウフセイキュウ", "所得証明 住民税", 50),
    "shussei": ("シュッセイトドケ", "出産 赤ちゃん", 10),
    "jidou-teate": ("ジドウテアテニンテイセイキュウ", "子ども手当", 60),
    "sodai-gomi": ("ソダイゴミシュウシュウモウシコミ", "粗大ごみ ごみ", 90),
    "inu-toroku": ("イヌノトウロク", "犬 鑑札", 90),
}
COUNTER_PLACE = (
    "市役所本庁舎1階 総合窓口（開庁日の8時30分〜17時15分）",
    "City hall main building, 1st floor, one-stop counter (business days 8:30–17:15)",
)


def forwards(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    for procedure in Procedure.objects.all():
        kana, keywords, order = SEEDED.get(procedure.slug, ("", "", None))
        if kana and not procedure.name_kana:
            procedure.name_kana = kana
        if keywords and not procedure.keywords:
            procedure.keywords = keywords
        if order is not None and procedure.checklist_order == 100:
            procedure.checklist_order = order
        if procedure.counter_only and not procedure.counter_place_ja:
            procedure.counter_place_ja, procedure.counter_place_en = COUNTER_PLACE
        procedure.search_text, procedure.search_names = index_texts(
            names=[procedure.name_ja, procedure.name_en, procedure.name_kana],
            others=[procedure.keywords, procedure.description_ja, procedure.description_en],
        )
        procedure.save()


class Migration(migrations.Migration):
    dependencies = [("procedures", "0008_search_reading_checklist_counter_place")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
