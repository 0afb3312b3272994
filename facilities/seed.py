"""The demo city's public facilities: 12 facilities with 41 units on the map, 30 registered
groups, a history of use for the statistics, first-come bookings in the coming weeks, and a
lottery round whose 3,000 entries are closed and ready to draw.

Run by ``manage.py seed_demo`` (found by its ``seed`` autodiscovery, after gis and payments);
running it again adds nothing. People, groups and bookings go through the services; the bulk of
synthetic lottery applicants and the past months' use are written in bulk, as an import from the
previous system would be (the database's constraints and triggers still check every row).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from psycopg2.extras import DateTimeTZRange

from cityhall.demo_city import ORIGIN_LAT, ORIGIN_LON
from cityhall.seeding import SeedContext, step

from . import selectors
from . import slots as slotlib
from .models import (
    Booking,
    Choice,
    Entry,
    Equipment,
    Facility,
    LotteryRound,
    OpeningHours,
    Period,
    Photo,
    Registration,
    RoundSlot,
    Unit,
)
from .services import bookings, lottery, places, registrations
from .services.common import next_number

# Fees per period (午前 / 午後 / 夜間) by size: resident, group, non-resident.
SMALL = ((600, 500, 1_200), (800, 650, 1_600), (900, 750, 1_800))
MEDIUM = ((1_200, 1_000, 2_400), (1_600, 1_300, 3_200), (1_800, 1_500, 3_600))
LARGE = ((3_000, 2_500, 6_000), (4_000, 3_300, 8_000), (4_500, 3_700, 9_000))
HALL = ((20_000, 16_000, 40_000), (30_000, 24_000, 60_000), (34_000, 27_000, 68_000))
PERIODS = (("am", "午前", "Morning", time(9), time(12)), ("pm", "午後", "Afternoon", time(13), time(17)),
           ("night", "夜間", "Evening", time(18), time(21)))  # fmt: skip


@dataclass(frozen=True)
class UnitSpec:
    code: str
    ja: str
    en: str
    capacity: int
    fees: tuple | None = None  # fixed periods
    hourly: tuple[int, int, int] | None = None  # hourly fees
    lottery: bool = False
    area_m2: int | None = None


@dataclass(frozen=True)
class FacilitySpec:
    code: str
    ja: str
    en: str
    kind: str
    town: int  # index into cityhall.demo_city.TOWNS
    address: tuple[str, int, int, int]  # town, chome, block (番), lot (号)
    units: tuple[UnitSpec, ...]
    months_ahead: int = 2
    closed_weekday: int | None = None  # weekly closed day (休館日)
    closed_on_holidays: bool = False
    tiers: tuple = ()
    equipment: tuple = ()  # (ja, en, fee, quantity)
    accessibility: str = ""
    accessibility_en: str = ""


RESIDENTS_FIRST = (("resident_group",), ("resident", "group"), ("nonresident",))

FACILITIES = (
    FacilitySpec("honcho-gym", "本町体育館", "Honcho Gymnasium", "gym", 0, ("本町", 1, 16, 1),
        (UnitSpec("honcho-gym-a", "アリーナA面", "Arena A", 120, MEDIUM, lottery=True, area_m2=600),
         UnitSpec("honcho-gym-b", "アリーナB面", "Arena B", 120, MEDIUM, lottery=True, area_m2=600),
         UnitSpec("honcho-gym-budo", "武道場", "Martial arts hall", 60, SMALL, area_m2=300)),
        closed_weekday=0, tiers=RESIDENTS_FIRST,
        equipment=(("バドミントン支柱", "Badminton posts", 200, 6), ("卓球台", "Table tennis table", 100, 8)),
        accessibility="エレベーター・多目的トイレあり。車いす用駐車場2台。",
        accessibility_en="Lift and accessible toilet. Two accessible parking spaces."),
    FacilitySpec("midori-sports", "緑町スポーツセンター", "Midoricho Sports Centre", "gym", 2, ("緑町", 2, 8, 3),
        (UnitSpec("midori-arena", "アリーナ", "Arena", 200, LARGE, lottery=True, area_m2=1200),
         UnitSpec("midori-tt", "卓球室", "Table tennis room", 30, hourly=(300, 250, 600)),
         UnitSpec("midori-studio", "多目的室", "Multipurpose room", 40, SMALL)),
        closed_weekday=1, tiers=RESIDENTS_FIRST,
        equipment=(("卓球台", "Table tennis table", 100, 10), ("音響セット", "Sound system", 500, 1)),
        accessibility="全館段差なし。更衣室に車いす用の区画あり。",
        accessibility_en="Step-free throughout; accessible changing area."),
    FacilitySpec("civic-hall", "まちば市民ホール", "Machiba Civic Hall", "hall", 4, ("中央", 2, 15, 2),
        (UnitSpec("hall-large", "大ホール", "Main hall", 1200, HALL, lottery=True, area_m2=1500),
         UnitSpec("hall-small", "小ホール", "Small hall", 300, LARGE, lottery=True, area_m2=400),
         UnitSpec("hall-rehearsal", "リハーサル室", "Rehearsal room", 60, SMALL)),
        months_ahead=6, closed_weekday=1, tiers=RESIDENTS_FIRST,
        equipment=(("グランドピアノ", "Grand piano", 5_000, 1), ("プロジェクター", "Projector", 1_000, 2)),
        accessibility="車いす席12席、磁気ループあり。",
        accessibility_en="12 wheelchair spaces; hearing loop."),
    FacilitySpec("wakaba-tennis", "若葉台テニスコート", "Wakabadai Tennis Courts", "tennis", 5, ("若葉台", 1, 20, 5),
        tuple(UnitSpec(f"wakaba-court-{n}", f"コート{n}", f"Court {n}", 8, hourly=(500, 400, 1_000),
                       lottery=n <= 4) for n in range(1, 7)),
        tiers=RESIDENTS_FIRST, accessibility="コート1・2は車いすテニスに対応しています。",
        accessibility_en="Courts 1 and 2 suit wheelchair tennis."),
    FacilitySpec("higashi-field", "東町運動場", "Higashicho Sports Field", "field", 7, ("東町", 1, 10, 1),
        (UnitSpec("higashi-baseball", "野球場", "Baseball field", 200, MEDIUM, lottery=True),
         UnitSpec("higashi-soccer", "サッカー場", "Football pitch", 200, MEDIUM, lottery=True)),
        tiers=RESIDENTS_FIRST),
    FacilitySpec("honcho-center", "本町地区センター", "Honcho Community Centre", "meeting", 0, ("本町", 2, 5, 4),
        (UnitSpec("honcho-room-1", "会議室1", "Meeting room 1", 30, SMALL),
         UnitSpec("honcho-room-2", "会議室2", "Meeting room 2", 30, SMALL),
         UnitSpec("honcho-room-3", "会議室3", "Meeting room 3", 18, SMALL),
         UnitSpec("honcho-room-4", "会議室4", "Meeting room 4", 18, SMALL),
         UnitSpec("honcho-washitsu", "和室", "Japanese-style room", 20, SMALL),
         UnitSpec("honcho-kitchen", "調理室", "Cooking room", 24, SMALL)),
        closed_weekday=0, closed_on_holidays=True,
        equipment=(("プロジェクター", "Projector", 300, 2), ("ホワイトボード", "Whiteboard", 0, 4))),
    FacilitySpec("midori-center", "緑町地区センター", "Midoricho Community Centre", "meeting", 2, ("緑町", 1, 20, 2),
        (UnitSpec("midori-room-1", "会議室1", "Meeting room 1", 40, SMALL),
         UnitSpec("midori-room-2", "会議室2", "Meeting room 2", 20, SMALL),
         UnitSpec("midori-room-3", "会議室3", "Meeting room 3", 20, SMALL),
         UnitSpec("midori-music", "音楽室", "Music room", 30, SMALL)),
        closed_weekday=0, closed_on_holidays=True,
        equipment=(("アップライトピアノ", "Upright piano", 500, 1),)),
    FacilitySpec("sakae-house", "栄町コミュニティハウス", "Sakaecho Community House", "meeting", 1, ("栄町", 2, 11, 6),
        (UnitSpec("sakae-room-a", "会議室A", "Meeting room A", 24, SMALL),
         UnitSpec("sakae-room-b", "会議室B", "Meeting room B", 12, SMALL),
         UnitSpec("sakae-washitsu", "和室", "Japanese-style room", 16, SMALL)),
        closed_weekday=2, closed_on_holidays=True),
    FacilitySpec("wakaba-kominkan", "若葉台公民館", "Wakabadai Community Hall", "meeting", 5, ("若葉台", 2, 9, 1),
        (UnitSpec("wakaba-auditorium", "講堂", "Auditorium", 150, MEDIUM, lottery=True),
         UnitSpec("wakaba-room-1", "会議室1", "Meeting room 1", 30, SMALL),
         UnitSpec("wakaba-room-2", "会議室2", "Meeting room 2", 30, SMALL),
         UnitSpec("wakaba-craft", "工作室", "Craft room", 20, SMALL)),
        closed_weekday=0, closed_on_holidays=True, tiers=RESIDENTS_FIRST,
        equipment=(("音響セット", "Sound system", 500, 1),)),
    FacilitySpec("culture-center", "まちば文化会館", "Machiba Culture Centre", "music", 4, ("中央", 3, 3, 7),
        (UnitSpec("culture-studio-1", "音楽スタジオ1", "Music studio 1", 10, hourly=(800, 700, 1_600)),
         UnitSpec("culture-studio-2", "音楽スタジオ2", "Music studio 2", 10, hourly=(800, 700, 1_600)),
         UnitSpec("culture-practice", "練習室", "Practice room", 4, hourly=(400, 350, 800))),
        closed_weekday=1, equipment=(("ドラムセット", "Drum kit", 300, 2),)),
    FacilitySpec("higashi-tennis", "東町テニスコート", "Higashicho Tennis Courts", "tennis", 7, ("東町", 2, 18, 2),
        (UnitSpec("higashi-court-1", "コート1", "Court 1", 8, hourly=(400, 300, 800)),
         UnitSpec("higashi-court-2", "コート2", "Court 2", 8, hourly=(400, 300, 800)))),
    FacilitySpec("sakura-hall", "桜ケ丘集会所", "Sakuragaoka Assembly Hall", "japanese", 6, ("桜ケ丘", 1, 12, 3),
        (UnitSpec("sakura-washitsu", "大広間（和室）", "Large tatami room", 50, SMALL),
         UnitSpec("sakura-kitchen", "調理室", "Cooking room", 20, SMALL)),
        closed_weekday=3, closed_on_holidays=True),
)  # fmt: skip

AREA_EN = {"本町": "Honcho", "栄町": "Sakaecho", "緑町": "Midoricho", "旭町": "Asahicho",
           "中央": "Chuo", "若葉台": "Wakabadai", "桜ケ丘": "Sakuragaoka", "東町": "Higashicho"}  # fmt: skip

GROUP_NAMES = [
    "まちばバドミントンクラブ", "本町ママさんバレー", "緑町卓球愛好会", "若葉台テニス同好会",
    "中央合唱団", "まちば少年野球団", "東町サッカークラブ", "桜ケ丘太極拳の会", "栄町囲碁クラブ",
    "まちば吹奏楽団", "本町フラダンス教室", "若葉台ソフトテニス部", "まちばバスケットボール倶楽部",
    "緑町ヨガサークル", "中央書道会", "まちば剣道連盟", "東町ゲートボール会", "本町将棋クラブ",
    "まちば市民劇団", "若葉台フットサル", "桜ケ丘コーラス", "栄町体操クラブ", "まちばハンドベル",
    "中央ダンススタジオ", "緑町ソフトボール", "まちば英会話サークル", "本町料理研究会",
    "東町空手道場", "若葉台子ども食堂", "まちばシニアテニス",
]  # fmt: skip
GROUP_KANA = "マチバダンタイ"
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"

ROUND_ENTRIES = 3_000


def _location(spec: FacilitySpec) -> Point:
    from gis import selectors as gis_selectors

    town, chome, block, lot = spec.address
    found = gis_selectors.address_point(f"{town}{chome}丁目{block}番{lot}号")
    if found is not None:
        return found.point
    # The map was not drawn: a point in the city's south-west corner, kept apart per facility.
    return Point(ORIGIN_LON + 0.004 * spec.town, ORIGIN_LAT + 0.003 * chome, srid=6668)


def _photo_png(spec: FacilitySpec, rng: random.Random) -> bytes:
    """A picture for the demo: the facility's name on a calm background."""
    from PIL import Image, ImageDraw, ImageFont

    palette = {"gym": (46, 125, 50), "hall": (106, 27, 154), "tennis": (0, 121, 107),
               "field": (85, 139, 47), "meeting": (21, 101, 192), "music": (173, 20, 87),
               "japanese": (141, 110, 99), "cooking": (239, 108, 0)}  # fmt: skip
    color = palette.get(spec.kind, (69, 90, 100))
    image = Image.new("RGB", (640, 400), color)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(0, 640), rng.randrange(0, 400)
        r = rng.randrange(40, 140)
        shade = tuple(min(255, c + 30) for c in color)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=shade)
    try:
        font = ImageFont.truetype("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 44)
    except OSError:
        font = ImageFont.load_default()
    draw.rectangle((0, 300, 640, 400), fill=(255, 255, 255))
    draw.text((24, 322), spec.ja, fill=(26, 26, 26), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def build_facilities(rng: random.Random) -> list[Facility]:
    made = []
    for order, spec in enumerate(FACILITIES, start=1):
        town, chome, block, lot = spec.address
        facility, created = Facility.objects.get_or_create(
            code=spec.code,
            defaults={
                "name_ja": spec.ja,
                "name_en": spec.en,
                "kind": spec.kind,
                "area_ja": town,
                "area_en": AREA_EN[town],
                "address": f"まちば市{town}{chome}丁目{block}番{lot}号",
                "location": _location(spec),
                "phone": f"042-{500 + order:03d}-{1000 + order * 7:04d}",
                "description_ja": f"{spec.ja}は、市民の活動のための施設です。",
                "description_en": f"{spec.en} is a city facility for residents' activities.",
                "accessibility_ja": spec.accessibility,
                "accessibility_en": spec.accessibility_en,
                "months_ahead": spec.months_ahead,
                "tiers": [list(t) for t in spec.tiers],
                "closed_on_holidays": spec.closed_on_holidays,
                "order": order,
            },
        )
        made.append(facility)
        if not created:
            continue
        OpeningHours.objects.bulk_create(
            OpeningHours(facility=facility, weekday=d, opens=time(9), closes=time(21))
            for d in range(7)
            if d != spec.closed_weekday
        )
        for position, u in enumerate(spec.units, start=1):
            unit = Unit.objects.create(
                facility=facility,
                code=u.code,
                name_ja=u.ja,
                name_en=u.en,
                capacity=u.capacity,
                floor_area_m2=u.area_m2,
                slot_mode=Unit.SlotMode.HOURLY if u.hourly else Unit.SlotMode.FIXED,
                fee_resident=(u.hourly or (0, 0, 0))[0],
                fee_group=(u.hourly or (0, 0, 0))[1],
                fee_nonresident=(u.hourly or (0, 0, 0))[2],
                lottery=u.lottery,
                order=position,
            )
            if u.fees:
                Period.objects.bulk_create(
                    Period(unit=unit, code=code, name_ja=ja, name_en=en, starts=s, ends=e,
                           fee_resident=fee[0], fee_group=fee[1], fee_nonresident=fee[2])
                    for (code, ja, en, s, e), fee in zip(PERIODS, u.fees, strict=True)
                )  # fmt: skip
        for ja, en, fee, quantity in spec.equipment:
            Equipment.objects.create(
                facility=facility, name_ja=ja, name_en=en, fee=fee, quantity=quantity
            )
        photo = Photo(facility=facility, caption_ja=f"{spec.ja}の外観", caption_en=spec.en)
        photo.image.save(f"{spec.code}.png", ContentFile(_photo_png(spec, rng)), save=False)
        photo.save()
    return made


def put_on_map(facilities: list[Facility]) -> None:
    for facility in facilities:
        places.show_on_map(facility)


def _people(ctx: SeedContext, count: int, *, prefix: str):
    """Synthetic applicants: accounts that never sign in (no password), each with a
    registration. A quarter live outside the city."""
    from cityhall.models import User

    existing = {u.email: u for u in User.objects.filter(email__startswith=f"{prefix}-")}
    wanted = [f"{prefix}-{i:04d}@demo.machiba.jp" for i in range(count)]
    new = []
    for email in wanted:
        if email not in existing:
            user = User(email=email, display_name=ctx.faker.name())
            user.set_unusable_password()
            new.append(user)
    User.objects.bulk_create(new, batch_size=1000)
    users = list(User.objects.filter(email__in=wanted).order_by("email"))
    have = set(
        Registration.objects.filter(representative__in=users).values_list(
            "representative_id", flat=True
        )
    )
    today = timezone.localdate()
    regs = []
    for index, user in enumerate(users):
        if user.pk in have:
            continue
        name = user.display_name or ctx.faker.name()
        regs.append(
            Registration(
                number=f"P{next_number('facilities_registration_number_seq'):06d}",
                kind=Registration.Kind.INDIVIDUAL,
                state=Registration.State.APPROVED,
                representative=user,
                name=name,
                name_kana="".join(ctx.rng.choice(KANA) for _ in range(6)),
                in_city=index % 4 != 0,
                decided_at=timezone.now(),
                valid_until=today.replace(year=today.year + 3),
            )
        )
    Registration.objects.bulk_create(regs, batch_size=1000)
    return list(Registration.objects.filter(representative__in=users).order_by("number"))


def build_groups(ctx: SeedContext, clerk) -> list[Registration]:
    from cityhall.models import User

    groups = []
    for index, name in enumerate(GROUP_NAMES):
        email = f"group-{index + 1:02d}@demo.machiba.jp"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, display_name=f"{name} 代表")
            user.set_unusable_password()
            user.save()
        found = Registration.objects.filter(representative=user, kind="group").first()
        if found is not None:
            groups.append(found)
            continue
        size = ctx.rng.randint(6, 14)
        outside = size - 1 if index % 10 == 9 else ctx.rng.randint(0, size // 3)
        rows = [
            registrations.MemberRow(
                name=f"{name[:3]}{ctx.faker.last_name()}{i}",
                name_kana=f"{GROUP_KANA}{''.join(ctx.rng.choice(KANA) for _ in range(4))}",
                relation="outside"
                if i < outside
                else ctx.rng.choice(["lives", "lives", "works", "studies"]),
            )
            for i in range(size)
        ]
        applied = registrations.apply_group(
            user=user, name=name, name_kana=f"{GROUP_KANA}{KANA[index]}", members=rows,
            phone=f"090-0000-{index:04d}", activity=name,
        )  # fmt: skip
        groups.append(registrations.decide(registration=applied, approve=True, clerk=clerk))
    return groups


def history(ctx: SeedContext, applicants: list[Registration]) -> int:
    """Six months of past use for the statistics: imported, so written in bulk."""
    if Booking.objects.filter(kind="first_come", during__endswith__lt=timezone.now()).exists():
        return 0
    today = timezone.localdate()
    first = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    units = selectors.units_with_plan(Unit.objects.filter(active=True))
    rows = []
    for unit in units:
        busy = 0.35 + 0.4 * ctx.rng.random()
        for slot in slotlib.slots_between(
            selectors.plan_of(unit), first, today - timedelta(days=1)
        ):
            if ctx.rng.random() > busy:
                continue
            who = ctx.rng.choice(applicants)
            state = "no_show" if ctx.rng.random() < 0.03 else "used"
            fee = slot.fee_for(who.rate)
            rows.append((unit, slot, who, state, fee))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval('facilities_booking_reference_seq') FROM generate_series(1, %s)",
            [len(rows)],
        )
        numbers = iter(row[0] for row in cursor.fetchall())
    Booking.objects.bulk_create(
        (
            Booking(
                reference=f"R{next(numbers):08d}",
                unit=unit,
                during=DateTimeTZRange(slot.start_at, slot.end_at, "[)"),
                kind=Booking.Kind.FIRST_COME,
                state=state,
                registration=who,
                rate=who.rate,
                slot_fee=fee,
                fee=fee,
                paid_at=slot.start_at - timedelta(days=3),
                facility_receipt=f"H{slot.day:%y%m%d}",
                checked_in_at=slot.start_at if state == "used" else None,
            )
            for unit, slot, who, state, fee in rows
        ),
        batch_size=5000,
    )
    return len(rows)


def coming_bookings(ctx: SeedContext, applicants: list[Registration], clerk) -> int:
    """First-come bookings over the next four weeks, through the services."""
    if Booking.objects.filter(during__startswith__gte=timezone.now(), kind="first_come").exists():
        return 0
    today = timezone.localdate()
    units = selectors.units_with_plan(Unit.objects.filter(active=True, lottery=False))
    made = 0
    with transaction.atomic():  # one commit: each service call is a savepoint inside it
        made = _book_coming(ctx, applicants, clerk, units, today)
    return made


def _book_coming(ctx, applicants, clerk, units, today) -> int:
    made = 0
    for unit in units:
        plan = selectors.plan_of(unit)
        for slot in slotlib.slots_between(
            plan, today + timedelta(days=1), today + timedelta(days=28)
        ):
            if ctx.rng.random() > 0.18:
                continue
            who = ctx.rng.choice(applicants)
            try:
                booking = bookings.hold_first_come(
                    registration=who, user=who.representative, unit=unit, starts_at=slot.start_at,
                    purpose=ctx.rng.choice(["練習", "会議", "教室", "発表会の準備", "定例会"]),
                    attendees=max(1, min(unit.capacity, ctx.rng.randint(3, 30))),
                )  # fmt: skip
                bookings.pay_later(booking=booking, user=who.representative)
            except Exception:  # noqa: BLE001, S112 - a demo booking the rules refuse is skipped
                continue
            if ctx.rng.random() < 0.6:
                bookings.record_facility_payment(
                    booking=booking, clerk=clerk, receipt=f"D{booking.reference[-6:]}"
                )
            made += 1
    return made


def lottery_round(
    ctx: SeedContext,
    applicants: list[Registration],
    groups: list[Registration],
    demo: Registration | None = None,
):
    """This month's round: entries taken (3,000), closed, ready for the draw."""
    month = timezone.localdate().replace(day=1)
    existing = LotteryRound.objects.filter(month=month).first()
    if existing is not None:
        return existing
    now = timezone.now()
    midnight = datetime.combine(timezone.localdate(), time(0), tzinfo=slotlib.TOKYO)
    round_ = LotteryRound.objects.create(
        code=f"{month:%Y-%m}",
        month=month,
        # A demo round whose entry period has just ended, whatever day the demo is built on.
        opens_at=midnight - timedelta(days=14),
        closes_at=min(midnight, now - timedelta(minutes=1)),
        results_at=midnight + timedelta(days=1, hours=9),
        confirm_by=midnight + timedelta(days=12),
        max_entries_per_applicant=5,
        max_wins_per_applicant=2,
        max_choices_per_entry=3,
    )
    lottery.open_round(round_=round_)
    slots = list(RoundSlot.objects.filter(round=round_).select_related("unit"))
    by_facility: dict[int, list[RoundSlot]] = {}
    for slot in slots:
        by_facility.setdefault(slot.unit.facility_id, []).append(slot)
    # Weekends and evenings are what everybody wants.
    weights = {
        slot.pk: (4 if slot.starts_at.astimezone(slotlib.TOKYO).weekday() >= 5 else 1)
        * (2 if slot.starts_at.astimezone(slotlib.TOKYO).hour >= 18 else 1)
        for slot in slots
    }
    people = [*groups, *applicants]
    entries, choices = [], []
    taken: set[tuple[int, int]] = set()
    counts: dict[int, int] = {}
    facility_ids = sorted(by_facility)
    if demo is not None:
        # The demo resident entered twice: a Saturday evening first, a weekday second.
        for facility_id in facility_ids[:2]:
            pool = sorted(by_facility[facility_id], key=lambda s: (-weights[s.pk], s.starts_at))
            entries.append((demo, facility_id, pool[:2]))
            taken.update((demo.pk, s.pk) for s in pool[:2])
        counts[demo.pk] = 2
    while len(entries) < ROUND_ENTRIES:
        who = ctx.rng.choice(people)
        if who.kind == "temporary" or counts.get(who.pk, 0) >= round_.max_entries_per_applicant:
            continue
        facility_id = ctx.rng.choice(facility_ids)
        pool = by_facility[facility_id]
        wanted = ctx.rng.choices(pool, weights=[weights[s.pk] for s in pool], k=3)
        picked = []
        for slot in wanted:
            if (who.pk, slot.pk) not in taken and slot not in picked:
                picked.append(slot)
        picked = picked[: ctx.rng.choice([1, 2, 3, 3])]
        if not picked:
            continue
        counts[who.pk] = counts.get(who.pk, 0) + 1
        taken.update((who.pk, s.pk) for s in picked)
        entries.append((who, facility_id, picked))
    numbers = [next_number("facilities_entry_number_seq") for _ in entries]
    rows = Entry.objects.bulk_create(
        (
            Entry(round=round_, registration=who, facility_id=facility_id,
                  entered_by_id=who.representative_id, number=f"E{number:07d}")
            for number, (who, facility_id, _picked) in zip(numbers, entries, strict=True)
        ),
        batch_size=1000,
    )  # fmt: skip
    for entry, (who, _facility_id, picked) in zip(rows, entries, strict=True):
        choices.extend(
            Choice(entry=entry, rank=rank, slot=slot, round=round_, registration=who)
            for rank, slot in enumerate(picked, start=1)
        )
    Choice.objects.bulk_create(choices, batch_size=5000)
    return lottery.close_round(round_=round_)


@step(order=70)
def demo_facilities(ctx: SeedContext) -> None:
    from cityhall.models import User

    rng = random.Random(ctx.seed + 14)
    clerk = User.objects.filter(email="clerk@demo.machiba.jp").first()
    with transaction.atomic():
        facilities = build_facilities(rng)
    put_on_map(facilities)
    resident = User.objects.filter(email="resident@demo.machiba.jp").first()
    if resident is not None and not Registration.objects.filter(representative=resident).exists():
        try:
            registrations.register_individual(user=resident)
        except Exception:  # noqa: BLE001 - the demo resident may have no record linked
            pass
    demo = Registration.objects.filter(representative=resident, kind="individual").first()
    with transaction.atomic():
        applicants = _people(ctx, 700, prefix="applicant")
        groups = build_groups(ctx, clerk) if clerk is not None else []
    past = history(ctx, applicants)
    coming = coming_bookings(ctx, applicants, clerk) if clerk is not None else 0
    round_ = lottery_round(ctx, applicants, groups, demo)
    lottery.ensure_round(
        month=(timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    )
    ctx.say(
        f"facilities: {Facility.objects.count()} facilities, {Unit.objects.count()} units, "
        f"{Registration.objects.filter(kind='group').count()} groups, {past} past and "
        f"{coming} coming bookings, round {round_.code} with {round_.entries.count()} entries "
        f"({round_.get_state_display()})"
    )
