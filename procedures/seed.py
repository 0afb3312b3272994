"""Demo catalogue: ten real procedures with published forms, and seal registrations for the demo
residents. Idempotent: procedures are matched by slug, a form is added only to a procedure that
has none, a seal only to a resident without one.

Kept in one file: most of its length is the data of the ten demo procedures (their forms as
literals), read top to bottom; the code is three functions.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from cityhall.seeding import SeedContext, step

from . import formschema, services
from .models import FormDefinition, Procedure, SealRegistration


def L(ja: str, en: str) -> dict:  # noqa: N802 - reads like the label it builds
    return {"ja": ja, "en": en}


NAME = {
    "id": "name",
    "type": "text",
    "label": L("氏名", "Name"),
    "required": True,
    "max_length": 40,
    "prefill": "name",
}
KANA = {
    "id": "kana",
    "type": "text",
    "label": L("フリガナ", "Name in katakana"),
    "required": True,
    "max_length": 80,
    "prefill": "name_kana",
}
BIRTH = {
    "id": "birth_date",
    "type": "date",
    "label": L("生年月日", "Date of birth"),
    "required": True,
    "prefill": "birth_date",
}
ADDRESS = {
    "id": "address",
    "type": "address",
    "label": L("住所", "Address"),
    "required": True,
    "max_length": 120,
    "prefill": "address",
}
PHONE = {
    "id": "phone",
    "type": "phone",
    "label": L("日中の電話番号", "Daytime phone"),
    "required": True,
    "help": L("例: 03-1234-5678", "e.g. 03-1234-5678"),
}
PURPOSE = {
    "id": "purpose",
    "type": "text",
    "label": L("使いみち", "Purpose"),
    "required": True,
    "max_length": 100,
    "help": L("例: 勤務先に提出", "e.g. for my employer"),
}
ID_DOC = {
    "id": "id_document",
    "type": "file",
    "label": L("本人確認書類", "Proof of identity"),
    "required": True,
    "help": L(
        "運転免許証などの写し（PDF・PNG・JPEG）",
        "A copy of a driving licence or similar (PDF, PNG, JPEG)",
    ),
}
MOVE_DATE = {
    "id": "moved_on",
    "type": "date",
    "label": L("異動日（住み始めた日）", "Date you moved"),
    "required": True,
}
MYNUMBER = {
    "id": "mynumber",
    "type": "mynumber",
    "label": L("個人番号", "My Number"),
    "staff_only": True,
    "help": L("窓口で職員が確認します", "Checked by the clerk at the counter"),
}
MEMBERS = {
    "id": "members",
    "type": "multi_choice",
    "label": L("異動する人", "Who moves"),
    "required": True,
    "prefill": "household_members",
}

PROCEDURES: list[dict] = [
    {
        "slug": "tennyu",
        "name_ja": "転入届",
        "name_en": "Notification of moving in",
        "description_ja": "他の市区町村から本市に引っ越してきたときの届出です。住み始めてから14日以内に届け出てください（住民基本台帳法22条）。",
        "description_en": "Notify us within 14 days after moving into the city from another municipality.",
        "department": "juki",
        "life_events": ["moving"],
        "fee_yen": None,
        "processing_days": 1,
        "channels": "counter",
        "required_attachments": [
            L(
                "転出証明書（マイナンバーカードによる転出届の場合は不要）",
                "Certificate of moving out (not needed if you moved out with your My Number card)",
            ),
            L("本人確認書類", "Proof of identity"),
        ],
        "fields": [
            NAME,
            KANA,
            BIRTH,
            MOVE_DATE,
            {
                "id": "previous_address",
                "type": "address",
                "label": L("前住所", "Previous address"),
                "required": True,
                "max_length": 120,
            },
            {
                "id": "new_address",
                "type": "address",
                "label": L("新住所", "New address"),
                "required": True,
                "max_length": 120,
            },
            PHONE,
            MYNUMBER,
        ],
    },
    {
        "slug": "tenshutsu",
        "name_ja": "転出届",
        "name_en": "Notification of moving out",
        "description_ja": "本市から他の市区町村へ引っ越すときの届出です。マイナンバーカードをお持ちの方はオンラインで届け出られます。",
        "description_en": "Notify us before you move out of the city. Holders of a My Number Card can do this online.",
        "department": "juki",
        "life_events": ["moving"],
        "fee_yen": None,
        "processing_days": 2,
        "required_attachments": [L("本人確認書類", "Proof of identity")],
        "fields": [
            NAME,
            BIRTH,
            ADDRESS,
            MEMBERS,
            {
                "id": "moving_on",
                "type": "date",
                "label": L("転出予定日", "Planned moving date"),
                "required": True,
            },
            {
                "id": "new_address",
                "type": "text",
                "label": L("転出先の住所", "New address"),
                "required": True,
                "max_length": 150,
            },
            PHONE,
            ID_DOC,
        ],
    },
    {
        "slug": "tenkyo",
        "name_ja": "転居届",
        "name_en": "Notification of moving within the city",
        "description_ja": "市内で引っ越したときの届出です。住み始めてから14日以内に届け出てください。",
        "description_en": "Notify us within 14 days after moving to another address in the city.",
        "department": "juki",
        "life_events": ["moving", "housing"],
        "fee_yen": None,
        "processing_days": 2,
        "required_attachments": [L("本人確認書類", "Proof of identity")],
        "fields": [
            NAME,
            BIRTH,
            ADDRESS,
            MEMBERS,
            MOVE_DATE,
            {
                "id": "new_address",
                "type": "address",
                "label": L("新住所（市内）", "New address in the city"),
                "required": True,
                "max_length": 120,
            },
            PHONE,
            ID_DOC,
        ],
    },
    {
        "slug": "juminhyo",
        "name_ja": "住民票の写しの交付請求",
        "name_en": "Request for a certificate of residence",
        "description_ja": "住民票の写しをオンラインで請求し、照合番号つきのPDFで受け取れます。本籍・続柄・住民票コードは必要な場合だけ選んでください。",
        "description_en": "Request a certificate of residence and receive it as a PDF with a verification code.",
        "department": "juki",
        "life_events": ["moving", "birth", "child_care", "housing"],
        "fee_yen": 300,
        "fee_rule": "fixed",
        "fee_revenue": "fee",
        "certificate_kind": "residence",
        "identity_level": "jpki",
        "processing_days": 2,
        "fields": [
            NAME,
            ADDRESS,
            {
                "id": "members",
                "type": "multi_choice",
                "label": L("記載する人", "Whose record"),
                "required": True,
                "prefill": "household_members",
                "help": L("世帯の全員または一部を選べます", "All or some of your household"),
            },
            {
                "id": "include",
                "type": "multi_choice",
                "label": L("記載する項目（必要な場合のみ）", "Optional items (only if needed)"),
                "choices": [
                    {"value": "relationship", "label": L("続柄", "Relationship to the head")},
                    {
                        "value": "domicile",
                        "label": L("本籍・筆頭者", "Registered domicile and its head"),
                    },
                    {"value": "resident_code", "label": L("住民票コード", "Resident code")},
                    {"value": "mynumber", "label": L("個人番号", "My Number")},
                ],
                "help": L(
                    "個人番号は、本人または同じ世帯の方が請求する場合だけ記載します",
                    "My Number is printed only for you or members of your household",
                ),
            },
            PURPOSE,
        ],
    },
    {
        "slug": "inkan-shomei",
        "name_ja": "印鑑登録証明書の交付請求",
        "name_en": "Request for a seal registration certificate",
        "description_ja": "登録している印鑑の証明書を請求します。",
        "description_en": "Request a certificate of your registered seal.",
        "department": "seal",
        "life_events": ["housing", "business", "death"],
        "fee_yen": 300,
        "fee_rule": "fixed",
        "fee_revenue": "fee",
        "certificate_kind": "seal",
        "identity_level": "jpki",
        "processing_days": 2,
        "fields": [
            NAME,
            BIRTH,
            ADDRESS,
            {
                "id": "registration_number",
                "type": "text",
                "label": L("印鑑登録番号", "Seal registration number"),
                "max_length": 20,
                "help": L("わからなければ空欄で構いません", "Leave blank if unknown"),
            },
            PURPOSE,
        ],
    },
    {
        "slug": "kazei-shomei",
        "name_ja": "課税証明書の交付請求",
        "name_en": "Request for a tax certificate",
        "description_ja": "市・県民税の課税額と所得を証明します。",
        "description_en": "Certifies your assessed municipal and prefectural tax and income.",
        "department": "individual_tax",
        "life_events": ["tax", "child_care", "housing"],
        "fee_yen": 300,
        "fee_rule": "fixed",
        "fee_revenue": "fee",
        "certificate_kind": "tax",
        "identity_level": "jpki",
        "processing_days": 2,
        "fields": [
            NAME,
            ADDRESS,
            {
                "id": "fiscal_year",
                "type": "number",
                "label": L("年度", "Fiscal year"),
                "required": True,
                "min_value": 2015,
                "max_value": 2030,
                "help": L("例: 2026", "e.g. 2026"),
            },
            PURPOSE,
        ],
    },
    {
        "slug": "jidou-teate",
        "name_ja": "児童手当認定請求",
        "name_en": "Claim for child allowance",
        "description_ja": "中学生以下の子を養育している方が児童手当を受け取るための請求です。出生や転入の翌日から15日以内に請求してください。",
        "description_en": "Claim child allowance within 15 days after a birth or moving in.",
        "department": "child_allowance",
        "life_events": ["birth", "child_care", "moving"],
        "fee_yen": None,
        "processing_days": 10,
        "required_attachments": [
            L("請求者名義の口座の通帳の写し", "A copy of the bankbook of the claimant's account")
        ],
        "fields": [
            NAME,
            BIRTH,
            ADDRESS,
            PHONE,
            {
                "id": "children",
                "type": "multi_choice",
                "label": L("対象の子", "Children"),
                "required": True,
                "prefill": "household_members",
            },
            {
                "id": "bank",
                "type": "text",
                "label": L("振込先の金融機関・支店", "Bank and branch"),
                "required": True,
                "max_length": 60,
            },
            {
                "id": "account_number",
                "type": "text",
                "label": L("口座番号", "Account number"),
                "required": True,
                "pattern": "[0-9]{7}",
                "help": L("7桁の数字", "7 digits"),
            },
            {
                "id": "lives_apart",
                "type": "yes_no",
                "label": L("別居している子がいますか", "Does a child live elsewhere?"),
                "required": True,
            },
            {
                "id": "apart_address",
                "type": "text",
                "label": L("別居している子の住所", "Address of that child"),
                "required": True,
                "max_length": 150,
                "show_if": {"field": "lives_apart", "equals": True},
            },
            {
                "id": "bankbook",
                "type": "file",
                "label": L("通帳の写し", "Copy of the bankbook"),
                "required": True,
            },
        ],
    },
    {
        "slug": "shussei",
        "name_ja": "出生届",
        "name_en": "Birth registration",
        "description_ja": "子が生まれたときの届出です。生まれた日を含めて14日以内に、出生証明書を添えて窓口に届け出てください（戸籍法49条）。",
        "description_en": "Register a birth within 14 days, at the counter, with the birth certificate.",
        "department": "koseki",
        "life_events": ["birth", "child_care"],
        "fee_yen": None,
        "processing_days": 1,
        "channels": "counter",
        "required_attachments": [
            L(
                "出生証明書（医師・助産師の記入したもの）",
                "Birth certificate (filled in by the doctor or midwife)",
            ),
            L("母子健康手帳", "Maternal and child health handbook"),
        ],
        "fields": [
            {
                "id": "child_name",
                "type": "text",
                "label": L("子の氏名", "Child's name"),
                "required": True,
                "max_length": 40,
            },
            {
                "id": "child_kana",
                "type": "text",
                "label": L("子のフリガナ", "Child's name in katakana"),
                "required": True,
                "max_length": 80,
            },
            {
                "id": "born_on",
                "type": "date",
                "label": L("生まれた日", "Date of birth"),
                "required": True,
            },
            {
                "id": "child_sex",
                "type": "choice",
                "label": L("性別", "Sex"),
                "required": True,
                "choices": [
                    {"value": "male", "label": L("男", "Male")},
                    {"value": "female", "label": L("女", "Female")},
                ],
            },
            {
                "id": "birthplace",
                "type": "text",
                "label": L("生まれたところ", "Place of birth"),
                "required": True,
                "max_length": 120,
            },
            NAME,
            ADDRESS,
            PHONE,
            {
                "id": "birth_certificate",
                "type": "file",
                "label": L("出生証明書", "Birth certificate"),
                "required": True,
            },
        ],
    },
    {
        "slug": "sodai-gomi",
        "name_ja": "粗大ごみ収集申込",
        "name_en": "Bulky waste collection",
        "description_ja": "家具や家電などの粗大ごみの戸別収集を申し込みます。手数料は品目ごとに決まっています。",
        "description_en": "Book a collection of bulky waste. The fee depends on the items.",
        "department": "other",
        "life_events": ["moving", "housing", "death"],
        "fee_yen": None,
        "fee_rule": "by_choice",
        "fee_revenue": "fee",
        "processing_days": 5,
        "fields": [
            NAME,
            ADDRESS,
            PHONE,
            {
                "id": "items",
                "type": "multi_choice",
                "label": L("出す品目", "Items"),
                "required": True,
                "choices": [
                    {
                        "value": "sofa",
                        "label": L("ソファ（1人掛け）", "Sofa (one seat)"),
                        "fee": 800,
                    },
                    {
                        "value": "sofa2",
                        "label": L("ソファ（2人掛け以上）", "Sofa (two seats or more)"),
                        "fee": 1600,
                    },
                    {
                        "value": "bed",
                        "label": L("ベッド（マットレス含む）", "Bed with mattress"),
                        "fee": 2000,
                    },
                    {"value": "desk", "label": L("机", "Desk"), "fee": 800},
                    {"value": "bicycle", "label": L("自転車", "Bicycle"), "fee": 400},
                    {"value": "futon", "label": L("布団", "Futon"), "fee": 400},
                    {"value": "wardrobe", "label": L("たんす", "Wardrobe"), "fee": 1600},
                ],
            },
            {
                "id": "preferred_on",
                "type": "date",
                "label": L("希望収集日", "Preferred day"),
                "required": True,
            },
            {
                "id": "notes",
                "type": "long_text",
                "label": L("置き場所など", "Where to find them"),
                "max_length": 300,
            },
        ],
    },
    {
        "slug": "inu-toroku",
        "name_ja": "犬の登録",
        "name_en": "Dog registration",
        "description_ja": "生後91日以上の犬を飼い始めたら30日以内に登録してください（狂犬病予防法4条）。登録手数料 3,000円。",
        "description_en": "Register a dog older than 90 days within 30 days. Fee 3,000 yen.",
        "department": "health",
        "life_events": ["housing"],
        "fee_yen": 3000,
        "fee_rule": "fixed",
        "fee_revenue": "fee",
        "processing_days": 5,
        "fields": [
            NAME,
            ADDRESS,
            PHONE,
            {
                "id": "email",
                "type": "email",
                "label": L("連絡先メールアドレス", "Contact e-mail"),
                "help": L(
                    "鑑札をお渡しする日をお知らせします", "We tell you when the tag is ready"
                ),
            },
            {
                "id": "dog_name",
                "type": "text",
                "label": L("犬の名前", "Dog's name"),
                "required": True,
                "max_length": 30,
            },
            {
                "id": "breed",
                "type": "text",
                "label": L("犬種", "Breed"),
                "required": True,
                "max_length": 40,
            },
            {
                "id": "dog_born_on",
                "type": "date",
                "label": L("犬の生年月日", "Dog's date of birth"),
                "required": True,
            },
            {
                "id": "dog_sex",
                "type": "choice",
                "label": L("犬の性別", "Dog's sex"),
                "required": True,
                "choices": [
                    {"value": "male", "label": L("オス", "Male")},
                    {"value": "female", "label": L("メス", "Female")},
                ],
            },
            {
                "id": "vaccinated",
                "type": "yes_no",
                "label": L("今年度の狂犬病予防注射を受けましたか", "Rabies shot this year?"),
                "required": True,
            },
            {
                "id": "vaccine_certificate",
                "type": "file",
                "label": L("注射済証", "Vaccination certificate"),
                "required": True,
                "show_if": {"field": "vaccinated", "equals": True},
            },
        ],
    },
]


# Reading, everyday words and place on the life-event checklists (転出 before 転入).
SEARCH_AND_ORDER = {
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
CATEGORIES = {
    "tenshutsu": "notification",
    "tennyu": "notification",
    "tenkyo": "notification",
    "shussei": "notification",
    "juminhyo": "certificate",
    "inkan-shomei": "certificate",
    "kazei-shomei": "certificate",
    "jidou-teate": "application",
    "sodai-gomi": "booking",
    "inu-toroku": "registration",
}
COUNTER_PLACE = L(
    "市役所本庁舎1階 総合窓口（開庁日の8時30分〜17時15分）",
    "City hall main building, 1st floor, one-stop counter (business days 8:30–17:15)",
)


def _ensure_procedure(spec: dict) -> tuple[Procedure, bool]:
    fields = spec["fields"]
    attrs = {k: v for k, v in spec.items() if k not in ("fields", "slug")}
    kana, keywords, order = SEARCH_AND_ORDER.get(spec["slug"], ("", "", 100))
    attrs |= {"name_kana": kana, "keywords": keywords, "checklist_order": order}
    attrs.setdefault("category", CATEGORIES.get(spec["slug"], "application"))
    if attrs.get("channels") == "counter":
        attrs |= {
            "counter_place_ja": COUNTER_PLACE["ja"],
            "counter_place_en": COUNTER_PLACE["en"],
        }
    procedure = Procedure.objects.filter(slug=spec["slug"]).first()
    created = procedure is None
    if created:
        procedure = services.save_procedure(procedure=Procedure(slug=spec["slug"], **attrs))
    if not procedure.forms.exists():
        definition = {"fields": fields}
        formschema.check_definition(definition)
        FormDefinition.objects.create(
            procedure=procedure, version=1, definition=definition, published_at=timezone.now()
        )
    return procedure, created


@step(order=50)
def demo_procedures(ctx: SeedContext) -> None:
    with transaction.atomic():
        made = sum(_ensure_procedure(spec)[1] for spec in PROCEDURES)
    ctx.say(f"procedures: {made} procedures added, {Procedure.objects.count()} in the catalogue")
    seals = 0
    from residents.models import Resident

    with transaction.atomic():
        for info in ctx.shared.get("demo_residents", {}).values():
            resident = Resident.objects.filter(pk=info["resident_id"]).first()
            if resident is None or SealRegistration.objects.filter(resident=resident).exists():
                continue
            services.register_seal(
                resident=resident, registered_on=date(2021, 4, 1), number=f"IN-{resident.pk:07d}"
            )
            seals += 1
    ctx.say(f"procedures: {seals} seal registrations added for demo residents")
