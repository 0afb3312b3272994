from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation
from factories_residents import move_in, valid_mynumber

from cityhall.models import AuditEvent
from residents import services
from residents.models import Household, Movement, ResidencePeriod, Resident
from residents.selectors import household_members_on, resident_as_of

pytestmark = pytest.mark.django_db


def test_move_in_founds_a_household_with_its_head_period_and_movement(clerk):
    resident = move_in(clerk=clerk, address="本町三丁目１２－４ メゾン本町201")
    assert resident.is_head and resident.relationship == "世帯主"
    assert resident.household.address.label == "本町3丁目12番4号 メゾン本町201"
    assert resident.search_kana == "ヤマダ タロウ".casefold()
    period = ResidencePeriod.objects.get(resident=resident)
    assert period.valid.lower == date(2020, 4, 1) and period.valid.upper is None
    movement = Movement.objects.get(resident=resident)
    assert movement.kind == "move_in" and movement.clerk == clerk
    assert movement.new["address"] == "本町3丁目12番4号 メゾン本町201"
    assert AuditEvent.objects.filter(
        action="residents.move_in", object_id=str(resident.pk)
    ).exists()


def test_move_out_of_head_without_successor_is_refused(yamada_family, clerk):
    head, spouse, _child = yamada_family
    with pytest.raises(ValidationError) as excinfo:
        services.register_move_out(
            resident=head,
            effective_on=date(2024, 3, 31),
            notified_on=date(2024, 3, 25),
            clerk=clerk,
        )
    message = " ".join(excinfo.value.message_dict["new_head"])
    assert "新しい世帯主を指定してください" in message
    with translation.override("en"):
        english = " ".join(excinfo.value.message_dict["new_head"])
    assert english.startswith("Name a new head of household") and "世帯主" not in english
    head.refresh_from_db()
    assert head.status == "current" and head.is_head
    assert not Movement.objects.filter(kind="move_out").exists()


def test_move_out_of_head_with_successor_hands_over(yamada_family, clerk):
    head, spouse, child = yamada_family
    services.register_move_out(
        resident=head,
        effective_on=date(2024, 3, 31),
        notified_on=date(2024, 3, 25),
        clerk=clerk,
        new_head=spouse,
        destination="東京都千代田区",
    )
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert head.status == "moved_out" and not head.is_head and head.left_on == date(2024, 3, 31)
    assert spouse.is_head and spouse.relationship == "世帯主"
    kinds = list(Movement.objects.order_by("id").values_list("resident_id", "kind"))[-2:]
    assert kinds == [(spouse.pk, "household_change"), (head.pk, "move_out")]


def test_last_member_moving_out_dissolves_the_household(clerk):
    alone = move_in(clerk=clerk)
    services.register_move_out(
        resident=alone, effective_on=date(2024, 1, 10), notified_on=date(2024, 1, 5), clerk=clerk
    )
    alone.household.refresh_from_db()
    assert alone.household.dissolved_on == date(2024, 1, 10)


def test_as_of_date_household_query_after_a_sequence_of_movements(yamada_family, clerk):
    head, spouse, child = yamada_family
    household = head.household
    baby = services.register_birth(
        household=household,
        family_name="山田",
        given_name="二郎",
        family_name_kana="やまだ",
        given_name_kana="じろう",
        birth_date=date(2023, 6, 1),
        sex="male",
        notified_on=date(2023, 6, 10),
        clerk=clerk,
    ).resident
    services.register_relocation(
        residents=[child],
        address="栄町1丁目2番3号",
        effective_on=date(2024, 4, 1),
        notified_on=date(2024, 4, 2),
        clerk=clerk,
    )
    services.register_death(
        resident=head,
        died_on=date(2025, 1, 20),
        notified_on=date(2025, 1, 21),
        clerk=clerk,
        new_head=spouse,
    )

    def names(on):
        return [(m.given_name, m.period.is_head) for m in household_members_on(household, on)]

    assert names(date(2020, 3, 31)) == []
    assert names(date(2023, 5, 31)) == [("太郎", True), ("花子", False), ("一郎", False)]
    assert names(date(2024, 3, 31)) == [
        ("太郎", True),
        ("花子", False),
        ("一郎", False),
        ("二郎", False),
    ]
    assert names(date(2024, 4, 1)) == [("太郎", True), ("花子", False), ("二郎", False)]
    # The deceased was a member on the day of death; from the next day the spouse heads.
    assert names(date(2025, 1, 20)) == [("太郎", True), ("花子", False), ("二郎", False)]
    assert names(date(2025, 1, 21)) == [("花子", True), ("二郎", False)]
    assert baby.given_name_kana == "ジロウ"
    child_then = resident_as_of(child, date(2024, 3, 1))
    child_now = resident_as_of(child, date(2024, 4, 1))
    assert child_then.household == household and not child_then.is_head
    assert child_now.household != household and child_now.is_head
    assert child_now.address.label == "栄町1丁目2番3号"
    assert resident_as_of(head, date(2025, 2, 1)) is None


def test_relocation_of_the_whole_household_keeps_its_number(yamada_family, clerk):
    head, spouse, child = yamada_family
    services.register_relocation(
        residents=[head, spouse, child],
        address="緑町2丁目5番8号",
        effective_on=date(2024, 5, 1),
        notified_on=date(2024, 5, 2),
        clerk=clerk,
    )
    household = Household.objects.get(pk=head.household_id)
    assert household.address.label == "緑町2丁目5番8号"
    assert household.address_since == date(2024, 5, 1)
    assert resident_as_of(head, date(2024, 4, 30)).address.label == "本町3丁目12番4号"


def test_relocation_of_the_head_alone_needs_a_head_for_those_who_stay(yamada_family, clerk):
    head, spouse, _child = yamada_family
    with pytest.raises(ValidationError) as excinfo:
        services.register_relocation(
            residents=[head],
            address="緑町2丁目5番8号",
            effective_on=date(2024, 5, 1),
            notified_on=date(2024, 5, 2),
            clerk=clerk,
        )
    assert "new_head" in excinfo.value.message_dict


def test_change_of_head_moves_the_flag_and_keeps_history(yamada_family, clerk):
    head, spouse, _child = yamada_family
    services.change_head_of_household(
        household=head.household,
        new_head=spouse,
        effective_on=date(2024, 7, 1),
        notified_on=date(2024, 7, 1),
        clerk=clerk,
        former_head_relationship="夫",
    )
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert spouse.is_head and not head.is_head and head.relationship == "夫"
    assert resident_as_of(head, date(2024, 6, 30)).is_head
    assert resident_as_of(spouse, date(2024, 7, 1)).is_head


def test_correction_keeps_the_old_name_for_past_dates(yamada_family, clerk):
    head, _spouse, _child = yamada_family
    movement = services.correct_record(
        resident=head,
        changes={"given_name": "太朗", "given_name_kana": "ﾀﾛｳ"},
        reason="誤記の訂正",
        notified_on=date(2024, 8, 1),
        clerk=clerk,
    )
    assert movement.previous == {"given_name": "太郎"}
    assert movement.new == {"given_name": "太朗"}
    head.refresh_from_db()
    assert head.search_name == "山田 太朗"
    assert resident_as_of(head, date(2024, 7, 31)).given_name == "太郎"
    assert resident_as_of(head, date(2024, 8, 1)).given_name == "太朗"


def test_movements_are_append_only(yamada_family):
    movement = Movement.objects.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        Movement.objects.filter(pk=movement.pk).update(reason="changed")


def test_periods_of_one_resident_cannot_overlap(yamada_family):
    head = yamada_family[0]
    period = ResidencePeriod.objects.get(resident=head)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidencePeriod.objects.create(
            resident=head,
            household=period.household,
            address=period.address,
            relationship="世帯主",
            is_head=True,
            valid=(date(2021, 1, 1), None),
        )


def test_database_refuses_a_household_without_a_head(yamada_family):
    head = yamada_family[0]
    with pytest.raises(IntegrityError, match="no head"), transaction.atomic():
        Resident.objects.filter(pk=head.pk).update(is_head=False)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS household_has_head_while_it_has_members IMMEDIATE")


def test_database_refuses_a_moved_out_head(yamada_family):
    head = yamada_family[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=head.pk).update(status="moved_out", left_on=date(2024, 1, 1))


def test_same_mynumber_for_two_current_residents_is_refused(clerk):
    number = valid_mynumber(12345)
    move_in(mynumber=number, clerk=clerk)
    with pytest.raises(ValidationError) as excinfo:
        move_in(mynumber=number, clerk=clerk, address="栄町1丁目1番1号")
    assert "別の住民に登録されています" in excinfo.value.message_dict["mynumber"][0]


def test_invalid_mynumber_is_refused_with_the_check_digit_message(clerk):
    with pytest.raises(ValidationError) as excinfo:
        move_in(mynumber="526018159085", clerk=clerk)
    assert "検査用数字" in excinfo.value.message_dict["mynumber"][0]


def test_non_kana_reading_is_refused(clerk):
    with pytest.raises(ValidationError) as excinfo:
        move_in(family_name_kana="Yamada", clerk=clerk)
    assert "カタカナ" in excinfo.value.message_dict["family_name_kana"][0]


def test_a_resident_account_cannot_register_movements(resident_user):
    with pytest.raises(PermissionDenied):
        move_in(clerk=resident_user)
