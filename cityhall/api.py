"""API of the shared core: who am I, and the permission class every app's staff endpoints use."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from .middleware import user_has_mfa
from .roles import is_staff_member, roles_of


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean and nothing else. DRF's BooleanField also takes 0, 1, "yes", "on" and the
    like (form habits); the schema says boolean, so anything else is refused as it says."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else. DRF's CharField also turns a number into its digits; the
    schema says string, so a number is refused as it says."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def staff_with(permission: str) -> type[BasePermission]:
    """The DRF permission class for a staff endpoint: a staff member holding `permission` who
    signed in with MFA. The API is outside the /staff/ door, whose middleware asks for MFA on
    pages, so each endpoint asks here."""

    class StaffWith(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(
                user
                and user.is_authenticated
                and is_staff_member(user)
                and user.has_perm(permission)
                and user_has_mfa(user)
            )

    StaffWith.__name__ = f"Staff_{permission.split('.')[-1]}"
    StaffWith.__qualname__ = StaffWith.__name__
    return StaffWith


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request):
    user = request.user
    data = {"email": user.email, "display_name": user.display_name, "roles": sorted(roles_of(user))}
    return Response(MeSerializer(data).data)
