"""Pages of API lists. DRF's LimitOffsetPagination silently reads `?offset=abc` or `?limit=-1`
as the first page; the schema says both are non-negative integers, so a wrong value is a 400
with a message next to the parameter instead of an answer to a question nobody asked."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class CheckedLimitOffsetPagination(LimitOffsetPagination):
    def paginate_queryset(self, queryset, request, view=None):
        errors = {}
        for name in (self.limit_query_param, self.offset_query_param):
            raw = request.query_params.get(name)
            if raw is None:
                continue
            if not raw.isascii() or not raw.isdigit():
                errors[name] = [_("0 以上の整数を入力してください。")]
            elif name == self.limit_query_param and int(raw) == 0:
                errors[name] = [_("1 以上の整数を入力してください。")]
        if errors:
            raise ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            minimum = 1 if parameter["name"] == self.limit_query_param else 0
            parameter["schema"]["minimum"] = minimum
        return parameters
