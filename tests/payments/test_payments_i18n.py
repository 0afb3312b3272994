"""Messages of payments speak one language at a time: no "日本語 / English" string in
its code, every message in the English catalogue, and an error about money in English on an English
page."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from factories_payments import make_charge, make_resident

from payments import services

PAYMENTS = Path(__file__).resolve().parents[2] / "payments"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# Japanese text (or its closing punctuation), then " / " and English: "金額です。 / Amount".
MIXED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff。、）」][^/\n]{0,3}\s/\s+[A-Za-z]")


def _python_files():
    for path in sorted(PAYMENTS.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def test_no_message_in_payments_mixes_japanese_and_english():
    mixed = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and JAPANESE.search(node.value)
                and MIXED.search(node.value)
            ):
                mixed.append(f"{path.relative_to(PAYMENTS)}:{node.lineno}: {node.value[:60]}")
    assert not mixed, "\n".join(mixed)


def test_every_message_of_payments_has_its_english():
    catalogue = (PAYMENTS / "locale/en/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in catalogue
    entries = catalogue.split("\n\n")[1:]
    untranslated = [e for e in entries if e.rstrip().endswith('msgstr ""')]
    assert not untranslated, untranslated[:3]


@pytest.mark.django_db
def test_a_money_error_reaches_an_english_page_in_english(client, clerk):
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 5_000)])
    payment = services.record_counter_payment(payer=payer, amount=8_000, clerk=clerk)
    client.force_login(clerk)
    client.cookies["django_language"] = "en"
    url = reverse("payments:staff_refund_credit", args=[payment.credit.pk])
    page = client.post(url, {"amount": "9000", "reason": "x", "step": "review"})
    body = page.content.decode()
    assert "At most 3,000 yen can be refunded." in body
    assert "還付できるのは" not in body
