"""The garbage panel on /my/ is cached in Redis and never stale after a change of the
district's schedule or a move (cityhall.dashboard keys it on the rows it shows)."""

import re

from factories_gis import resident_at

from factories import UserFactory
from gis import services


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_garbage_panel_follows_a_schedule_change_at_once(client, small_city):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番1号", user=user)
    client.force_login(user)
    before = _my(client)
    assert "わたしのごみ出しの日" in before and "本町地区" in before
    assert _my(client) == before  # served from the cache
    services.set_garbage_schedule(district=small_city["district"], kind="burnable", rule="火 金")
    after = _my(client)
    assert after != before
    panel = after.split("わたしのごみ出しの日")[1].split("</ul>")[0]
    assert "（火）" in panel or "（金）" in panel, panel


def _garbage_panel(html: str) -> str:
    return (
        html.split("わたしのごみ出しの日")[1].split("</ul>")[0]
        if "わたしのごみ出しの日" in html
        else ""
    )


def test_the_garbage_panel_follows_a_new_address_point_at_once(client, small_city):
    """An address the register could not place shows no garbage days; when the address point
    is loaded (a gazetteer import) the panel appears on the next /my/, not minutes later."""
    from residents.models import Address

    user = UserFactory(role="resident")
    resident = resident_at("本町1丁目1番9号", user=user)
    assert Address.objects.get(pk=resident.household.address_id).location is None
    client.force_login(user)
    before = _my(client)
    assert "わたしのごみ出しの日" not in before
    assert _my(client) == before  # served from the cache
    services.upsert_address_points([("本町1丁目1番9号", 139.5005, 35.7005, "本町1丁目1番1")])
    after = _my(client)
    assert "わたしのごみ出しの日" in after and "本町地区" in after


def test_the_garbage_panel_follows_a_redrawn_district_at_once(client, small_city):
    """A district boundary redrawn (a new feature version) moves the resident to another
    district on the next /my/."""
    from factories_gis import FeatureFactory, GarbageDistrictFactory, box

    from gis.models import Layer

    user = UserFactory(role="resident")
    resident_at("本町1丁目1番1号", user=user)
    layer = Layer.objects.get(slug="garbage-districts")
    FeatureFactory(layer=layer, external_id="G-KITA", geometry=box(139.49, 35.71, 139.51, 35.73))
    kita = GarbageDistrictFactory(code="G-KITA", name_ja="北町地区", name_en="Kitamachi")
    services.set_garbage_schedule(district=kita, kind="burnable", rule="火 金")
    client.force_login(user)
    before = _my(client)
    assert "本町地区" in _garbage_panel(before)
    assert _my(client) == before  # served from the cache
    services.edit_feature(
        layer=layer,
        external_id="G-HONCHO",
        geometry=box(139.49, 35.69, 139.51, 35.6995),
        attributes={},
    )
    services.edit_feature(
        layer=layer,
        external_id="G-KITA",
        geometry=box(139.49, 35.6995, 139.51, 35.73),
        attributes={},
    )
    assert "北町地区" in _garbage_panel(_my(client))
