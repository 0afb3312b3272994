"""The sandbox card provider: a stand-in for a payment service, inside Machiba, so the whole
online flow (checkout, signed webhook, confirmation, refund) runs on a laptop. No money moves.

A separate app, installed only in development (DEBUG) or when ``MACHIBA_PAYMENT_PROVIDERS``
names ``sandbox`` explicitly; ``manage.py check --deploy`` warns then. It stands above payments
and reaches it only through payments' public services (``payments.online``).
"""
