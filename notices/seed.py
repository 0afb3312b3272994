"""Demo city step: the notice templates (one per event the apps raise, and a few the city
sends itself), the demo resident's choices and one completed send to families with a child."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cityhall.seeding import SeedContext, step

from .events import builtin_template
from .eventtypes import EVENT_TYPES
from .models import Channel, Send, Template, TemplateVersion, Topic

STAFF_TEMPLATES = [
    {
        "key": "bosai-kunren",
        "name": "防災訓練のご案内",
        "topic": Topic.DISASTER,
        "subject_ja": "市の総合防災訓練のご案内",
        "subject_en": "City-wide disaster drill",
        "body_ja": "((name)) 様\n\n今年の総合防災訓練を行います。お近くの避難所の場所をご確認ください。",
        "body_en": "Dear ((name)),\n\nThe city holds its disaster drill this year. Please check"
        " where your nearest evacuation shelter is.",
    },
    {
        "key": "bosai-hinan",
        "name": "避難指示（緊急）",
        "topic": Topic.DISASTER,
        "subject_ja": "【緊急】避難指示が出ました",
        "subject_en": "[Emergency] Evacuation order",
        "body_ja": "**避難指示**が出ました。ただちに近くの避難所へ避難してください。",
        "body_en": "An **evacuation order** has been issued. Go to the nearest shelter now.",
        "line_ja": "【緊急】避難指示が出ました。ただちに近くの避難所へ避難してください。",
        "line_en": "[Emergency] Evacuation order. Go to the nearest shelter now.",
    },
    {
        "key": "kosodate-kenshin",
        "name": "乳幼児健診のご案内",
        "topic": Topic.CHILDCARE,
        "subject_ja": "乳幼児健診のご案内",
        "subject_en": "Health checkups for young children",
        "body_ja": "((name)) 様\n\n6歳未満のお子さんがいるご家庭に、乳幼児健診の日程をお知らせします。\n\n"
        "- 4か月児健診\n- 1歳6か月児健診\n- 3歳児健診",
        "body_en": "Dear ((name)),\n\nHere are the health checkup dates for children under 6.\n\n"
        "- 4 months\n- 18 months\n- 3 years",
    },
    {
        "key": "gomi-sodai",
        "name": "粗大ごみ収集日のお知らせ（地区）",
        "topic": Topic.GARBAGE,
        "subject_ja": "((district))の粗大ごみ収集日",
        "subject_en": "Bulky waste collection in ((district))",
        "body_ja": "((district))の粗大ごみは、申し込みのうえ第2土曜日に収集します。",
        "body_en": "Bulky waste in ((district)) is collected on the 2nd Saturday, by appointment.",
    },
    {
        "key": "zei-furikae",
        "name": "口座振替のおすすめ（納期限が近い方）",
        "topic": Topic.TAX,
        "uses_sensitive_data": True,
        "subject_ja": "納期限は((due_date))です: 口座振替が便利です",
        "subject_en": "Due on ((due_date)): direct debit makes it easy",
        "body_ja": "((name)) 様\n\n**((amount))** の納期限は((due_date))です。口座振替にすると、納め忘れがありません。",
        "body_en": "Dear ((name)),\n\n**((amount))** is due on ((due_date)). With direct debit you"
        " never miss a due date.",
    },
]


def _ensure(key: str, **fields) -> Template:
    texts = {
        name: fields.pop(name, "")
        for name in ("subject_ja", "subject_en", "body_ja", "body_en", "line_ja", "line_en")
    }
    template, created = Template.objects.get_or_create(key=key, defaults=fields)
    if created:
        TemplateVersion.objects.create(template=template, number=1, **texts)
    return template


@step(order=70)
def demo_notices(ctx: SeedContext) -> None:
    from cityhall.models import User

    from . import delivery, services

    with transaction.atomic():
        for event in EVENT_TYPES.values():
            builtin_template(event)
        for spec in STAFF_TEMPLATES:
            spec = dict(spec)
            _ensure(spec.pop("key"), **spec)
    resident_user = User.objects.filter(email="resident@demo.machiba.jp").first()
    if resident_user is not None:
        preference = services.preference_for(resident_user)
        if preference.pk is None:
            services.save_preferences(
                user=resident_user,
                topics=[Topic.DISASTER, Topic.GARBAGE, Topic.CHILDCARE, Topic.HEALTH],
                channels=[Channel.EMAIL],
                language="ja",
                quiet_start=timezone.datetime(2000, 1, 1, 22).time(),
                quiet_end=timezone.datetime(2000, 1, 1, 7).time(),
            )
    clerk = User.objects.filter(email="clerk@demo.machiba.jp").first()
    supervisor = User.objects.filter(email="supervisor@demo.machiba.jp").first()
    if clerk is None or supervisor is None or Send.objects.filter(source="staff").exists():
        ctx.say(f"notices: {Template.objects.count()} templates")
        return
    send = services.compose_send(template=Template.objects.get(key="kosodate-kenshin"), actor=clerk)
    services.set_segment(send=send, data={"child_under": 6}, actor=clerk)
    send = services.submit(send=send, actor=clerk)
    if send.state == Send.State.AWAITING_APPROVAL:
        send = services.approve(send=send, approver=supervisor)
    services.start(send_id=send.pk)
    delivery.dispatch(send_id=send.pk, budget_seconds=30)
    services.finish_if_done(send_id=send.pk)
    send.refresh_from_db()
    ctx.say(
        f"notices: {Template.objects.count()} templates; a send to families with a child under 6"
        f" ({send.recipient_count} accounts) is {send.state}"
    )
