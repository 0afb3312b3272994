import pytest
from stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStub


@pytest.fixture
def stripe_stub(settings):
    """A local Stripe API on a real port, and the settings that make "stripe" the provider."""
    stub = StripeStub().start()
    settings.PAYMENTS_PROVIDERS = ["stripe"]
    settings.PAYMENTS_STRIPE_SECRET_KEY = SECRET_KEY
    settings.PAYMENTS_STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    settings.PAYMENTS_STRIPE_API_BASE = stub.url
    settings.PAYMENTS_STRIPE_CHECKOUT_ORIGIN = stub.url
    yield stub
    stub.stop()
