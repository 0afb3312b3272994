import pytest
from factories_residents import family


@pytest.fixture
def yamada_family(db):
    return family()
