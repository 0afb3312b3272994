from factories_procedures import make_procedure

from procedures.models import Application


def test_clerk_files_for_a_walk_in_resident_who_confirms_on_the_counter_screen(
    client, clerk, resident, residence_procedure
):
    client.force_login(clerk)
    found = client.get("/staff/counter-filing/", {"query": "ヤマダ"}).content.decode()
    assert "山田 太郎" in found
    started = client.post(
        "/staff/counter-filing/", {"resident": resident.pk, "procedure": "juminhyo"}
    )
    application = Application.objects.get()
    assert started["Location"] == f"/staff/counter-filing/{application.pk}/"
    assert application.filed_by == clerk and application.answers["name"] == "山田 太郎"
    edit = client.post(
        started["Location"],
        {
            "name": "山田 太郎",
            "address": resident.household.address.label,
            "members": [str(resident.pk)],
            "purpose": "年金の手続",
        },
    )
    assert edit["Location"].endswith("/confirm/")
    screen = client.get(edit["Location"]).content.decode()
    assert "年金の手続" in screen and "この内容で申請します" in screen
    client.post(edit["Location"])
    application.refresh_from_db()
    assert application.state == "in_review" and application.counter_confirmed_at is not None
    assert application.events.filter(to_state="submitted", actor=clerk).exists()


def test_residents_cannot_use_the_counter_screen(client, resident_user):
    client.force_login(resident_user)
    assert client.get("/staff/counter-filing/").status_code == 403


def test_counter_filing_preselects_the_resident_from_the_360_view(
    client, clerk, resident, spouse, residence_procedure
):
    client.force_login(clerk)
    page = client.get(f"/staff/counter-filing/?resident={spouse.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'value="{spouse.pk}" checked' in body
    assert f'value="{resident.pk}"' not in body
    assert "該当する住民はいません" not in body
    started = client.post(
        f"/staff/counter-filing/?resident={spouse.pk}",
        {"resident": spouse.pk, "procedure": "juminhyo"},
    )
    application = Application.objects.get()
    assert started["Location"] == f"/staff/counter-filing/{application.pk}/"
    assert application.applicant == spouse and application.filed_by == clerk


def test_a_former_resident_is_not_preselected(client, clerk, resident):
    resident.status = "moved_out"
    resident.is_head = False
    resident.left_on = "2025-01-01"
    resident.save()
    client.force_login(clerk)
    body = client.get(f"/staff/counter-filing/?resident={resident.pk}").content.decode()
    assert f'value="{resident.pk}"' not in body
    assert "現在の住民ではない" in body


def test_counter_certificate_offers_only_certificate_procedures(
    client, clerk, resident, residence_procedure
):
    make_procedure(slug="tennyu", name_ja="転入届", certificate_kind="")
    client.force_login(clerk)
    body = client.get(f"/staff/counter-filing/certificate/{resident.pk}/").content.decode()
    assert f'value="{resident.pk}" checked' in body
    assert 'value="juminhyo"' in body and 'value="tennyu"' not in body
    refused = client.post(
        f"/staff/counter-filing/certificate/{resident.pk}/",
        {"resident": resident.pk, "procedure": "tennyu"},
    )
    assert refused.status_code == 302 and not Application.objects.exists()
    started = client.post(
        f"/staff/counter-filing/certificate/{resident.pk}/",
        {"resident": resident.pk, "procedure": "juminhyo"},
    )
    application = Application.objects.get()
    assert started["Location"] == f"/staff/counter-filing/{application.pk}/"
    assert application.procedure.certificate_kind == "residence"
