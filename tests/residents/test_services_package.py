"""residents.services is a package with one module per concern; every public name is still
importable from residents.services, and the geocoder's SQL lives in its own module."""

from __future__ import annotations

import importlib
import inspect

import residents.services as services

CONCERNS = {
    "movements": [
        "register_move_in",
        "register_birth",
        "register_move_out",
        "register_death",
        "register_relocation",
        "change_head_of_household",
        "correct_record",
    ],
    "mynumbers": [
        "decrypt_mynumber",
        "mask_of",
        "reveal_mynumber",
        "mynumber_for_certificate",
        "seal",
        "unseal",
        "sealed_under_current_key",
        "register_key_rotation",
        "rotate_mynumber_keys",
    ],
    "access": ["record_resident_view", "record_search"],
    "linking": [
        "issue_activation_code",
        "link_account",
        "link_account_by_card",
        "link_failures",
        "link_is_locked",
    ],
    "addresses": ["address_from_text"],
    "geocoding": ["set_address_location", "bulk_set_address_locations"],
}


def test_each_concern_is_its_own_module_and_the_names_are_reexported():
    for module_name, names in CONCERNS.items():
        module = importlib.import_module(f"residents.services.{module_name}")
        for name in names:
            assert getattr(services, name) is getattr(module, name), (module_name, name)
            assert name in services.__all__


def test_raw_address_sql_is_only_in_the_geocoding_module():
    for module_name in CONCERNS:
        source = inspect.getsource(importlib.import_module(f"residents.services.{module_name}"))
        assert ("execute_values" in source) == (module_name == "geocoding"), module_name
        assert ("UPDATE residents_address" in source) == (module_name == "geocoding"), module_name
