"""Validating answers against a form version: one message per broken rule, conditions."""

import pytest
from django.utils import translation

from procedures import formschema

DEFINITION = {
    "fields": [
        {
            "id": "name",
            "type": "text",
            "label": {"ja": "氏名", "en": "Name"},
            "required": True,
            "min_length": 2,
            "max_length": 10,
        },
        {
            "id": "postcode",
            "type": "text",
            "label": {"ja": "郵便番号", "en": "Postcode"},
            "pattern": "[0-9]{3}-[0-9]{4}",
        },
        {
            "id": "items",
            "type": "number",
            "label": {"ja": "点数", "en": "Items"},
            "min_value": 1,
            "max_value": 5,
        },
        {"id": "day", "type": "date", "label": {"ja": "希望日", "en": "Day"}},
        {
            "id": "kind",
            "type": "choice",
            "label": {"ja": "種類", "en": "Kind"},
            "choices": [{"value": "a", "label": {"ja": "A"}}, {"value": "b", "label": {"ja": "B"}}],
        },
        {"id": "tel", "type": "phone", "label": {"ja": "電話番号", "en": "Phone"}},
        {"id": "mail", "type": "email", "label": {"ja": "メール", "en": "E-mail"}},
        {"id": "agree", "type": "yes_no", "label": {"ja": "同意", "en": "Consent"}},
        {
            "id": "has_dog",
            "type": "yes_no",
            "label": {"ja": "犬を飼っている", "en": "Has a dog"},
            "required": True,
        },
        {
            "id": "dog_name",
            "type": "text",
            "label": {"ja": "犬の名前", "en": "Dog's name"},
            "required": True,
            "show_if": {"field": "has_dog", "equals": True},
        },
        {
            "id": "number",
            "type": "mynumber",
            "label": {"ja": "個人番号", "en": "My Number"},
            "staff_only": True,
            "required": True,
        },
    ]
}
VALID = {"name": "山田 太郎", "has_dog": "no"}


def errors_for(**answers):
    return formschema.validate_answers(DEFINITION, VALID | answers)[1]


@pytest.mark.parametrize(
    ("answers", "field", "fragment"),
    [
        ({"name": ""}, "name", "「氏名」を入力してください"),
        ({"name": "山"}, "name", "2文字以上"),
        ({"name": "山" * 11}, "name", "10文字以内"),
        ({"postcode": "1000001"}, "postcode", "形式が正しくありません"),
        ({"items": "0"}, "items", "1以上"),
        ({"items": "6"}, "items", "5以下"),
        ({"items": "two"}, "items", "整数"),
        ({"day": "2026-02-30"}, "day", "日付"),
        ({"kind": "z"}, "kind", "選択肢から"),
        ({"tel": "12345"}, "tel", "電話番号"),
        ({"mail": "not-an-address"}, "mail", "name@example.jp"),
        ({"agree": "maybe"}, "agree", "はい"),
    ],
)
def test_each_rule_violation_gets_a_message_on_its_field(answers, field, fragment):
    errors = errors_for(**answers)
    assert list(errors) == [field]
    assert fragment in errors[field][0]


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"name": ""}, "name", "Enter “Name”"),
        ({"name": "山" * 11}, "name", "Enter at most 10 characters for “Name”"),
        ({"items": "6"}, "items", "must be 5 or less"),
    ],
)
def test_messages_are_in_the_readers_language_alone(answers, field, message):
    with translation.override("en"):
        errors = errors_for(**answers)
    assert message in errors[field][0]
    assert not any("\u3040" <= ch <= "\u9fff" for ch in errors[field][0])


def test_valid_answers_are_cleaned():
    cleaned, errors = formschema.validate_answers(
        DEFINITION,
        VALID | {"items": "３", "postcode": "１００-０００１", "agree": "yes", "day": "2026-04-01"},
    )
    assert errors == {}
    assert cleaned["items"] == 3
    assert cleaned["postcode"] == "100-0001"
    assert cleaned["agree"] is True


def test_conditional_field_is_required_only_when_shown():
    assert "dog_name" not in errors_for(has_dog="no")
    assert "dog_name" in errors_for(has_dog="yes")
    assert errors_for(has_dog="yes", dog_name="ポチ") == {}


def test_hidden_field_value_is_dropped():
    cleaned, _ = formschema.validate_answers(DEFINITION, VALID | {"dog_name": "ポチ"})
    assert "dog_name" not in cleaned


def test_staff_only_mynumber_is_not_asked_of_residents_but_checked_for_staff():
    assert "number" not in errors_for()
    staff_errors = formschema.validate_answers(
        DEFINITION, VALID | {"number": "123456789012"}, formschema.Context(staff=True)
    )[1]
    assert "12桁の正しい個人番号" in staff_errors["number"][0]
    ok = formschema.validate_answers(
        DEFINITION, VALID | {"number": "526018159084"}, formschema.Context(staff=True)
    )[1]
    assert ok == {}


def test_fee_adds_the_price_of_each_chosen_item():
    definition = {
        "fields": [
            {
                "id": "items",
                "type": "multi_choice",
                "label": {"ja": "品目"},
                "choices": [
                    {"value": "sofa", "label": {"ja": "ソファ"}, "fee": 800},
                    {"value": "desk", "label": {"ja": "机"}, "fee": 400},
                ],
            }
        ]
    }
    assert formschema.fee_for(definition, {"items": ["sofa", "desk"]}, amount=0) == 1200
    assert formschema.fee_for(definition, {"items": ["desk"]}, amount=100) == 500
