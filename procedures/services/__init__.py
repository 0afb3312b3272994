"""Every change of state in procedures: one function per use case, each in one transaction.

One module per concern, with the same public names here:

- ``catalogue``: procedures and their form versions, publishing by a second person (now or on a
  date) and a procedure's settings;
- ``filing``: an application from draft to submission (answers, signature, fee) or withdrawal;
- ``casework``: the clerks' confirmation, decisions and assignment, and the fee settled;
- ``certificates``: completing with an issued certificate, reading it (audited), 印鑑登録;
- ``attachments``: files attached to an application;
- ``mynumbers``: the My Numbers typed into applications, sealed and re-sealed on key rotation;
- ``common``: the messages, the permission names, the application lock and ``_move``, the one
  place an application's state changes (``procedures.workflow`` holds the table).

Every staff-facing service names the permission it needs (``procedures.change_application``,
``procedures.change_formdefinition``, ``procedures.change_procedure``) and ``None`` is refused.
"""

from .attachments import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_APPLICATION,
    MSG_TOO_BIG,
    MSG_TOO_MANY,
    MSG_UNKNOWN_FILE_FIELD,
    add_attachment,
    remove_attachment,
)
from .casework import (
    MSG_MYNUMBER_FOUR_EYES,
    MSG_MYNUMBER_NEEDS_REVEALER,
    assign,
    confirm_at_counter,
    decide,
    fee_settled,
    mynumber_approval_problem,
    prints_mynumber,
)
from .catalogue import (
    MSG_BLOCKED,
    MSG_DATE_PAST,
    MSG_FOUR_EYES,
    MSG_NOT_ADMIN,
    MSG_NOT_PUBLISHER,
    MSG_NOT_SCHEDULED,
    MSG_OLDER_THAN_LIVE,
    MSG_PUBLISHED,
    MSG_STALE,
    cancel_schedule,
    publish_due_forms,
    publish_form,
    refresh_search_text,
    save_draft_form,
    save_procedure,
    save_procedure_settings,
    set_identity_level,
)
from .certificates import (
    MSG_CERTIFICATE_MYNUMBER,
    MSG_CERTIFICATE_NOT_YOURS,
    MSG_PURPOSE_REQUIRED,
    OWN_DOWNLOAD_PURPOSE,
    complete_with_certificate,
    read_certificate,
    register_seal,
)
from .common import (
    MANAGE_FORMS,
    MANAGE_PROCEDURES,
    MSG_NOT_EDITABLE,
    MSG_NOT_STAFF,
    MSG_NOT_YOURS,
    WORK_CASES,
)
from .filing import (
    MSG_COUNTER_ONLY,
    MSG_NO_FORM,
    MSG_NOT_RESIDENT,
    MSG_ONLINE_ONLY,
    check_answers,
    needs_signature,
    prepare_for_signing,
    save_draft,
    save_draft_with_files,
    signing_payload,
    start_application,
    submit_application,
    withdraw,
)
from .mynumbers import (
    reseal_application_mynumbers,
    sealed_mynumbers,
)

__all__ = [
    "MANAGE_FORMS",
    "MANAGE_PROCEDURES",
    "MAX_ATTACHMENTS_PER_APPLICATION",
    "MAX_ATTACHMENT_BYTES",
    "MSG_BLOCKED",
    "MSG_CERTIFICATE_MYNUMBER",
    "MSG_CERTIFICATE_NOT_YOURS",
    "MSG_COUNTER_ONLY",
    "MSG_DATE_PAST",
    "MSG_FOUR_EYES",
    "MSG_MYNUMBER_FOUR_EYES",
    "MSG_MYNUMBER_NEEDS_REVEALER",
    "MSG_NOT_ADMIN",
    "MSG_NOT_EDITABLE",
    "MSG_NOT_PUBLISHER",
    "MSG_NOT_RESIDENT",
    "MSG_NOT_SCHEDULED",
    "MSG_NOT_STAFF",
    "MSG_NOT_YOURS",
    "MSG_NO_FORM",
    "MSG_OLDER_THAN_LIVE",
    "MSG_ONLINE_ONLY",
    "MSG_PUBLISHED",
    "MSG_PURPOSE_REQUIRED",
    "MSG_STALE",
    "MSG_TOO_BIG",
    "MSG_TOO_MANY",
    "MSG_UNKNOWN_FILE_FIELD",
    "OWN_DOWNLOAD_PURPOSE",
    "WORK_CASES",
    "add_attachment",
    "assign",
    "cancel_schedule",
    "check_answers",
    "complete_with_certificate",
    "confirm_at_counter",
    "decide",
    "fee_settled",
    "mynumber_approval_problem",
    "needs_signature",
    "prepare_for_signing",
    "prints_mynumber",
    "publish_due_forms",
    "publish_form",
    "read_certificate",
    "refresh_search_text",
    "register_seal",
    "remove_attachment",
    "reseal_application_mynumbers",
    "save_draft",
    "save_draft_form",
    "save_draft_with_files",
    "save_procedure",
    "save_procedure_settings",
    "sealed_mynumbers",
    "set_identity_level",
    "signing_payload",
    "start_application",
    "submit_application",
    "withdraw",
]
