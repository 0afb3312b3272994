"""Placing an address by hand (gis.services.place_address) needs geo.change_addresspoint: a
clerk whose role lacks it is refused and the address keeps no point; None is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from factories_gis import resident_at

from gis import services
from residents.models import Address

pytestmark = pytest.mark.django_db


def test_place_address_refuses_a_clerk_without_the_permission(clerk, small_city):
    resident_at("本町1丁目7番7号")
    address = Address.objects.get(normalized="本町1丁目7番7号")
    Group.objects.get(name="clerk").permissions.remove(
        Permission.objects.get(content_type__app_label="geo", codename="change_addresspoint")
    )
    for actor in (clerk, None):
        with pytest.raises(PermissionDenied):
            services.place_address(
                address_id=address.pk, typed_address="本町1丁目1番1号", actor=actor
            )
    address.refresh_from_db()
    assert address.parcel_key == "" and address.location is None
