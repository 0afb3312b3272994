"""API of the shared core: who am I."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from .roles import roles_of


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
