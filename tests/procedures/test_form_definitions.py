import copy
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from factories_procedures import RESIDENCE_FORM, make_procedure

from procedures import formschema, services
from procedures.models import FormDefinition


def with_field(**changes):
    definition = copy.deepcopy(RESIDENCE_FORM)
    definition["fields"][0].update(changes)
    return definition


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        ({"field": []}, "「fields」（質問の一覧）か「pages」（ページの一覧）"),
        (with_field(type="textbox"), "1番目の質問（ID: name）: 種類「textbox」は使えません。"),
        (with_field(max_length="forty"), "1番目の質問（ID: name）: 最大文字数は整数で"),
        (with_field(label={"en": "Name"}), "1番目の質問（ID: name）: 日本語がありません"),
        (with_field(id="Name!"), "ID「Name!」は、英小文字で始まる"),
        (
            with_field(prefill="shoe_size"),
            "「氏名」: 住民記録の「shoe_size」という項目はありません",
        ),
        (with_field(id="purpose"), "質問のID「purpose」が二つあります（1番目と5番目）"),
        (with_field(min_value=3), "「氏名」: 値の範囲と通数は、数の質問だけに設定できます"),
        (with_field(pattern="("), "「氏名」: 入力の形（正規表現）が読めません"),
        (with_field(type="mynumber", prefill=None), "1番目の質問（ID: name）"),
    ],
)
def test_invalid_definition_is_rejected_in_words_naming_the_question(definition, words):
    problems = formschema.definition_problems(definition)
    assert problems, "the definition should be invalid"
    assert any(words in p for p in problems), problems
    assert not any("$." in p for p in problems), problems


def test_a_deleted_question_in_a_condition_is_stored_but_blocks_publishing():
    definition = with_field(show_if={"field": "nowhere", "equals": "x"})
    assert formschema.definition_problems(definition) == []
    codes = [p.code for p in formschema.publish_problems(definition)]
    assert codes == ["condition_deleted"]


def test_the_seeded_style_definition_is_valid():
    assert formschema.definition_problems(RESIDENCE_FORM) == []


def test_saving_an_invalid_draft_names_the_question(db, admin_user):
    procedure = make_procedure()
    with pytest.raises(ValidationError) as exc:
        services.save_draft_form(
            procedure=procedure, definition=with_field(type="colour"), actor=admin_user
        )
    assert any("種類「colour」は使えません" in m for m in exc.value.message_dict["definition"])
    assert procedure.forms.count() == 1


def test_a_clerk_cannot_save_a_form(db, clerk):
    procedure = make_procedure()
    with pytest.raises(Exception, match="管理者"):
        services.save_draft_form(procedure=procedure, definition=RESIDENCE_FORM, actor=clerk)


def test_every_save_is_a_new_version_and_a_saved_version_never_changes(db, admin_user):
    procedure = make_procedure()
    v2 = services.save_draft_form(
        procedure=procedure, definition=with_field(max_length=20), actor=admin_user
    )
    v3 = services.save_draft_form(
        procedure=procedure, definition=with_field(max_length=10), actor=admin_user
    )
    assert [v2.version, v3.version] == [2, 3]
    with pytest.raises(DatabaseError, match="saved and cannot be changed"), transaction.atomic():
        FormDefinition.objects.filter(pk=v2.pk).update(definition=RESIDENCE_FORM)
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        FormDefinition.objects.filter(pk=v2.pk).delete()
    v2.refresh_from_db()
    assert v2.definition["fields"][0]["max_length"] == 20


def test_a_save_based_on_an_older_version_is_refused(db, admin_user, publisher):
    procedure = make_procedure()
    services.save_draft_form(
        procedure=procedure, definition=with_field(max_length=20), actor=publisher, base_version=1
    )
    with pytest.raises(ValidationError, match="別の人が保存しました（第2版）"):
        services.save_draft_form(
            procedure=procedure,
            definition=with_field(max_length=10),
            actor=admin_user,
            base_version=1,
        )
    assert procedure.forms.count() == 2


def test_published_version_cannot_be_edited_in_the_database(db):
    procedure = make_procedure()
    with pytest.raises(DatabaseError, match="published"), transaction.atomic():
        FormDefinition.objects.filter(procedure=procedure).update(definition={"fields": []})
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        FormDefinition.objects.filter(procedure=procedure).delete()
    assert FormDefinition.objects.get(procedure=procedure).definition == RESIDENCE_FORM


def test_new_draft_then_publish_keeps_old_applications_on_their_version(
    db, admin_user, publisher, resident
):
    procedure = make_procedure()
    v1 = procedure.forms.get()
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    draft = services.save_draft_form(
        procedure=procedure, definition=with_field(max_length=20), actor=admin_user
    )
    assert draft.version == 2
    services.publish_form(form=draft, actor=publisher)
    application.refresh_from_db()
    assert application.form_id == v1.pk
    newer = services.start_application(procedure=procedure, resident=resident, user=resident.user)
    assert newer.form.version == 2


def test_json_import_names_the_problem_in_words(client, admin_user):
    procedure = make_procedure()
    client.force_login(admin_user)
    bad = json.dumps(with_field(type="textbox"))
    response = client.post(
        f"/staff/admin/procedures/{procedure.slug}/draft/", {"definition": bad, "base": "1"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "1番目の質問（ID: name）: 種類「textbox」は使えません。" in page
    assert "$.fields" not in page
    assert procedure.forms.count() == 1


def test_json_import_saves_a_version_a_second_admin_previews_and_publishes(
    client, admin_user, publisher
):
    procedure = make_procedure()
    client.force_login(admin_user)
    good = json.dumps(with_field(max_length=12), ensure_ascii=False)
    response = client.post(
        f"/staff/admin/procedures/{procedure.slug}/draft/", {"definition": good, "base": "1"}
    )
    assert response.status_code == 302
    draft = procedure.forms.get(version=2)
    frame = client.get(f"/staff/admin/forms/{draft.pk}/preview/frame/?start=1")
    assert "使いみち" in frame.content.decode()
    refused = client.post(f"/staff/admin/forms/{draft.pk}/publish/", {"when": "now"})
    assert refused.status_code == 403  # a superuser holds the permission but saved it: four eyes
    draft.refresh_from_db()
    assert draft.published_at is None
    client.force_login(publisher)
    client.post(f"/staff/admin/forms/{draft.pk}/publish/", {"when": "now"})
    draft.refresh_from_db()
    assert draft.published_at is not None
    assert draft.approved_by == publisher


def test_a_clerk_cannot_open_the_form_admin(client, clerk):
    client.force_login(clerk)
    assert client.get("/staff/admin/procedures/").status_code == 403
