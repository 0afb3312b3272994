"""facilities.api is a package with one module per audience (public, availability, a user's own,
staff); the routes and the availability fast path still reach the same views."""

from __future__ import annotations

import importlib

from django.urls import resolve, reverse

import facilities.api as api

AUDIENCES = {
    "public": ["facility_list", "facility_detail", "round_list", "round_detail"],
    "availability": ["availability", "AvailabilityUnitSerializer"],
    "mine": [
        "my_registrations",
        "my_bookings",
        "my_booking",
        "my_booking_action",
        "my_entries",
        "enter",
        "my_series",
        "BOOKING_ACTIONS",
    ],
    "staff": [
        "staff_week",
        "staff_decide",
        "staff_block",
        "staff_booking_action",
        "staff_round",
        "staff_round_action",
        "staff_usage",
        "staff_registrations",
        "staff_checkin",
        "staff_refunds",
        "staff_refund_action",
        "STAFF_BOOKING_ACTIONS",
    ],
    "common": ["MAX_DAYS"],
}


def test_each_audience_is_its_own_module_and_the_names_are_reexported():
    for module_name, names in AUDIENCES.items():
        module = importlib.import_module(f"facilities.api.{module_name}")
        for name in names:
            assert getattr(api, name) is getattr(module, name), (module_name, name)
            assert name in api.__all__


def test_the_availability_fast_path_is_routed_ahead_to_the_same_view():
    match = resolve(reverse("facilities_api_availability"))
    assert match.func is api.availability
    # The routed function carries the DRF view's class, so the schema still describes it.
    assert (
        api.availability.cls
        is importlib.import_module("facilities.api.availability")._availability_api.cls
    )


def test_the_staff_action_urls_run_their_service_through_one_helper():
    # Unknown action 404, refusal 403/409, the row answered as it is after: common._act, once.
    import ast
    import inspect

    staff = importlib.import_module("facilities.api.staff")
    tree = ast.parse(inspect.getsource(staff))
    actions = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_action")
    ]
    assert {node.name for node in actions} == {
        "staff_booking_action",
        "staff_round_action",
        "staff_refund_action",
    }
    for node in actions:
        called = {
            call.func.id
            for call in ast.walk(node)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
        }
        assert "_act" in called, node.name
        assert not any(isinstance(inner, ast.Try) for inner in ast.walk(node)), node.name
