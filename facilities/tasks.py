"""Celery tasks of facilities: thin, idempotent, take ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="facilities.run_draw",
    bind=True,
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1860,
)
def run_draw(self, round_id: int) -> str:
    """The lottery draw of one round. Running it twice draws once: the round's state says
    whether it is still to be done, and the results are written in one transaction."""
    from .models import LotteryRound
    from .services import lottery

    try:
        return lottery.run_draw(round_id).state
    except Exception as error:
        LotteryRound.objects.filter(pk=round_id, state="drawing").update(
            draw_error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise


@shared_task(name="facilities.expire_holds", acks_late=True)
def expire_holds() -> int:
    from .services import bookings

    return bookings.expire_holds()


@shared_task(name="facilities.lapse_unpaid", acks_late=True)
def lapse_unpaid() -> int:
    from .services import bookings

    return bookings.lapse_unpaid()


@shared_task(name="facilities.advance_rounds", acks_late=True)
def advance_rounds() -> list[str]:
    from .services import lottery

    return lottery.advance_rounds()


@shared_task(name="facilities.expire_registrations", acks_late=True)
def expire_registrations() -> int:
    from .services import registrations

    return registrations.expire_registrations()
