"""taxes' staff services name their permission: a clerk whose role lacks it is refused before
anything is read or written, and None is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from taxes import services
from taxes.models import SalaryReportImport

pytestmark = pytest.mark.django_db


def test_salary_report_import_refuses_a_clerk_without_the_permission(clerk):
    Group.objects.get(name="clerk").permissions.remove(
        Permission.objects.get(content_type__app_label="taxes", codename="add_salaryreportimport")
    )
    with pytest.raises(PermissionDenied):
        services.import_salary_reports(data=b"", file_name="kyuyo.csv", actor=clerk)
    with pytest.raises(PermissionDenied):
        services.import_salary_reports(data=b"", file_name="kyuyo.csv", actor=None)
    assert not SalaryReportImport.objects.exists()
