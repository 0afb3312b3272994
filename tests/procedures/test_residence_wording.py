"""The 住民票の写し says whose records it copies (世帯全員 / 世帯の一部 / 個人), as
chosen, and prints the address with the prefecture and the city."""

import pytest
from factories_procedures import make_resident
from test_certificates import approved, pdf_text

from procedures.certificates import issuing
from procedures.certificates.kinds import residence_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(household, resident):
    return make_resident(
        household=household,
        given_name="一郎",
        given_name_kana="イチロウ",
        relationship="長男",
        birth_date=resident.birth_date.replace(year=2012),
    )


def _issued_text(resident, procedure, clerk, members) -> str:
    application = approved(
        resident,
        procedure,
        clerk,
        {"purpose": "勤務先に提出", "members": [str(m.pk) for m in members]},
    )
    return pdf_text(issuing.issue_certificate(application_id=application.pk))


def _statement(text: str) -> str:
    start = text.index("この写しは")
    return text[start : text.index("証明する", start)]


def test_every_member_chosen_reads_whole_household(
    resident, spouse, child, residence_procedure, clerk
):
    text = _issued_text(resident, residence_procedure, clerk, [resident, spouse, child])
    assert "世帯全員" in _statement(text)
    assert "花子" in text and "一郎" in text


def test_some_members_chosen_reads_part_of_household(
    resident, spouse, child, residence_procedure, clerk
):
    text = _issued_text(resident, residence_procedure, clerk, [resident, spouse])
    statement = _statement(text)
    assert "世帯の一部" in statement and "世帯全員" not in statement
    assert "花子" in text and "一郎" not in text


def test_one_member_of_several_reads_individual(resident, spouse, residence_procedure, clerk):
    text = _issued_text(resident, residence_procedure, clerk, [spouse])
    statement = _statement(text)
    assert "個人" in statement and "世帯" not in statement
    # Only 花子's own record is copied; 太郎 appears once, as the head of household.
    assert "花子" in text and text.count("山田 太郎") == 1


def test_the_only_member_of_a_household_reads_whole_household(resident, residence_procedure, clerk):
    text = _issued_text(resident, residence_procedure, clerk, [resident])
    assert "世帯全員" in _statement(text)


def test_address_carries_prefecture_and_city(resident, residence_procedure, clerk, settings):
    settings.PREFECTURE = "東京都"
    settings.CITY_NAME = "まちば市"
    text = _issued_text(resident, residence_procedure, clerk, [resident])
    assert f"東京都まちば市{resident.household.address.label}" in text.replace(" ", "")


@pytest.mark.parametrize(
    ("printed", "household_size", "scope"),
    [(3, 3, "世帯全員"), (1, 1, "世帯全員"), (2, 3, "世帯の一部"), (1, 3, "個人")],
)
def test_scope_follows_the_choice(printed, household_size, scope):
    assert residence_scope(printed=printed, household_size=household_size) == scope
