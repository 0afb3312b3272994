import pytest
from django.db import connection

from cityhall.tasks import ping


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_real_worker_and_returns(celery_worker_process):
    result = ping.delay("machiba").get(timeout=60)
    assert result["echo"] == "machiba"
    # The worker is a separate process that reached the same (test) database.
    assert result["database"] == connection.settings_dict["NAME"]
    assert celery_worker_process.poll() is None
