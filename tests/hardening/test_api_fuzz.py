"""schemathesis 4 against /api/schema/ in every phase, as a resident, a clerk and a supervisor,
each signed in (their session cookie is the schema's cookieAuth).

Every check (`--checks all`: server errors, status codes, content types, response schemas and
headers, use after free, resource availability, ignored auth, schema-violating requests accepted,
schema-valid requests rejected, …), none left out, in the examples, coverage, fuzzing and
stateful phases, positive and negative data. Any failure fails the test, with schemathesis's own
report. Bounded so the suite stays quick: a few examples per operation and a fixed seed, so a
run is reproducible.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from factories_payments import make_charge, make_resident
from factories_procedures import make_procedure

from factories import TOTP_SECRET, UserFactory

EXAMPLES_PER_OPERATION = 3
SEED = 20261129
HERE = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def signed_in(user) -> tuple[str, str]:
    client = Client()
    client.force_login(user)
    client.get("/")  # sets the CSRF cookie
    csrftoken = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else "x" * 32
    return client.cookies["sessionid"].value, csrftoken


def run_schemathesis(base_url: str, user, tmp_path: Path) -> subprocess.CompletedProcess:
    session, csrftoken = signed_in(user)
    config = tmp_path / "schemathesis.toml"
    # Unknown query parameters are ignored, as by most HTTP APIs (a cache buster, a tracking
    # tag); the schema lists the ones the API reads. Without this schemathesis would expect a
    # 400 for any extra parameter, a rule the API does not claim.
    config.write_text(
        f'[auth.openapi.cookieAuth]\napi_key = "{session}"\n'
        "[generation]\nallow-extra-parameters = false\n"
    )
    env = {
        **os.environ,
        "MACHIBA_FUZZ_CSRF": csrftoken,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/schema/",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--workers",
        "1",
        # Generous: a request stuck behind the machine's load is not a contract failure
        # (speed is measured by bench/, not here).
        "--request-timeout",
        "60",
        "--no-color",
    ]
    return subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1400
    )


def a_resident_with_something_to_see(user) -> None:
    """A linked record, a charge and a draft, so the resident's operations answer 200 too."""
    resident = make_resident(user=user)
    make_charge(resident, parts=((date(2025, 6, 30), 10_000),))
    make_procedure(slug="inu", name_ja="犬の登録")


# About five minutes a role on a busy two-core machine: above the suite's 300 s default.
@pytest.mark.timeout(1500)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["resident", "clerk", "supervisor"])
def test_api_keeps_to_its_schema_under_every_check(live_server, role, tmp_path):
    user = UserFactory(role=role)
    if role == "resident":
        a_resident_with_something_to_see(user)
    else:
        TOTP.activate(user, TOTP_SECRET)
    result = run_schemathesis(live_server.url, user, tmp_path)
    report = result.stdout + result.stderr
    print(f"schemathesis as {role}:", report[report.find("SUMMARY") :])
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) > 60, report[-4000:]
    assert result.returncode == 0, report[-30000:]
