from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cityhall import japanese


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ｶﾞｯｺｳ ﾊﾟﾝ ｳﾞｧｲｵﾘﾝ", "ガッコウ パン ヴァイオリン"),
        ("  山田　　太郎\t", "山田 太郎"),
        ("山田\u3000太郎", "山田 太郎"),
        # か + combining dakuten, as macOS sends it.
        ("か\u3099く", "がく"),
        # A CJK compatibility ideograph in a name is not folded to the unified one.
        ("\ufa19田", "\ufa19田"),
    ],
)
def test_normalize_text(text, expected):
    assert japanese.normalize_text(text) == expected


@given(st.text())
def test_normalize_text_is_idempotent_and_never_crashes(text):
    once = japanese.normalize_text(text)
    assert japanese.normalize_text(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert "\u3000" not in once


# Characters the normaliser changes, so that hypothesis meets them often.
_JAPANESE_INPUT = st.text(
    alphabet=st.sampled_from("ｱｶﾞﾊﾟｯｰﾞﾟ･｢｣あがぱアガパー　 \t\u3099\u309aＡａ１－～0-9aZ山田・")
)


@given(_JAPANESE_INPUT)
def test_normalize_text_is_idempotent_on_kana_heavy_input(text):
    once = japanese.normalize_text(text)
    assert japanese.normalize_text(once) == once
    assert japanese.search_key(japanese.search_key(text)) == japanese.search_key(text)


@pytest.mark.parametrize(
    "query", ["ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", "やまだ　たろう", "ヤマダ　タロウ", " やまだ たろう "]
)
def test_half_width_full_width_and_hiragana_give_the_same_search_key(query):
    assert japanese.search_key(query) == "ヤマダ タロウ"


def test_search_key_ignores_width_and_case_of_latin_letters():
    assert japanese.search_key("ＭＡＩＳＯＮ") == japanese.search_key("maison") == "maison"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ひらがな", "ヒラガナ"),
        ("ﾊﾝｶｸ", "ハンカク"),
        ("ゔぁ", "ヴァ"),
        ("漢字とかな", "漢字トカナ"),
    ],
)
def test_to_katakana(text, expected):
    assert japanese.to_katakana(text) == expected


@pytest.mark.parametrize(
    ("text", "kana"),
    [
        ("ヤマダ タロウ", True),
        ("やまだ　たろう", True),
        ("ｽﾐｽ･ｼﾞｮｰﾝ", True),
        ("スミス・ジョーン", True),
        ("", False),
        ("　", False),
        ("山田", False),
        ("YAMADA", False),
        ("ヤマダ1", False),
        ("ヤマダ-タロウ", False),
    ],
)
def test_is_kana(text, kana):
    assert japanese.is_kana(text) is kana


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("やまだ　たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ  ﾀﾛｳ", "ヤマダ タロウ"),
        (" ヤマダ タロウ ", "ヤマダ タロウ"),
    ],
)
def test_normalize_kana_name(text, expected):
    assert japanese.normalize_kana_name(text) == expected


@pytest.mark.parametrize("text", ["山田 太郎", "やまだ 太郎", "YAMADA", "", "ヤマダ2"])
def test_normalize_kana_name_rejects_anything_but_kana(text):
    with pytest.raises(ValueError) as excinfo:
        japanese.normalize_kana_name(text)
    # One language per message: the reader's.
    with translation.override("ja"):
        assert str(excinfo.value) == "フリガナはカタカナで入力してください。"
    with translation.override("en"):
        assert str(excinfo.value) == "Enter the reading in katakana."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("山田　太郎", "山田 太郎"),
        (" 山田  太郎 ", "山田 太郎"),
        ("ｽﾐｽ ジョン", "スミス ジョン"),
    ],
)
def test_normalize_name_allows_a_full_width_space_between_family_and_given_name(text, expected):
    assert japanese.normalize_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("本町３丁目５番１２号", "本町3丁目5番12号"),
        ("本町三丁目5-12", "本町3丁目5-12"),
        ("本町十二丁目1番", "本町12丁目1番"),
        ("本町二十三丁目1番", "本町23丁目1番"),
        ("本町三丁目五番十二号", "本町3丁目5番12号"),
        ("本町3－5－12", "本町3-5-12"),
        ("本町3−5−12", "本町3-5-12"),
        ("本町3‐5‐12", "本町3-5-12"),
        ("本町3ー5ー12", "本町3-5-12"),
        ("本町3─5─12", "本町3-5-12"),
        ("本町3〜5〜12", "本町3-5-12"),
        ("本町3 - 5 - 12", "本町3-5-12"),
        # A long vowel mark in a building name is not a dash.
        ("本町3-5-12 コーポ本町", "本町3-5-12 コーポ本町"),
        # Town names that begin with kanji numerals stay as they are.
        ("三番町5番地", "三番町5番地"),
        ("一番町一丁目2番", "一番町1丁目2番"),
    ],
)
def test_normalize_address(text, expected):
    assert japanese.normalize_address(text) == expected


@pytest.mark.parametrize(
    ("text", "town", "chome", "banchi", "go", "building"),
    [
        ("本町3丁目5番12号 メゾン本町201", "本町", 3, "5", "12", "メゾン本町201"),
        ("本町三丁目5-12", "本町", 3, "5", "12", ""),
        ("本町3-5-12", "本町", 3, "5", "12", ""),
        ("本町３－５－１２　ﾒｿﾞﾝ本町２０１", "本町", 3, "5", "12", "メゾン本町201"),
        ("本町3丁目5番12号メゾン本町201号室", "本町", 3, "5", "12", "メゾン本町201号室"),
        ("本町3-5-12-201", "本町", 3, "5", "12", "201"),
        ("本町3丁目5番地", "本町", 3, "5", None, ""),
        ("本町5-12", "本町", None, "5", "12", ""),
        ("本町5番12号", "本町", None, "5", "12", ""),
        ("本町123番地の4", "本町", None, "123", "4", ""),
        ("本町123番地", "本町", None, "123", None, ""),
        ("本町 3丁目 5-12", "本町", 3, "5", "12", ""),
        ("北1条西2丁目3番", "北1条西", 2, "3", None, ""),
        ("三番町5番地 三番町ハイツ", "三番町", None, "5", None, "三番町ハイツ"),
    ],
)
def test_parse_address(text, town, chome, banchi, go, building):
    assert japanese.parse_address(text) == {
        "town": town,
        "chome": chome,
        "banchi": banchi,
        "go": go,
        "building": building,
    }


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("3-5-12", "no town name"),
        ("", "no town name"),
        ("本町", "no block or lot number"),
        ("本町3丁目", "no block or lot number"),
        ("本町 メゾン本町", "no block or lot number"),
    ],
)
def test_parse_address_without_town_or_banchi_is_refused_in_both_languages(text, english):
    with pytest.raises(ValueError) as excinfo:
        japanese.parse_address(text)
    with translation.override("en"):
        assert english in str(excinfo.value)
    with translation.override("ja"):
        assert "住所に" in str(excinfo.value) and english not in str(excinfo.value)


def test_control_characters_are_dropped_so_the_database_never_sees_a_nul():
    from cityhall.japanese import normalize_text, search_key

    assert normalize_text("住民\x00票\x1f") == "住民票"
    assert search_key("\x00じゅうみん") == search_key("じゅうみん")
