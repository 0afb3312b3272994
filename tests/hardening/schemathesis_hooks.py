"""Loaded by the schemathesis CLI (SCHEMATHESIS_HOOKS) that test_api_fuzz.py runs.

The session cookie is the schema's security scheme (cookieAuth), so schemathesis itself sets it,
and removes it where a check asks whether the API still answers without it (ignored_auth).
Django's CSRF check of a signed-in write also needs the csrftoken cookie and the same token in
X-CSRFToken; neither is a credential, so they go on every request here.
"""

from __future__ import annotations

import os

import schemathesis


@schemathesis.hook
def before_call(context, case, **kwargs):
    token = os.environ["MACHIBA_FUZZ_CSRF"]
    case.cookies = {**(case.cookies or {}), "csrftoken": token}
    case.headers = {**(case.headers or {}), "X-CSRFToken": token}
