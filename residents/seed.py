"""Demo residents: households at addresses of the demo city, with history and My Numbers.

Built in memory and written with COPY, so `seed_demo --residents 100000` takes seconds rather
than the minutes one save() per row would. Deterministic (ctx.rng) and idempotent: when residents
exist, only the demo accounts' links are checked.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.ja_JP import Provider as JapaneseNames

from cityhall.demo_city import BLOCKS_PER_CHOME, LOTS_PER_BLOCK, TOWNS
from cityhall.japanese import normalize_name, search_key
from cityhall.seeding import SeedContext, step

from . import mynumber, vault
from .models import Address, Resident

DEMO_LINKS = ("resident@demo.machiba.jp", "resident2@demo.machiba.jp")
TODAY = date(2026, 4, 1)  # the demo city's records run up to here, whatever day it is seeded
APARTMENT_NAMES = ("ハイツ", "メゾン", "コーポ", "レジデンス")


HEADLESS_HOUSEHOLDS = """
    SELECT count(*) FROM (
        SELECT household_id FROM residents_resident
         WHERE status = 'current' AND household_id IS NOT NULL
         GROUP BY household_id HAVING NOT bool_or(is_head)
    ) AS headless
"""


@lru_cache(maxsize=4096)
def _search_name(family: str, given: str) -> str:
    return normalize_name(f"{family} {given}")


@lru_cache(maxsize=4096)
def _search_kana(family: str, given: str) -> str:
    return search_key(f"{family} {given}")


@dataclass(slots=True)
class Person:
    id: int
    family: tuple[str, str]
    given: tuple[str, str]
    sex: str
    birth: date
    relationship: str
    is_head: bool
    since: date
    kind: str


@dataclass
class HouseholdPlan:
    id: int
    number: str
    address_id: int
    address_label: str
    formed_on: date
    members: list[Person] = field(default_factory=list)


def _copy(table: str, columns: list[str], rows: list[list]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_cell(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)", buffer
        )


def _copy_lines(table: str, columns: list[str], lines: list[str]) -> None:
    """COPY rows already formatted as lines of COPY's text format."""
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)",
            io.StringIO("".join(lines)),
        )


def _cell(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _reserve_ids(table: str, count: int) -> int:
    """Reserve `count` ids from the table's sequence; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", [sequence])
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def _reserve_household_numbers(count: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('residents_household_number_seq')")
        (first,) = cursor.fetchone()
        if count > 1:
            cursor.execute(
                "SELECT setval('residents_household_number_seq', %s)", [first + count - 1]
            )
    return first


def _household_size(rng, index: int) -> int:
    if index == 0:
        return 4  # the demo resident's family: head, spouse and two children
    if index == 1:
        return 2
    return rng.choices((1, 2, 3, 4, 5), weights=(35, 28, 18, 14, 5))[0]


def _random_date(rng, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randrange((end - start).days))


FAMILY_NAMES = tuple(tuple(pair[:2]) for pair in JapaneseNames.last_name_pairs)
MALE_NAMES = tuple(tuple(pair[:2]) for pair in JapaneseNames.first_name_male_pairs)
FEMALE_NAMES = tuple(tuple(pair[:2]) for pair in JapaneseNames.first_name_female_pairs)


def _plan_people(rng, size: int, first_id: int, index: int) -> list[Person]:
    family = rng.choice(FAMILY_NAMES)
    male = MALE_NAMES
    female = FEMALE_NAMES
    head_sex = rng.choice(("male", "female"))
    head_birth = _random_date(rng, date(1945, 1, 1), date(1998, 12, 31))
    formed = _random_date(rng, max(head_birth + timedelta(days=365 * 20), date(1990, 1, 1)), TODAY)
    if index == 0:
        head_sex, head_birth, formed = "male", date(1984, 6, 12), date(2012, 4, 1)
    people = [
        Person(
            first_id,
            family,
            rng.choice(male if head_sex == "male" else female),
            head_sex,
            head_birth,
            "世帯主",
            True,
            formed,
            "move_in",
        )
    ]
    next_id = first_id + 1
    if size >= 2:
        sex = "female" if head_sex == "male" else "male"
        people.append(
            Person(
                next_id,
                family,
                rng.choice(female if sex == "female" else male),
                sex,
                head_birth + timedelta(days=rng.randrange(-1500, 1500)),
                "妻" if sex == "female" else "夫",
                False,
                formed,
                "move_in",
            )
        )
        next_id += 1
    children = size - 2 if size < 5 else 2
    for number in range(max(children, 0)):
        sex = rng.choice(("male", "female"))
        earliest = max(head_birth + timedelta(days=365 * 22), date(1990, 1, 1))
        birth = _random_date(rng, earliest, TODAY - timedelta(days=30))
        if index == 0:
            birth = (date(2016, 9, 3), date(2021, 2, 14))[number]
        born_here = birth >= formed
        people.append(
            Person(
                next_id,
                family,
                rng.choice(female if sex == "female" else male),
                sex,
                birth,
                "子",
                False,
                birth if born_here else formed,
                "birth" if born_here else "move_in",
            )
        )
        next_id += 1
    if size == 5:
        sex = rng.choice(("male", "female"))
        people.append(
            Person(
                next_id,
                family,
                rng.choice(female if sex == "female" else male),
                sex,
                head_birth - timedelta(days=365 * 28 + rng.randrange(3000)),
                "母" if sex == "female" else "父",
                False,
                formed,
                "move_in",
            )
        )
    return people


def _pick_address(rng, index: int) -> tuple[str, dict]:
    town = TOWNS[0] if index == 0 else rng.choice(TOWNS)
    chome = 3 if index == 0 else rng.randint(1, town.chome)
    block = 12 if index == 0 else rng.randint(1, BLOCKS_PER_CHOME)
    lot = 4 if index == 0 else rng.randint(1, LOTS_PER_BLOCK)
    building = ""
    if index > 0 and (block * 31 + lot) % 6 == 0:
        name = APARTMENT_NAMES[(block + lot) % len(APARTMENT_NAMES)]
        building = f"{town.name}{name} {rng.randint(1, 4)}0{rng.randint(1, 8)}"
    parts = {
        "town": town.name,
        "chome": chome,
        "banchi": str(block),
        "go": str(lot),
        "building": building,
        "postal_code": town.postal_code,
    }
    return _address_label(town.name, chome, str(block), str(lot), building), parts


@cache
def _address_label(town: str, chome: int, banchi: str, go: str, building: str) -> str:
    return Address(town=town, chome=chome, banchi=banchi, go=go, building=building).label


# Households written per COPY: a million residents are never held as rows all at once.
CHUNK_HOUSEHOLDS = 20_000
# The tables a seed fills; when they are empty it loads them as PostgreSQL advises for bulk
# loads (documentation, "Populating a Database"): indexes and foreign keys dropped first and
# built once at the end, one sort per index and one join per key instead of one index insert
# and one trigger check per row.
BULK_TABLES = (
    "residents_household",
    "residents_resident",
    "residents_residenceperiod",
    "residents_movement",
)

_SECONDARY_INDEXES = """
    SELECT pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text
      FROM pg_index i
     WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                                       AND c.conrelid = i.indrelid)
"""
# Unique and exclusion constraints first (their indexes), then foreign keys.
_DROPPABLE_CONSTRAINTS = """
    SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
      FROM pg_constraint c
     WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'x', 'f')
     ORDER BY c.contype = 'f', c.conrelid::regclass::text, c.conname
"""


def _tables_empty(tables: tuple[str, ...]) -> bool:
    empty = " AND ".join(f"NOT EXISTS (SELECT FROM {table})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {empty}")
        return cursor.fetchone()[0]


def _drop_secondary(tables: tuple[str, ...]) -> tuple[list, list]:
    """Drop the tables' secondary indexes and unique, exclusion and foreign-key constraints
    (primary keys and checks stay); returns what `_restore_secondary` needs to build them
    again. Inside the caller's transaction: a failure rolls the drop back too."""
    with connection.cursor() as cursor:
        cursor.execute(_SECONDARY_INDEXES, [list(tables)])
        indexes = cursor.fetchall()
        cursor.execute(_DROPPABLE_CONSTRAINTS, [list(tables)])
        constraints = cursor.fetchall()
        for table, name, _definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _definition, name in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return indexes, constraints


def _restore_secondary(dropped: tuple[list, list]) -> None:
    indexes, constraints = dropped
    with connection.cursor() as cursor:
        # Index builds sort in memory up to this (the server's default is 64 MB).
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for definition, _name in indexes:
            cursor.execute(definition)
        for table, name, definition in constraints:
            # Re-adding validates every row at once: a unique or exclusion constraint by
            # building its index, a foreign key by one join.
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


@cache
def _text(value: str) -> str:
    return _cell(value)


def create_demo_residents(ctx: SeedContext, count: int) -> int:
    """Create about `count` residents in households (COPY). Returns the number created.

    One transaction (a savepoint inside the caller's): the bulk load drops and rebuilds indexes
    and constraints, which must never be left half done."""
    with transaction.atomic():
        return _create_demo_residents(ctx, count)


def _create_demo_residents(ctx: SeedContext, count: int) -> int:
    rng = ctx.rng
    keys = list(settings.MYNUMBER_KEYS)
    now = timezone.now().isoformat()
    existing_addresses = dict(Address.objects.values_list("normalized", "id"))
    new_addresses: dict[str, tuple[int, dict]] = {}
    households: list[HouseholdPlan | None] = []
    people_total = 0
    index = 0
    # Sizes are drawn first so ids can be reserved in blocks.
    sizes = []
    while people_total < count:
        size = min(_household_size(rng, index), count - people_total)
        sizes.append(size)
        people_total += size
        index += 1
    first_household = _reserve_ids("residents_household", len(sizes))
    first_number = _reserve_household_numbers(len(sizes))
    first_resident = _reserve_ids("residents_resident", people_total)
    first_period = _reserve_ids("residents_residenceperiod", people_total)
    first_movement = _reserve_ids("residents_movement", people_total)
    address_pending: list[str] = []
    next_resident = first_resident
    for index, size in enumerate(sizes):
        label, parts = _pick_address(rng, index)
        if label not in existing_addresses and label not in new_addresses:
            new_addresses[label] = (0, parts)
            address_pending.append(label)
        people = _plan_people(rng, size, next_resident, index)
        next_resident += len(people)
        households.append(
            HouseholdPlan(
                id=first_household + index,
                number=f"{first_number + index:010d}",
                address_id=0,
                address_label=label,
                formed_on=people[0].since,
                members=people,
            )
        )
    if address_pending:
        first_address = _reserve_ids("residents_address", len(address_pending))
        rows = []
        for offset, label in enumerate(address_pending):
            parts = new_addresses[label][1]
            existing_addresses[label] = first_address + offset
            rows.append(
                [
                    first_address + offset,
                    parts["postal_code"],
                    parts["town"],
                    parts["chome"],
                    parts["banchi"],
                    parts["go"],
                    parts["building"],
                    label,
                    "",
                ]
            )
        _copy(
            "residents_address",
            [
                "id",
                "postal_code",
                "town",
                "chome",
                "banchi",
                "go",
                "building",
                "normalized",
                "parcel_key",
            ],
            rows,
        )
    codes = rng.sample(range(10**10, 10**11), next_resident - first_resident)
    bulk = _tables_empty(BULK_TABLES)
    # The per-row "household has a head" trigger would run once per resident at commit; for a
    # bulk load one set-based check below says the same (ALTER ... DISABLE TRIGGER is
    # transactional).
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE residents_resident DISABLE TRIGGER household_has_head_while_it_has_members"
        )
    dropped = _drop_secondary(BULK_TABLES) if bulk else None
    used_numbers: set[str] = set()
    created = 0
    digest_secret = keys[0]
    for chunk_start in range(0, len(households), CHUNK_HOUSEHOLDS):
        household_rows, resident_rows, period_rows, movement_rows = [], [], [], []
        for position in range(chunk_start, min(chunk_start + CHUNK_HOUSEHOLDS, len(households))):
            plan = households[position]
            households[position] = None  # written below; a million plans are not kept
            plan.address_id = existing_addresses[plan.address_label]
            formed = plan.formed_on.isoformat()
            household_rows.append(
                f"{plan.id}\t{plan.number}\t{plan.address_id}\t{formed}\t{formed}\t\\N\n"
            )
            # The movement's "new" value, as json.dumps writes it, built once per household.
            json_head = (
                '{"household": '
                + json.dumps(plan.number)
                + ', "address": '
                + json.dumps(plan.address_label, ensure_ascii=False)
            )
            for person in plan.members:
                while True:
                    base = f"{rng.randrange(10**11):011d}"
                    number = base + str(mynumber.check_digit(base))
                    if number not in used_numbers:
                        used_numbers.add(number)
                        break
                code = f"{codes[person.id - first_resident]:011d}"
                since = person.since.isoformat()
                head = "t" if person.is_head else "f"
                relationship = _text(person.relationship)
                ciphertext = vault.encrypt(number, keys=keys, associated=code).hex()
                resident_rows.append(
                    f"{person.id}\t{code}\t{_text(person.family[0])}\t{_text(person.given[0])}\t"
                    f"{_text(person.family[1])}\t{_text(person.given[1])}\t"
                    f"{person.birth.isoformat()}\t{person.sex}\t{plan.id}\t{relationship}\t"
                    f"{head}\t{since}\tcurrent\t\\\\x{ciphertext}\t"
                    f"{vault.digest(number, secret=digest_secret)}\t"
                    f"{_text(_search_name(person.family[0], person.given[0]))}\t"
                    f"{_text(_search_kana(person.family[1], person.given[1]))}\t\t\n"
                )
                offset = person.id - first_resident
                period_rows.append(
                    f"{first_period + offset}\t{person.id}\t{plan.id}\t{plan.address_id}\t"
                    f"{relationship}\t{head}\t[{since},)\n"
                )
                new = (
                    json_head
                    + ', "relationship": '
                    + json.dumps(person.relationship, ensure_ascii=False)
                    + (', "is_head": true' if person.is_head else ', "is_head": false')
                    + ', "status": "current"}'
                )
                notified = person.since + timedelta(days=rng.randint(0, 14))
                movement_rows.append(
                    f"{first_movement + offset}\t{person.id}\t{plan.id}\t{person.kind}\t"
                    f"{min(notified, TODAY).isoformat()}\t{since}\t{{}}\t{_cell(new)}\t\t{now}\n"
                )
        _copy_lines(
            "residents_household",
            ["id", "number", "address_id", "address_since", "formed_on", "dissolved_on"],
            household_rows,
        )
        _copy_lines("residents_resident", RESIDENT_COLUMNS, resident_rows)
        _copy_lines(
            "residents_residenceperiod",
            ["id", "resident_id", "household_id", "address_id", "relationship", "is_head", "valid"],
            period_rows,
        )
        _copy_lines("residents_movement", MOVEMENT_COLUMNS, movement_rows)
        created += len(resident_rows)
    with connection.cursor() as cursor:
        # Run the pending foreign-key checks now: a table with pending events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    if dropped is not None:
        _restore_secondary(dropped)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE residents_resident ENABLE TRIGGER household_has_head_while_it_has_members"
        )
        cursor.execute(HEADLESS_HOUSEHOLDS)
        headless = cursor.fetchone()[0]
    if headless:
        raise RuntimeError(f"seed produced {headless} households without a head")
    return created


RESIDENT_COLUMNS = [
    "id",
    "resident_code",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "household_id",
    "relationship",
    "is_head",
    "became_resident_on",
    "status",
    "mynumber_ciphertext",
    "mynumber_digest",
    "search_name",
    "search_kana",
    "registered_domicile",
    "domicile_head",
]
MOVEMENT_COLUMNS = [
    "id",
    "resident_id",
    "household_id",
    "kind",
    "notified_on",
    "effective_on",
    "previous",
    "new",
    "reason",
    "created_at",
]


def link_demo_accounts(ctx: SeedContext) -> dict[str, dict]:
    """Link the demo resident accounts: the first to the head of a family with a child, the
    second to someone of another household."""
    from cityhall.models import User

    linked: dict[str, dict] = {}
    taken_households: set[int] = set()
    for position, email in enumerate(DEMO_LINKS):
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        resident = Resident.objects.filter(user=user).first()
        if resident is None:
            candidates = Resident.objects.filter(
                status=Resident.Status.CURRENT, is_head=True, user__isnull=True
            ).exclude(household_id__in=taken_households)
            if position == 0:
                candidates = candidates.filter(
                    household__members__relationship="子",
                    household__members__birth_date__gt=TODAY - timedelta(days=365 * 15),
                )
            resident = candidates.order_by("id").first()
            if resident is None:
                continue
            resident.user = user
            resident.save(update_fields=["user"])
        taken_households.add(resident.household_id)
        linked[email] = {"resident_id": resident.pk, "name": resident.full_name}
    return linked


@step(order=20)
def demo_residents(ctx: SeedContext) -> None:
    if Resident.objects.exists():
        ctx.say(f"residents: {Resident.objects.count()} already exist, none added")
    else:
        started = timezone.now()
        with transaction.atomic():
            created = create_demo_residents(ctx, ctx.residents)
        seconds = (timezone.now() - started).total_seconds()
        ctx.say(
            f"residents: created {created} residents in {seconds:.1f}s "
            f"({created / max(seconds, 0.001):.0f} rows/s)"
        )
    with transaction.atomic():
        ctx.shared["demo_residents"] = link_demo_accounts(ctx)
    for email, info in ctx.shared["demo_residents"].items():
        ctx.say(f"residents: {email} is linked to {info['name']}")
