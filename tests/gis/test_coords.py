from __future__ import annotations

import pytest

from gis import coords


@pytest.mark.parametrize(
    "code",
    [
        "011002",  # 札幌市
        "131016",  # 千代田区
        "271004",  # 大阪市
        "472018",  # 那覇市
    ],
)
def test_known_local_government_codes_are_valid(code):
    assert coords.is_valid_local_gov_code(code)
    assert coords.local_gov_check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize(
    ("code5", "check"),
    [
        ("00000", 1),  # Σ mod 11 = 0: 11 − 0 = 11, which wraps to 1
        ("20000", 0),  # Σ = 12, mod 11 = 1: 11 − 1 = 10, which wraps to 0
        ("00003", 5),  # Σ = 3 × 2 = 6: 11 − 6
    ],
)
def test_check_digit_follows_the_weights_and_wraps_around(code5, check):
    assert coords.local_gov_check_digit(code5) == check


@pytest.mark.parametrize(
    "code",
    ["131017", "131026", "311002", "13101", "1310166", "13101６", "13101-6", ""],
)
def test_wrong_or_malformed_codes_are_rejected(code):
    assert not coords.is_valid_local_gov_code(code)


@pytest.mark.parametrize("code5", ["1310", "131016", "1310a", "１３１０１"])
def test_check_digit_requires_five_ascii_digits(code5):
    with pytest.raises(ValueError):
        coords.local_gov_check_digit(code5)


def test_reference_systems_match_formats():
    assert coords.JGD2011_GEOGRAPHIC == 6668
    assert coords.WEB_MERCATOR == 3857
    # Zones I–XIX of the plane rectangular system.
    assert len(coords.PLANE_RECTANGULAR_SRIDS) == 19
    assert coords.PLANE_RECTANGULAR_SRIDS[0] == 6669
    assert coords.PLANE_RECTANGULAR_SRIDS[-1] == 6687
