"""The events other apps raise (cityhall.events.raise_event) that become notices.

Each has the fields its context provides (the template may use only those, plus the
recipient's name), the topic its notice belongs to, who it goes to, and the wording the city
starts with (the seed makes a template of it; staff edit it as any other template).
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Topic

RESIDENT = "resident"  # the resident (or account) the event names
DISTRICT = "district"  # everybody living in the garbage district named by context["district_code"]


@dataclass(frozen=True)
class EventType:
    key: str
    name: str
    topic: str
    audience: str
    fields: tuple[str, ...]
    subject_ja: str
    subject_en: str
    body_ja: str
    body_en: str


EVENT_TYPES: dict[str, EventType] = {
    e.key: e
    for e in (
        EventType(
            key="gis.garbage_changed",
            name="ごみ収集日の変更（地区）",
            topic=Topic.GARBAGE,
            audience=DISTRICT,
            fields=("district", "kind", "days"),
            subject_ja="((district))の((kind))の収集日が変わります",
            subject_en="Collection days for ((kind)) in ((district)) are changing",
            body_ja="((district))の**((kind))**の収集日は、これから **((days))** です。\n\n"
            "収集日の一覧はごみ収集日のページでご覧いただけます。",
            body_en="From now on, **((kind))** in ((district)) is collected **((days))**.\n\n"
            "The full calendar is on the garbage collection page.",
        ),
        EventType(
            key="payments.installment_due",
            name="納期限が近づいています",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("revenue", "number", "due_date", "amount"),
            subject_ja="((revenue)) 第((number))期の納期限は((due_date))です",
            subject_en="((revenue)), installment ((number)), is due on ((due_date))",
            body_ja="((name)) 様\n\n((revenue)) 第((number))期 **((amount))** の納期限は"
            " **((due_date))** です。口座振替の方は引き落としの日に残高をご確認ください。",
            body_en="Dear ((name)),\n\n((revenue)), installment ((number)), **((amount))**, is due"
            " on **((due_date))**. If you pay by direct debit, please check your balance.",
        ),
        EventType(
            key="payments.demand_issued",
            name="督促状・催告書を発行しました",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("notice_kind", "revenue", "number", "due_date", "amount"),
            subject_ja="((notice_kind)): ((revenue)) 第((number))期",
            subject_en="((notice_kind)): ((revenue)), installment ((number))",
            body_ja="((name)) 様\n\n((revenue)) 第((number))期（納期限 ((due_date))）の"
            " **((amount))** が未納です。お早めにお支払いください。",
            body_en="Dear ((name)),\n\n((revenue)), installment ((number)) (due ((due_date))),"
            " **((amount))**, is unpaid. Please pay soon.",
        ),
        EventType(
            key="procedures.status_changed",
            name="申請の状況が変わりました",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("procedure", "reference", "status", "comment"),
            subject_ja="申請の状況が変わりました: ((status))",
            subject_en="Your application is now: ((status))",
            body_ja="((procedure))（受付番号 ((reference))）は「((status))」になりました。\n\n"
            "((comment))",
            body_en='((procedure)) (reference ((reference))) is now "((status))".\n\n((comment))',
        ),
        EventType(
            key="procedures.certificate_ready",
            name="証明書ができました",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("procedure", "reference", "certificate"),
            subject_ja="((certificate))を発行しました",
            subject_en="Your ((certificate)) is ready",
            body_ja="((procedure))（受付番号 ((reference))）の((certificate))を発行しました。"
            "申請した手続きのページからダウンロードできます。",
            body_en="The ((certificate)) for ((procedure)) (reference ((reference))) is ready to"
            " download from your applications page.",
        ),
        EventType(
            key="counter.ticket_soon",
            name="まもなく窓口でお呼びします",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("number", "service", "ahead"),
            subject_ja="整理券 ((number)) 番: まもなくお呼びします",
            subject_en="Ticket ((number)): you will be called soon",
            body_ja="((service))の整理券 **((number))** 番の前には、あと((ahead))人です。"
            "窓口の近くでお待ちください。",
            body_en="There are ((ahead)) people before ticket **((number))** for ((service))."
            " Please come back to the counter.",
        ),
        EventType(
            key="residents.birth_registered",
            name="出生届のあとの手続き（児童手当・乳幼児健診）",
            topic=Topic.PERSONAL,
            audience=RESIDENT,
            fields=("child_name", "birth_date"),
            subject_ja="ご出生おめでとうございます: 児童手当と乳幼児健診のご案内",
            subject_en="Congratulations on your baby: child allowance and health checkups",
            body_ja="((child_name))さん（((birth_date))生まれ）の出生届を受け付けました。\n\n"
            "- **児童手当**は、出生の翌日から15日以内に申請してください。\n"
            "- **乳幼児健診**のご案内は、生後2か月ごろにお送りします。",
            body_en="We have registered the birth of ((child_name)) (born ((birth_date))).\n\n"
            "- Apply for the **child allowance** within 15 days after the birth.\n"
            "- We will send the invitation to the **infant health checkups** at about 2 months.",
        ),
    )
}
