import pytest
from factories_counter import CounterFactory, ServiceFactory


@pytest.fixture
def service_a(db):
    return ServiceFactory(code="A", name_ja="住民票・証明書", name_en="Certificates")


@pytest.fixture
def desk(db, service_a):
    return CounterFactory(number=1, services=[service_a])


@pytest.fixture(autouse=True)
def fresh_congestion_summary():
    """The /my/ congestion summary is cached for a few seconds; each test computes its own."""
    from django.core.cache import cache

    cache.delete("counter:dashboard-summary")
    yield
    cache.delete("counter:dashboard-summary")
