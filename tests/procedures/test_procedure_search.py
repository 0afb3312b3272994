"""Search finds what people type (readings, everyday words), ranks the exact name
first; /procedures/ lists the catalogue by category; life-event checklists are ordered and say
where and when a counter-only procedure is done."""

import re

import pytest
from factories_procedures import make_procedure

from procedures import services
from procedures.selectors import search_procedures

pytestmark = pytest.mark.django_db


def _procedure(slug, name_ja, **fields):
    procedure = make_procedure(slug=slug, name_ja=name_ja)
    for name, value in fields.items():
        setattr(procedure, name, value)
    return services.save_procedure(procedure=procedure)


def _names(query, **kw):
    return [p.name_ja for p in search_procedures(query, **kw)]


@pytest.fixture
def moving(db):
    return [
        _procedure("tennyu", "転入届", name_kana="テンニュウトドケ", checklist_order=20),
        _procedure("tenshutsu", "転出届", name_kana="テンシュツトドケ", checklist_order=10),
        _procedure("tenkyo", "転居届", name_kana="テンキョトドケ", checklist_order=30),
    ]


@pytest.mark.parametrize("query", ["じゅうみんひょう", "ジュウミンヒョウ", "ｼﾞｭｳﾐﾝﾋｮｳ"])
def test_the_reading_finds_the_procedure(query):
    _procedure(
        "juminhyo", "住民票の写しの交付請求", name_kana="ジュウミンヒョウノウツシノコウフセイキュウ"
    )
    _procedure("inu", "犬の登録", name_kana="イヌノトウロク")
    assert _names(query) == ["住民票の写しの交付請求"]


@pytest.mark.parametrize("query", ["引越し", "引っ越し", "ひっこし", "moving"])
def test_an_everyday_word_finds_the_procedures_it_means(query, moving):
    _procedure("inu", "犬の登録")
    assert sorted(_names(query)) == sorted(["転入届", "転出届", "転居届"])


def test_the_exact_name_comes_first(moving):
    # Sorted by department, 児童手当 (child_allowance) would come before 転入届 (juki); its
    # description mentions 転入届, so it matches too, but after the procedure of that name.
    _procedure(
        "jidou",
        "児童手当認定請求",
        department="child_allowance",
        description_ja="転入届を出したら15日以内に請求してください。",
    )
    assert _names("転入届") == ["転入届", "児童手当認定請求"]
    assert _names("てんにゅうとどけ")[0] == "転入届"


def test_the_catalogue_without_a_query_lists_every_procedure_by_category(client, moving):
    _procedure("inu", "犬の登録", department="health")
    page = client.get("/procedures/").content.decode()
    assert "分野別の手続き一覧" in page
    juki = page.index("<h3>住民基本台帳</h3>")
    health = page.index("<h3>健康管理</h3>")
    assert page.index("犬の登録") > health
    for name in ("転入届", "転出届", "転居届"):
        assert juki < page.index(name)


def test_the_life_event_checklist_is_in_the_order_things_are_done(client, moving):
    page = client.get("/procedures/life/moving/").content.decode()
    names = re.findall(r"(転出届|転入届|転居届)</a>", page)
    assert names == ["転出届", "転入届", "転居届"]


def test_a_counter_only_item_says_where_and_when_and_links_the_congestion_page(client, moving):
    _procedure(
        "shussei",
        "出生届",
        counter_only=True,
        life_events=["moving"],
        counter_place_ja="市役所1階 総合窓口（開庁日の8時30分〜17時15分）",
        counter_place_en="City hall, 1st floor (business days 8:30–17:15)",
    )
    page = client.get("/procedures/life/moving/").content.decode()
    item = page[page.index("出生届") :]
    item = item[: item.index("</li>")]
    assert "窓口で手続きします" in item and "8時30分〜17時15分" in item
    assert 'href="/counter/status/"' in item
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/procedures/life/moving/").content.decode()
    assert "business days 8:30–17:15" in english
