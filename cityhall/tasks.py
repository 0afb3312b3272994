"""Shared Celery tasks."""

from celery import shared_task


@shared_task(name="cityhall.ping")
def ping(value: str = "pong") -> dict:
    """Round-trip check: returns what it was given and which worker ran it."""
    import socket

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    return {"echo": value, "host": socket.gethostname(), "database": database}


@shared_task(
    name="cityhall.deliver_notification",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def deliver_notification(notification_id: int) -> bool:
    from .notifications import deliver

    return deliver(notification_id)
