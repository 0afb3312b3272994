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
