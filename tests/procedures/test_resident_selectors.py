"""procedures.selectors for one resident: what the counter's 360 view and others read."""

from factories_procedures import approved_application as approved
from factories_procedures import make_procedure

from procedures import selectors, services
from procedures.certificates import issuing


def test_applications_for_resident_lists_their_own_and_counter_filed_ones_newest_first(
    resident, other_resident, residence_procedure, clerk
):
    online = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    at_counter = services.start_application(
        procedure=residence_procedure, resident=resident, user=None, filed_by=clerk
    )
    services.start_application(
        procedure=residence_procedure, resident=other_resident, user=other_resident.user
    )
    assert list(selectors.applications_for_resident(resident)) == [at_counter, online]
    assert [a.applicant for a in selectors.applications_for_resident(other_resident)] == [
        other_resident
    ]


def test_certificates_for_resident_include_a_household_certificate_that_lists_them(
    resident, spouse, other_resident, residence_procedure, clerk
):
    both = approved(
        resident,
        residence_procedure,
        clerk,
        {"purpose": "勤務先", "members": [str(resident.pk), str(spouse.pk)]},
    )
    certificate = issuing.issue_certificate(application_id=both.pk)
    seal = make_procedure(slug="inkan-sel", name_ja="印鑑登録証明書", certificate_kind="seal")
    services.register_seal(resident=resident, registered_on="2021-04-01", number="S-9")
    seal_certificate = issuing.issue_certificate(
        application_id=approved(resident, seal, clerk, {"purpose": "登記"}).pk
    )
    assert list(selectors.certificates_for_resident(resident)) == [seal_certificate, certificate]
    assert list(selectors.certificates_for_resident(spouse)) == [certificate]
    assert list(selectors.certificates_for_resident(other_resident)) == []
