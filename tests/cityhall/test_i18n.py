import pytest


@pytest.mark.django_db
def test_portal_is_japanese_by_default(client):
    body = client.get("/").content.decode()
    assert 'lang="ja"' in body
    assert "市役所に行かずに、手続きを。" in body


@pytest.mark.django_db
def test_language_switch_shows_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get("/").content.decode()
    assert 'lang="en"' in body
    assert "Do it online, without going to city hall." in body
    assert "市役所に行かずに、手続きを。" not in body
