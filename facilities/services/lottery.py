"""The monthly lottery (抽選): rounds, entries, closing with a committed seed, the draw as a
Celery task with progress, publication, and winners' confirmation (当選確認).

The draw itself is ``facilities.draw`` (pure, also the residents' verification script). What
this module adds is the bookkeeping around it:

1. When entries close, the seed is drawn from the operating system's random source
   (``secrets``), the entries file (no personal data) is written in its canonical form, and
   the SHA-256 of both is stored — and shown on the round's page — in the same transaction.
   A trigger keeps both from ever changing afterwards.
2. The draw reads the committed file back, leaves out slots that official use or a closure
   took meanwhile (named in the results), runs ``draw.draw`` and writes winners, losers and
   the winners' bookings in one transaction; a worker that dies part-way leaves nothing, and
   running it again gives the same winners.
3. Publication reveals the seed with the results; anyone can re-run the draw from the two
   files and compare.

Kept in one file: every step below changes the same round under the same lock, and the order of the
steps (close, draw, publish, confirm) is the rule this module keeps; apart, each file would need
the others' private checks.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from psycopg2.extras import execute_values

from cityhall import audit
from cityhall.notifications import notify

from .. import draw as drawlib
from .. import selectors
from .. import slots as slotlib
from ..models import (
    ACTIVE_STATES,
    Booking,
    Choice,
    Entry,
    LotteryRound,
    Registration,
    RoundSlot,
    Unit,
)
from ..rules import Rules, add_months, month_end
from . import billing
from .common import constraint_of, move, next_number, now, require_perm, rules, today


def _at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=slotlib.TOKYO)


def round_schedule(month: date, city_rules: Rules) -> dict:
    """Entries from ``entry_open_day`` 0:00 to the end of ``entry_close_day``; results on
    ``results_day`` at 9:00; confirmation and payment until the end of the ``confirm_days``-th
    day after the results."""
    month = month.replace(day=1)
    results_day = month.replace(day=city_rules.results_day)
    return {
        "opens_at": _at(month.replace(day=city_rules.entry_open_day)),
        "closes_at": _at(month.replace(day=city_rules.entry_close_day) + timedelta(days=1)),
        "results_at": _at(results_day, 9),
        "confirm_by": _at(results_day + timedelta(days=city_rules.confirm_days + 1)),
        "max_entries_per_applicant": city_rules.max_entries_per_applicant,
        "max_wins_per_applicant": city_rules.max_wins_per_applicant,
        "max_choices_per_entry": city_rules.max_choices_per_entry,
    }


def ensure_round(*, month: date) -> LotteryRound:
    """The round whose entries are taken in ``month`` (created once, from the rules)."""
    month = month.replace(day=1)
    round_, _created = LotteryRound.objects.get_or_create(
        month=month, defaults={"code": f"{month:%Y-%m}", **round_schedule(month, rules())}
    )
    return round_


def target_month(round_: LotteryRound, facility) -> date:
    """The month whose slots this round draws for a facility."""
    return add_months(round_.month, facility.months_ahead)


def _lock(round_: LotteryRound) -> LotteryRound:
    return LotteryRound.objects.select_for_update().get(pk=round_.pk)


def _transition(round_: LotteryRound, to_state: str) -> None:
    if to_state not in LotteryRound.TRANSITIONS[round_.state]:
        raise ValidationError(
            _("この回は「%(state)s」のため、この操作はできません。")
            % {"state": round_.get_state_display()}
        )
    round_.state = to_state
    # A round's state decides whether its month is open for first-come booking.
    selectors.availability_changed()


def open_round(*, round_: LotteryRound) -> LotteryRound:
    """Entries open: the round's slots are every lottery unit's slots in its target month,
    less closures and official use already booked."""
    with transaction.atomic():
        round_ = _lock(round_)
        if round_.state != LotteryRound.State.SCHEDULED:
            return round_
        _transition(round_, LotteryRound.State.OPEN)
        units = selectors.units_with_plan(
            Unit.objects.filter(lottery=True, active=True, facility__active=True)
        )
        rows = []
        for unit in units:
            first = target_month(round_, unit.facility)
            last = month_end(first)
            window_start, window_end = _at(first), _at(last + timedelta(days=1))
            taken = selectors._active_ranges([unit.pk], window_start, window_end).get(unit.pk, [])
            closed = selectors._closure_ranges([unit], window_start, window_end).get(unit.pk, [])
            for slot in slotlib.slots_between(selectors.plan_of(unit), first, last):
                s, e = slot.start_at, slot.end_at
                if selectors._overlapping(taken, s, e) or selectors._overlapping(
                    closed, s, e, disjoint=False
                ):
                    continue
                rows.append(
                    RoundSlot(
                        round=round_, unit=unit, code=slot.code(unit.code), starts_at=s, ends_at=e
                    )
                )
        RoundSlot.objects.bulk_create(rows, batch_size=2000)
        round_.save(update_fields=["state"])
    return round_


# --- entries -----------------------------------------------------------------------------------


def _entry_error(message: str, field: str = "slots") -> ValidationError:
    return ValidationError({field: message})


def enter(*, round_: LotteryRound, registration: Registration, user, slot_ids: list[int]) -> Entry:
    """An application with ranked choices (第1希望 first) of one facility's slots."""
    if registration.representative_id != getattr(user, "pk", None):
        raise PermissionDenied(_("この利用者登録で申し込むことはできません。"))
    if registration.kind == Registration.Kind.TEMPORARY:
        raise _entry_error(
            _("一時利用者は抽選に申し込めません。個人登録か団体登録をしてください。"),
            "registration",
        )
    if registration.state != Registration.State.APPROVED:
        raise _entry_error(_("利用者登録が承認されていません。"), "registration")
    on = today()
    if registration.lottery_barred_until and registration.lottery_barred_until > on:
        raise _entry_error(
            _(
                "ペナルティ点数が上限に達したため、%(date)sまで抽選に申し込めません"
                "（無断不使用・直前の取消）。"
            )
            % {"date": f"{registration.lottery_barred_until:%Y-%m-%d}"},
            "registration",
        )
    if round_.state != LotteryRound.State.OPEN or not (round_.opens_at <= now() < round_.closes_at):
        raise _entry_error(_("この回の抽選は申込期間外です。"), "round")
    if not slot_ids:
        raise _entry_error(_("第1希望を選んでください。"))
    if len(slot_ids) != len(set(slot_ids)):
        raise _entry_error(_("同じコマを2回選んでいます。別のコマを選んでください。"))
    if len(slot_ids) > round_.max_choices_per_entry:
        raise _entry_error(_("希望は第%(n)s希望までです。") % {"n": round_.max_choices_per_entry})
    found = {
        s.pk: s
        for s in RoundSlot.objects.filter(round=round_, pk__in=slot_ids).select_related(
            "unit__facility"
        )
    }
    if len(found) != len(slot_ids) or any(s.unavailable for s in found.values()):
        raise _entry_error(_("この回で申し込めないコマが含まれています。"))
    chosen = [found[pk] for pk in slot_ids]
    facilities = {s.unit.facility_id for s in chosen}
    if len(facilities) != 1:
        raise _entry_error(_("1件の申込の希望は、同じ施設のコマから選んでください。"))
    last_day = max(s.ends_at for s in chosen).astimezone(slotlib.TOKYO).date()
    if registration.valid_until is None or registration.valid_until < last_day:
        raise _entry_error(
            _("利用日に利用者登録の有効期限が切れています。更新してください。"), "registration"
        )
    if (
        Entry.objects.filter(round=round_, registration=registration).count()
        >= round_.max_entries_per_applicant
    ):
        raise _entry_error(
            _("この回に申し込めるのは%(n)s件までです。") % {"n": round_.max_entries_per_applicant},
            "round",
        )
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                round=round_,
                registration=registration,
                facility_id=facilities.pop(),
                entered_by=user,
                number=f"E{next_number('facilities_entry_number_seq'):07d}",
            )
            Choice.objects.bulk_create(
                Choice(entry=entry, rank=rank, slot=slot, round=round_, registration=registration)
                for rank, slot in enumerate(chosen, start=1)
            )
    except IntegrityError as error:
        name = constraint_of(error)
        if name == "choice_slot_once_per_applicant":
            raise _entry_error(
                _("すでにほかの申込で選んだコマです。同じコマには1回だけ申し込めます。")
            ) from None
        if name == "entries_within_cap":
            raise _entry_error(
                _("この回に申し込めるのは%(n)s件までです。")
                % {"n": round_.max_entries_per_applicant},
                "round",
            ) from None
        if name == "entries_only_while_open":
            raise _entry_error(_("この回の抽選は申込期間外です。"), "round") from None
        raise
    return entry


def withdraw_entry(*, entry: Entry, user) -> None:
    """Take an entry back while entries are open (it is then as if never made)."""
    with transaction.atomic():
        round_ = LotteryRound.objects.select_for_update().get(pk=entry.round_id)
        entry = Entry.objects.select_related("registration").get(pk=entry.pk)
        if entry.registration.representative_id != getattr(user, "pk", None):
            raise PermissionDenied(_("この申込を取り下げることはできません。"))
        if round_.state != LotteryRound.State.OPEN:
            raise ValidationError(_("締切後の申込は取り下げられません。"))
        entry.delete()


# --- closing, drawing, publishing --------------------------------------------------------------


def pseudonym(salt: str, registration_id: int) -> str:
    """The applicant's code in the published files: the same for all their entries in the
    round, and unlinkable to the registration without the round's secret salt."""
    return "A-" + hashlib.sha256(f"{salt}:{registration_id}".encode()).hexdigest()[:10]


def tier_of(tiers: list, applicant_class: str) -> int:
    """1 for the first tier listed; classes no tier names come after all listed tiers."""
    for index, group in enumerate(tiers or [], start=1):
        if applicant_class in group:
            return index
    return len(tiers or []) + 1 if tiers else 1


def _entries_document(round_: LotteryRound) -> dict:
    slots = list(
        RoundSlot.objects.filter(round=round_, unavailable=False).values_list("code", flat=True)
    )
    choices: dict[int, list[str]] = defaultdict(list)
    for entry_id, code in (
        Choice.objects.filter(round=round_)
        .order_by("entry_id", "rank")
        .values_list("entry_id", "slot__code")
    ):
        choices[entry_id].append(code)
    entries = [
        drawlib.Entry(number, pseudonym, tier, tuple(choices[pk]))
        for pk, number, pseudonym, tier in Entry.objects.filter(round=round_).values_list(
            "pk", "number", "pseudonym", "tier"
        )
    ]
    return drawlib.entries_document(
        round_code=round_.code,
        max_wins=round_.max_wins_per_applicant,
        slots=slots,
        entries=entries,
    )


def close_round(*, round_: LotteryRound) -> LotteryRound:
    """Entries close: fix every entry's tier and applicant code, write the entries file and
    commit to a fresh seed by publishing both SHA-256s (one transaction)."""
    with transaction.atomic():
        round_ = _lock(round_)
        if round_.state != LotteryRound.State.OPEN:
            return round_
        _transition(round_, LotteryRound.State.CLOSED)
        round_.pseudonym_salt = secrets.token_hex(16)
        tiers = {}
        rows = []
        for pk, registration_id, facility_id, facility_tiers, kind, in_city in Entry.objects.filter(
            round=round_
        ).values_list(
            "pk",
            "registration_id",
            "facility_id",
            "facility__tiers",
            "registration__kind",
            "registration__in_city",
        ):
            applicant_class = Registration.applicant_class_of(kind, in_city)
            key = (facility_id, applicant_class)
            if key not in tiers:
                tiers[key] = tier_of(facility_tiers, applicant_class)
            rows.append((pk, tiers[key], pseudonym(round_.pseudonym_salt, registration_id)))
        with connection.cursor() as cursor:
            # Tier and applicant code in one pass over the entries.
            execute_values(
                cursor,
                "UPDATE facilities_entry e SET tier = v.tier, pseudonym = v.pseudonym "
                "FROM (VALUES %s) AS v(id, tier, pseudonym) WHERE e.id = v.id",
                rows,
                page_size=10000,
            )
        entries_file = drawlib.canonical_bytes(_entries_document(round_))
        round_.entries_file = entries_file
        round_.entries_sha256 = drawlib.sha256_hex(entries_file)
        round_.seed = secrets.token_hex(32)
        round_.seed_sha256 = drawlib.sha256_hex(bytes.fromhex(round_.seed))
        round_.closed_at = now()
        round_.save(
            update_fields=[
                "state",
                "pseudonym_salt",
                "entries_file",
                "entries_sha256",
                "seed",
                "seed_sha256",
                "closed_at",
            ]
        )
    return round_


def start_draw(*, round_: LotteryRound, clerk) -> LotteryRound:
    """Queue the draw (Celery) once the transaction commits; the page shows its progress."""
    require_perm(clerk, "facilities.run_draw")
    with transaction.atomic():
        round_ = _lock(round_)
        if round_.state == LotteryRound.State.DRAWING:
            return round_
        _transition(round_, LotteryRound.State.DRAWING)
        round_.draw_started_by = clerk
        round_.draw_processed = 0
        round_.draw_total = 0
        round_.draw_error = ""
        round_.save(
            update_fields=["state", "draw_started_by", "draw_processed", "draw_total", "draw_error"]
        )
        audit.record(action="facilities.draw_started", actor=clerk, obj=round_)
        from ..tasks import run_draw as task

        pk = round_.pk
        transaction.on_commit(lambda: task.delay(pk))
    return round_


def _unavailable_codes(round_: LotteryRound) -> list[str]:
    """Round slots that an official use or a closure took after entries closed."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT rs.code FROM facilities_roundslot rs
              JOIN facilities_unit u ON u.id = rs.unit_id
             WHERE rs.round_id = %s AND (
                   EXISTS (SELECT 1 FROM facilities_booking b
                            WHERE b.unit_id = rs.unit_id AND b.state = ANY(%s)
                              AND b.during && tstzrange(rs.starts_at, rs.ends_at, '[)'))
                OR EXISTS (SELECT 1 FROM facilities_closure c
                            WHERE c.facility_id = u.facility_id
                              AND (c.unit_id IS NULL OR c.unit_id = rs.unit_id)
                              AND c.during && tstzrange(rs.starts_at, rs.ends_at, '[)')))
            """,
            [round_.pk, list(ACTIVE_STATES)],
        )
        return [row[0] for row in cursor.fetchall()]


def _report_progress(round_id: int, done: int, total: int) -> None:
    # Autocommit: the staff page sees progress while the draw runs.
    LotteryRound.objects.filter(pk=round_id).update(draw_processed=done, draw_total=total)


def run_draw(round_id: int) -> LotteryRound:
    """The Celery task's body: draw, then write every result in one transaction."""
    round_ = LotteryRound.objects.get(pk=round_id)
    if round_.state != LotteryRound.State.DRAWING:
        return round_
    document = json.loads(bytes(round_.entries_file).decode("utf-8"))
    entries = drawlib.entries_from_document(document)
    unavailable = _unavailable_codes(round_)
    # Four fifths of the bar for the draw, the last fifth for writing the results.
    total = sum(len(e.choices) for e in entries) or 1
    scale = total * 5 // 4 + 1
    step = max(1, total // 20)
    last = [0]

    def progress(done: int, _total: int) -> None:
        if done - last[0] >= step or done == _total:
            last[0] = done
            _report_progress(round_id, done, scale)

    winners = drawlib.draw(
        entries,
        seed_hex=round_.seed,
        entries_sha256=round_.entries_sha256,
        max_wins=int(document["max_wins_per_applicant"]),
        slots=document["slots"],
        unavailable=unavailable,
        progress=progress,
    )
    results = drawlib.results_document(
        round_code=round_.code,
        seed_hex=round_.seed,
        entries_sha256=round_.entries_sha256,
        unavailable=unavailable,
        winners=winners,
    )
    with transaction.atomic():
        round_ = _lock(round_)
        if round_.state != LotteryRound.State.DRAWING:
            return round_
        _write_results(round_, winners, unavailable)
        _transition(round_, LotteryRound.State.DRAWN)
        round_.results_file = drawlib.canonical_bytes(results)
        round_.drawn_at = now()
        round_.draw_processed = round_.draw_total = scale
        round_.save(
            update_fields=["state", "results_file", "drawn_at", "draw_processed", "draw_total"]
        )
    return round_


def _write_results(round_: LotteryRound, winners: list[drawlib.Win], unavailable: list[str]):
    """Winners, losers and the winners' bookings, set-based: the draw's 50,000 entries are
    one UPDATE and the bookings one INSERT … SELECT, not rows through the ORM."""
    if unavailable:
        RoundSlot.objects.filter(round=round_, code__in=unavailable).update(unavailable=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE facilities_draw_win (entry_number text, slot_code text, "
            "rank smallint) ON COMMIT DROP"
        )
        execute_values(
            cursor,
            "INSERT INTO facilities_draw_win VALUES %s",
            [(w.entry, w.slot, w.rank) for w in winners],
            page_size=10000,
        )
        cursor.execute(
            """
            SELECT e.id, rs.id, w.rank, r.kind, r.in_city, rs.unit_id, rs.starts_at
              FROM facilities_draw_win w
              JOIN facilities_entry e ON e.round_id = %(round)s AND e.number = w.entry_number
              JOIN facilities_registration r ON r.id = e.registration_id
              JOIN facilities_roundslot rs ON rs.round_id = %(round)s AND rs.code = w.slot_code
            """,
            {"round": round_.pk},
        )
        found = cursor.fetchall()
        if len(found) != len(winners):
            raise RuntimeError(f"round {round_.code}: {len(winners)} winners, {len(found)} matched")
        plans = {
            u.pk: selectors.plan_of(u)
            for u in selectors.units_with_plan(Unit.objects.filter(pk__in={r[5] for r in found}))
        }
        rows = []
        for entry_id, slot_id, rank, kind, in_city, unit_id, starts in found:
            rate = Registration.rate_of(kind, in_city)
            slot = slotlib.slot_at(plans[unit_id], starts)
            rows.append((entry_id, slot_id, rank, rate, slot.fee_for(rate) if slot else 0))
        cursor.execute(
            "CREATE TEMP TABLE facilities_draw_booking (entry_id bigint PRIMARY KEY, "
            "slot_id bigint, rank smallint, rate text, fee integer) ON COMMIT DROP"
        )
        execute_values(
            cursor, "INSERT INTO facilities_draw_booking VALUES %s", rows, page_size=10000
        )
        # Every entry of the round once. A loser changes only its state, no indexed column,
        # so with the table's free space (fillfactor 50) it is updated in place (HOT).
        cursor.execute(
            """
            UPDATE facilities_entry e SET state = 'lost'
             WHERE e.round_id = %s
               AND NOT EXISTS (SELECT 1 FROM facilities_draw_booking b WHERE b.entry_id = e.id)
            """,
            [round_.pk],
        )
        cursor.execute(
            """
            UPDATE facilities_entry e
               SET state = 'won', won_slot_id = b.slot_id, won_rank = b.rank
              FROM facilities_draw_booking b
             WHERE e.id = b.entry_id
            """
        )
        cursor.execute(
            """
            INSERT INTO facilities_booking
                   (reference, unit_id, during, kind, state, registration_id, entry_id, rate,
                    slot_fee, equipment_fee, fee, pay_by, facility_receipt, cancel_reason,
                    purpose, created_at)
            SELECT 'R' || lpad(nextval('facilities_booking_reference_seq')::text, 8, '0'),
                   rs.unit_id, tstzrange(rs.starts_at, rs.ends_at, '[)'), 'lottery', 'won',
                   e.registration_id, e.id, b.rate, b.fee, 0, b.fee, %(pay_by)s, '', '', '',
                   now()
              FROM facilities_draw_booking b
              JOIN facilities_entry e ON e.id = b.entry_id
              JOIN facilities_roundslot rs ON rs.id = b.slot_id
             ORDER BY rs.code
            """,
            {"pay_by": round_.confirm_by},
        )
        cursor.execute(
            """
            INSERT INTO facilities_bookingevent (booking_id, from_state, to_state, reason,
                                                 created_at)
            SELECT bk.id, '', 'won', %s, now()
              FROM facilities_booking bk JOIN facilities_draw_booking b ON b.entry_id = bk.entry_id
            """,
            [f"抽選 {round_.code}"],
        )
    selectors.availability_changed()


def publish(*, round_: LotteryRound, clerk) -> LotteryRound:
    """結果公開: the results and the seed become public; every applicant is told."""
    require_perm(clerk, "facilities.run_draw")
    with transaction.atomic():
        round_ = _lock(round_)
        if round_.state == LotteryRound.State.PUBLISHED:
            return round_
        _transition(round_, LotteryRound.State.PUBLISHED)
        round_.published_at = now()
        round_.published_by = clerk
        round_.save(update_fields=["state", "published_at", "published_by"])
        audit.record(action="facilities.draw_published", actor=clerk, obj=round_)
        tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for user_id, state in Entry.objects.filter(round=round_).values_list(
            "registration__representative_id", "state"
        ):
            tally[user_id][0 if state == Entry.State.WON else 1] += 1
        from cityhall.models import User

        for user in User.objects.filter(pk__in=tally):
            won, lost = tally[user.pk]
            notify(
                user=user,
                subject=_("施設予約の抽選結果（%(round)s）") % {"round": round_.code},
                body=_(
                    "当選 %(won)s件、落選 %(lost)s件でした。当選した予約は、"
                    "%(deadline)sまでに当選確認とお支払いをしてください。"
                    "期限を過ぎると当選は失効します。"
                )
                % {
                    "won": won,
                    "lost": lost,
                    "deadline": f"{round_.confirm_by.astimezone(slotlib.TOKYO):%Y-%m-%d %H:%M}",
                },
                link="/my/facilities/",
            )
    return round_


def confirm_win(*, booking: Booking, user) -> Booking:
    """当選確認: the winner keeps the slot; the fee is billed, due by the round's deadline."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("registration", "unit__facility")
            .get(pk=booking.pk)
        )
        if booking.registration is None or booking.registration.representative_id != getattr(
            user, "pk", None
        ):
            raise PermissionDenied(_("この当選を確認することはできません。"))
        if booking.state != Booking.State.WON:
            raise ValidationError(_("この予約は当選確認の対象ではありません。"))
        if booking.pay_by is not None and booking.pay_by <= now():
            raise ValidationError(_("当選確認の期限を過ぎています。"))
        if booking.fee == 0:
            move(booking, Booking.State.RESERVED, actor=user, reason="当選確認")
            return booking
        move(booking, Booking.State.CONFIRMED, actor=user, reason="当選確認")
        billing.bill_booking(booking, due=booking.pay_by.astimezone(slotlib.TOKYO).date())
    return booking


# --- the calendar of rounds (beat) -------------------------------------------------------------


def advance_rounds() -> list[str]:
    """Beat: make next month's round, open rounds whose entries start, close those whose
    entries end, finish those past the confirmation deadline. Idempotent."""
    done = []
    this_month = today().replace(day=1)
    for month in (this_month, add_months(this_month, 1)):
        ensure_round(month=month)
    moment = now()
    for round_ in LotteryRound.objects.filter(state="scheduled", opens_at__lte=moment):
        open_round(round_=round_)
        done.append(f"{round_.code} opened")
    for round_ in LotteryRound.objects.filter(state="open", closes_at__lte=moment):
        close_round(round_=round_)
        done.append(f"{round_.code} closed")
    finished = LotteryRound.objects.filter(state="published", confirm_by__lte=moment)
    for round_ in finished:
        with transaction.atomic():
            locked = _lock(round_)
            if locked.state == LotteryRound.State.PUBLISHED:
                _transition(locked, LotteryRound.State.FINISHED)
                locked.save(update_fields=["state"])
                done.append(f"{round_.code} finished")
    return done
