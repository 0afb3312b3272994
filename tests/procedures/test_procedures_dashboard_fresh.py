"""The procedures panel on /my/ is cached in Redis and never stale after a new case
or a clerk's decision (cityhall.dashboard keys it on the rows it shows)."""

import re

from procedures import services


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_procedures_panel_follows_a_new_case_and_a_decision_at_once(
    client, resident, residence_procedure, clerk
):
    client.force_login(resident.user)
    before = _my(client)
    assert "申請中の手続きはありません" in before
    assert _my(client) == before  # served from the cache
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application, actor=resident.user, answers={"purpose": "勤務先"}
    )
    filed = _my(client)
    assert application.reference in filed and "市役所で審査しています" in filed
    services.decide(
        application=application, target="correction_requested", clerk=clerk, comment="具体的に"
    )
    assert "補正を求められています" in _my(client)
