from factories_procedures import make_procedure


def test_search_finds_by_japanese_keyword_in_any_width_or_kana(client, db):
    make_procedure(slug="juminhyo", name_ja="住民票の写しの交付請求")
    make_procedure(slug="sodai", name_ja="粗大ゴミ収集申込", life_events=["housing"])
    for query in ("住民票", "交付請求"):
        page = client.get("/procedures/", {"q": query}).content.decode()
        assert "住民票の写しの交付請求" in page and "粗大ゴミ収集申込" not in page
    for query in ("ごみ", "ｺﾞﾐ", "ゴミ"):
        page = client.get("/procedures/", {"q": query}).content.decode()
        assert "粗大ゴミ収集申込" in page and "住民票の写しの交付請求" not in page


def test_life_event_page_lists_every_procedure_of_the_event(client, db):
    make_procedure(slug="tennyu", name_ja="転入届", life_events=["moving"])
    make_procedure(slug="shussei", name_ja="出生届", life_events=["birth", "child_care"])
    page = client.get("/procedures/life/moving/").content.decode()
    assert "転入届" in page and "出生届" not in page
    assert client.get("/procedures/life/nonsense/").status_code == 404


def test_resident_starts_from_the_procedure_page_with_prefilled_form(
    client, resident, residence_procedure
):
    client.force_login(resident.user)
    response = client.post("/procedures/juminhyo/apply/")
    assert response.status_code == 302
    form_page = client.get(response["Location"]).content.decode()
    assert 'value="山田 太郎"' in form_page
    submitted = client.post(
        response["Location"],
        {
            "name": "山田 太郎",
            "address": resident.household.address.label,
            "members": [str(resident.pk)],
            "purpose": "",
            "submit": "1",
        },
    )
    assert submitted.status_code == 400
    assert "「使いみち」を入力してください" in submitted.content.decode()
    assert 'class="error-summary"' in submitted.content.decode()
