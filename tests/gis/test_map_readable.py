"""Maps a person can read: garbage days in words, the year-end break, a
legend, names on the map, the resident's own address with its hazard zones, and labelled
attributes in the clerk's click panel."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation
from factories_gis import FeatureFactory, LayerFactory, box, resident_at
from readable_check import assert_readable, visible_text

from factories import UserFactory
from gis import selectors
from gis.attributes import readable_attributes
from gis.garbage import describe_rule, parse_rule
from gis.models import Layer


@pytest.mark.parametrize(
    ("tokens", "ja", "en"),
    [
        ("月 木", "毎週月曜日・木曜日", "Every Monday and Thursday"),
        ("火1 火3", "第1・第3火曜日", "1st and 3rd Tuesday"),
        ("金2 金4", "第2・第4金曜日", "2nd and 4th Friday"),
        ("土1", "第1土曜日", "1st Saturday"),
        ("月 水 金", "毎週月曜日・水曜日・金曜日", "Every Monday, Wednesday and Friday"),
        ("火2 火4 金1", "第2・第4火曜日、第1金曜日", "2nd and 4th Tuesday; 1st Friday"),
        ("月 水2", "毎週月曜日、第2水曜日", "Every Monday; 2nd Wednesday"),
        ("2027-01-11 2026-12-07", "12月7日、1月11日", "Dec 7, Jan 11"),
    ],
)
def test_garbage_days_in_words(tokens, ja, en):
    rule = parse_rule(tokens)
    assert describe_rule(rule, lang="ja") == ja
    assert describe_rule(rule, lang="en") == en


def test_attributes_are_labelled_with_units():
    with translation.override("ja"):
        rows = _attribute_rows()
    assert rows == {
        "想定される浸水の深さ": "0.5〜3.0m",
        "想定する降雨の規模": "想定最大規模",
        "口径": "150 mm",
        "避難所": "指定避難所",
        "布設年": "1990年",
        "取込データの項目「surveyor」": "測量社",
    }
    with translation.override("en"):
        assert _attribute_rows()["Imported column “surveyor”"] == "測量社"


def _attribute_rows() -> dict:
    return dict(
        readable_attributes(
            {
                "name": "まちば川",
                "depth": "0.5〜3.0m",
                "return_period": "想定最大規模",
                "diameter_mm": 150,
                "evacuation": True,
                "laid": 1990,
                "surveyor": "測量社",
            },
            skip=["name"],
        )
    )


@pytest.fixture
def flood(db):
    hazard = LayerFactory(
        slug="flood", kind=Layer.Kind.HAZARD_ZONES, visibility="public", name_ja="洪水浸水想定区域"
    )
    # The western parcel of the small city lies in the flood zone, the eastern one does not.
    return FeatureFactory(
        layer=hazard,
        external_id="H1",
        geometry=box(139.4995, 35.6995, 139.5009, 35.7015),
        attributes={"name": "まちば川 洪水浸水想定区域", "depth": "0.5〜3.0m"},
    )


def test_hazard_zones_at_a_point_come_from_postgis(small_city, flood):
    assert [
        z.external_id for z in selectors.hazard_zones_at(Point(139.5005, 35.7005, srid=6668))
    ] == ["H1"]
    assert not selectors.hazard_zones_at(Point(139.5015, 35.7005, srid=6668)).exists()


def test_map_labels_sit_inside_their_district_and_name_it(small_city, public_layer):
    districts = Layer.objects.get(slug="garbage-districts")
    feature = districts.features.get()
    feature.attributes = {"name": "本町地区"}
    feature.save()
    FeatureFactory(
        layer=public_layer,
        external_id="F1",
        geometry=Point(139.5005, 35.7005, srid=6668),
        attributes={"name": "本町公園"},
    )
    labels = selectors.map_labels([districts, public_layer])
    assert {(label["layer"], label["name"]) for label in labels} == {
        ("garbage-districts", "本町地区"),
        ("facilities", "本町公園"),
    }
    for label in labels:
        assert selectors.features_at_point(Point(label["lon"], label["lat"], srid=6668)).exists()


def test_residents_map_marks_their_address_and_the_hazard_zone_it_lies_in(
    client, small_city, flood
):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番1号", user=user)
    client.force_login(user)
    response = client.get("/map/")
    config = response.context["map_config"]
    assert config["home"]["lon"] == pytest.approx(139.5005)
    text = visible_text(response.content.decode())
    assert "わたしの住所と災害の危険" in text and "この住所は次の区域の中にあります" in text
    assert "洪水浸水想定区域 — まちば川 洪水浸水想定区域" in text
    assert "想定される浸水の深さ 0.5〜3.0m" in text
    assert_readable(text)


def test_an_address_outside_every_hazard_zone_says_so(client, small_city, flood):
    user = UserFactory(role="resident")
    resident_at("本町1丁目1番2号", user=user)
    client.force_login(user)
    text = visible_text(client.get("/map/").content.decode())
    assert "災害危険区域（浸水想定区域など）には入っていません" in text


def test_map_has_a_legend_with_a_swatch_per_layer(client, small_city, flood):
    html = client.get("/map/").content.decode()
    assert "凡例と表示するレイヤ" in html
    # The district layer (a green area) and the flood zone, each with a drawn swatch.
    assert html.count('<svg class="swatch"') >= 3
    assert 'data-layer="flood"' in html and 'data-layer="garbage-districts"' in html
    assert "探した場所・地図で選んだ場所" in html


def test_garbage_page_in_english_says_days_in_words(client, small_city):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = visible_text(client.get("/garbage/", {"address": "本町1-1-1"}).content.decode())
    assert "Every Monday and Thursday" in text and "2nd and 4th Wednesday" in text
    assert "No collection over the year-end break (Dec 31 – Jan 3)." in text


def test_staff_click_panel_labels_attributes_and_gives_charges_an_amount(
    clerk_client, small_city, flood
):
    from factories_payments import make_charge

    owner = resident_at("本町1丁目1番1号", family_name="筆上")
    make_charge(
        owner,
        code="fixed_asset_tax",
        fiscal_year=2026,
        parcel_key="本町1丁目1番1",
        parts=((date(2026, 4, 30), 70_500), (date(2026, 7, 31), 70_500)),
    )
    response = clerk_client.get("/staff/map/at/", {"lon": 139.5005, "lat": 35.7005})
    html = response.content.decode()
    text = visible_text(html)
    assert_readable(text)
    assert "固定資産税（2026年度）調定額 141,000円・納税義務者 筆上 花子" in text
    assert "想定される浸水の深さ0.5〜3.0m" in text.replace(" ", "")
    for key in ("depth", "return_period", "chiban", " #"):
        assert key not in text, key
    # The parcel's shape comes along for map.js to outline.
    assert 'data-geometry="{&quot;type&quot;:&quot;Polygon&quot;' in html
