import io

from cityhall.seeding import SeedContext
from procedures import formschema
from procedures.models import FormDefinition, Procedure
from procedures.seed import demo_procedures


def test_seed_creates_ten_published_procedures_once(db):
    for _ in range(2):
        demo_procedures(SeedContext(residents=0, parcels=0, stdout=io.StringIO()))
    assert Procedure.objects.count() == 10
    assert FormDefinition.objects.filter(published_at__isnull=False).count() == 10
    assert Procedure.objects.get(slug="juminhyo").fee_yen == 300
    for form in FormDefinition.objects.all():
        assert formschema.definition_problems(form.definition) == []
