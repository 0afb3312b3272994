"""procedures.services is a package with one module per concern; every public name the single
module had is still importable from procedures.services, and is the concern module's own."""

from __future__ import annotations

import importlib

import procedures.services as services

CONCERNS = {
    "catalogue": [
        "refresh_search_text",
        "save_procedure",
        "save_draft_form",
        "publish_form",
        "cancel_schedule",
        "publish_due_forms",
        "save_procedure_settings",
        "set_identity_level",
        "MSG_NOT_PUBLISHER",
        "MSG_PUBLISHED",
    ],
    "filing": [
        "start_application",
        "save_draft",
        "save_draft_with_files",
        "check_answers",
        "signing_payload",
        "needs_signature",
        "prepare_for_signing",
        "submit_application",
        "withdraw",
    ],
    "casework": [
        "confirm_at_counter",
        "fee_settled",
        "prints_mynumber",
        "mynumber_approval_problem",
        "decide",
        "assign",
    ],
    "certificates": [
        "complete_with_certificate",
        "read_certificate",
        "register_seal",
        "OWN_DOWNLOAD_PURPOSE",
    ],
    "attachments": [
        "add_attachment",
        "remove_attachment",
        "MAX_ATTACHMENT_BYTES",
        "MAX_ATTACHMENTS_PER_APPLICATION",
    ],
    "mynumbers": ["sealed_mynumbers", "reseal_application_mynumbers"],
    "common": ["MSG_NOT_YOURS", "MSG_NOT_STAFF", "MANAGE_FORMS", "MANAGE_PROCEDURES", "WORK_CASES"],
}


def test_each_concern_is_its_own_module_and_the_names_are_reexported():
    for module_name, names in CONCERNS.items():
        module = importlib.import_module(f"procedures.services.{module_name}")
        for name in names:
            assert getattr(services, name) is getattr(module, name), (module_name, name)
            assert name in services.__all__


def test_the_state_changes_in_one_place():
    # _move is the only writer of an application's state: the concern modules share common's.
    common = importlib.import_module("procedures.services.common")
    for module_name in ("filing", "casework", "certificates"):
        module = importlib.import_module(f"procedures.services.{module_name}")
        assert module._move is common._move, module_name


def test_the_key_rotation_still_reseals_applications():
    from residents.services import KEY_ROTATION_HOOKS

    assert services.reseal_application_mynumbers in KEY_ROTATION_HOOKS
