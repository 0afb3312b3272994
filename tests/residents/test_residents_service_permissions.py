"""Each residents service names the permission it needs: a clerk whose role lacks it is refused
and nothing is written; a forgotten actor (None) is refused; batch and system work passes the
explicit SYSTEM actor, which no row names as a person."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from factories_residents import move_in

from cityhall.models import AuditEvent
from cityhall.roles import SYSTEM
from residents import services
from residents.models import ActivationCode, Movement, Resident

pytestmark = pytest.mark.django_db

NUMBER = "526018159084"


def _take_from_clerks(permission: str) -> None:
    app_label, codename = permission.split(".", 1)
    group = Group.objects.get(name="clerk")
    group.permissions.remove(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )


def _move_in_kwargs(clerk) -> dict:
    return {
        "family_name": "権限",
        "given_name": "確認",
        "family_name_kana": "ケンゲン",
        "given_name_kana": "カクニン",
        "birth_date": date(1990, 1, 1),
        "sex": "female",
        "effective_on": date(2024, 4, 1),
        "notified_on": date(2024, 4, 1),
        "address": "本町1丁目1番1号",
        "clerk": clerk,
    }


def test_movements_refuse_a_clerk_without_add_movement(clerk):
    resident = move_in()
    _take_from_clerks("residents.add_movement")
    before = Movement.objects.count()
    with pytest.raises(PermissionDenied):
        services.register_move_in(**_move_in_kwargs(clerk))
    with pytest.raises(PermissionDenied):
        services.register_move_out(
            resident=resident,
            effective_on=date(2025, 1, 1),
            notified_on=date(2025, 1, 1),
            destination="東京都千代田区",
            clerk=clerk,
        )
    with pytest.raises(PermissionDenied):
        services.correct_record(
            resident=resident,
            changes={"given_name": "次郎"},
            reason="誤記",
            notified_on=date(2025, 1, 1),
            clerk=clerk,
        )
    assert Movement.objects.count() == before
    assert not Resident.objects.filter(family_name="権限").exists()


def test_a_clerk_with_add_movement_still_registers(clerk):
    movement = services.register_move_in(**_move_in_kwargs(clerk))
    assert movement.clerk == clerk


def test_none_is_refused_and_system_is_recorded_as_no_person():
    with pytest.raises(PermissionDenied):
        services.register_move_in(**_move_in_kwargs(None))
    movement = services.register_move_in(**_move_in_kwargs(SYSTEM))
    assert movement.clerk is None
    event = AuditEvent.objects.get(action="residents.move_in", object_id=str(movement.resident.pk))
    assert event.actor is None


def test_staff_reads_refuse_a_clerk_without_view_resident(clerk):
    resident = move_in()
    _take_from_clerks("residents.view_resident")
    with pytest.raises(PermissionDenied):
        services.record_resident_view(resident=resident, actor=clerk, purpose="counter")
    assert not AuditEvent.objects.filter(action="residents.resident_viewed").exists()


def test_activation_codes_refuse_a_clerk_without_change_resident_and_refuse_none(clerk):
    resident = move_in()
    with pytest.raises(PermissionDenied):
        services.issue_activation_code(resident=resident, clerk=None)
    _take_from_clerks("residents.change_resident")
    with pytest.raises(PermissionDenied):
        services.issue_activation_code(resident=resident, clerk=clerk)
    assert not ActivationCode.objects.exists()


def test_certificate_numbers_refuse_a_clerk_without_certify_mynumber(clerk):
    resident = move_in(mynumber=NUMBER)
    _take_from_clerks("residents.certify_mynumber")
    with pytest.raises(PermissionDenied):
        services.mynumber_for_certificate(
            resident=resident, actor=clerk, purpose="住民票の写し", own_request=True
        )
    assert not AuditEvent.objects.filter(action="resident.mynumber_for_certificate").exists()


def test_system_never_reads_a_my_number():
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(PermissionDenied):
        services.reveal_mynumber(resident=resident, actor=SYSTEM, purpose="一括処理")
    with pytest.raises(PermissionDenied):
        services.mynumber_for_certificate(
            resident=resident, actor=SYSTEM, purpose="一括処理", own_request=True
        )
