"""A worker subsets the fonts that print only public text (the Gothic of the issue
number, footer and verification block; the bold title) once and reuses the subset, and no
certificate's fonts carry glyphs of another resident's personal data."""

from __future__ import annotations

import io

import pytest
from factories_procedures import approved_application, make_resident, pdf_text
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from factories import UserFactory
from procedures.certificates import fontsubset, issuing, storage

ANSWERS = {"purpose": "勤務先に提出", "include": ["relationship"]}
# Fixed codes: the third uses only letters and digits of the first, the second others.
CODES = ["2345-6789-ABCD-EFGH", "JKMN-PQRS-TUVW-XYZ2", "HGFE-DCBA-9876-5432"]


def _font_programs(certificate) -> dict[str, bytes]:
    page = PdfReader(io.BytesIO(storage.read(certificate))).pages[0]
    fonts = page["/Resources"]["/Font"]
    programs = {}
    for key in fonts:
        font = fonts[key].get_object()
        name = str(font["/BaseFont"]).split("+", 1)[1]
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        programs[name] = descriptor["/FontFile2"].get_object().get_data()
    return programs


def _characters(program: bytes) -> set[str]:
    return {chr(code) for code in TTFont(io.BytesIO(program)).getBestCmap()}


def _glyphs_all_public(program: bytes, public: frozenset[str]) -> bool:
    """Every glyph the font program maps a character to is the glyph of a public character
    (a cmap also lists look-alike code points of a kept glyph, e.g. U+2010 for "-")."""
    cmap = TTFont(io.BytesIO(program)).getBestCmap()
    public_glyphs = {cmap[ord(c)] for c in public if ord(c) in cmap}
    return set(cmap.values()) <= public_glyphs


@pytest.fixture
def certificates(resident, other_resident, residence_procedure, clerk, monkeypatch):
    third = make_resident(
        user=UserFactory(role="resident"),
        family_name="鈴木",
        given_name="葵",
        family_name_kana="スズキ",
        given_name_kana="アオイ",
    )
    codes = iter(CODES)
    monkeypatch.setattr(issuing, "new_verification_code", lambda: next(codes))
    issued = []
    for person in (resident, other_resident, third):
        application = approved_application(
            person, residence_procedure, clerk, ANSWERS | {"members": [str(person.pk)]}
        )
        issued.append(issuing.issue_certificate(application_id=application.pk))
    return issued


def test_the_public_fonts_subset_is_reused_by_the_next_certificate(certificates):
    _, second, third = certificates
    second_fonts, third_fonts = _font_programs(second), _font_programs(third)
    # The third certificate's code and number are drawn with glyphs the worker's Gothic subset
    # already held after the second: the same font program, not a new subset.
    assert third_fonts["Cert-Gothic"] == second_fonts["Cert-Gothic"]
    assert third_fonts["Cert-Mincho-Bold"] == second_fonts["Cert-Mincho-Bold"]
    # ... and it holds every character the third certificate prints in it.
    gothic = _characters(third_fonts["Cert-Gothic"])
    assert set(third.verification_code) <= gothic
    assert set(third.issue_number) <= gothic
    assert "照合番号" in pdf_text(third) and third.verification_code in pdf_text(third)


def test_no_font_carries_another_residents_glyphs(certificates, resident, other_resident):
    first, second, third = certificates
    public = fontsubset.public_characters()
    for certificate, others in ((first, (other_resident,)), (third, (resident, other_resident))):
        text = pdf_text(certificate)
        programs = _font_programs(certificate)
        names = "".join(f"{o.family_name}{o.given_name}{o.family_name_kana}" for o in others)
        foreign = set(names) - set(text)
        assert foreign, "the residents' names differ in some character"
        for name, program in programs.items():
            characters = _characters(program)
            assert not (characters & foreign), (name, characters & foreign)
        # The reused fonts hold public characters only.
        assert _glyphs_all_public(programs["Cert-Gothic"], public)
        assert _glyphs_all_public(programs["Cert-Mincho-Bold"], public)
    # The body Mincho is the certificate's own subset: its name is in it.
    assert {"鈴", "木", "葵"} <= _characters(_font_programs(third)["Cert-Mincho"])
