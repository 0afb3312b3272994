import pytest
from factories_procedures import make_household, make_procedure, make_resident


@pytest.fixture
def household(db):
    return make_household()


@pytest.fixture
def resident(db, resident_user, household):
    return make_resident(household=household, user=resident_user)


@pytest.fixture
def spouse(db, household, resident):
    return make_resident(
        household=household,
        given_name="花子",
        given_name_kana="ハナコ",
        sex="female",
        relationship="妻",
    )


@pytest.fixture
def other_resident(db, other_resident_user):
    return make_resident(user=other_resident_user, family_name="佐藤", family_name_kana="サトウ")


@pytest.fixture
def residence_procedure(db):
    return make_procedure(slug="juminhyo", certificate_kind="residence")


@pytest.fixture
def publisher(db):
    """A second admin (admin group, not a superuser): publishes what another admin saved."""
    from allauth.mfa.totp.internal.auth import TOTP

    from factories import TOTP_SECRET, UserFactory

    user = UserFactory(role="admin")
    TOTP.activate(user, TOTP_SECRET)
    return user
