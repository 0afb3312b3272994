"""Notices API: a resident's own inbox, and for staff the sends with their progress and the
count of a segment (what the compose page shows, for programs)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cityhall.api import staff_with

from . import segments, selectors
from .models import Send

CanCompose = staff_with("notices.compose_send")


class InboxItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    body_html = serializers.CharField()
    body_text = serializers.CharField()
    topic = serializers.CharField()
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


@extend_schema(responses=InboxItemSerializer(many=True), summary="My notices (inbox)")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def my_inbox(request):
    items = [
        {
            "id": item["delivery"].pk,
            "subject": item["message"].subject,
            "body_html": item["message"].html,
            "body_text": item["message"].text,
            "topic": item["topic"],
            "created_at": item["delivery"].created_at,
            "read": item["delivery"].read_at is not None,
        }
        for item in selectors.inbox_items(request.user)
    ]
    return Response(InboxItemSerializer(items, many=True).data)


class ChannelProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    channel = serializers.CharField()
    total = serializers.IntegerField()
    delivered = serializers.IntegerField()
    waiting = serializers.IntegerField()
    retrying = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class SendSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    template = serializers.CharField(source="template_version.template.name")
    template_version = serializers.IntegerField(source="template_version.number")
    subject = serializers.CharField(source="template_version.subject_ja")
    topic = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    emergency = serializers.BooleanField()
    source = serializers.CharField()
    recipient_count = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    scheduled_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


@extend_schema(responses=SendSerializer(many=True), summary="Notice sends (staff)")
@api_view(["GET"])
@permission_classes([CanCompose])
def sends(request):
    return Response(SendSerializer(selectors.sends(), many=True).data)


@extend_schema(
    responses=inline_serializer(
        "SendProgress",
        {"send": SendSerializer(), "channels": ChannelProgressSerializer(many=True)},
    ),
    summary="One send with its progress by channel (staff)",
)
@api_view(["GET"])
@permission_classes([CanCompose])
def send_detail(request, pk: int):
    send = get_object_or_404(Send, pk=pk)
    progress = selectors.progress(send)
    return Response(
        {
            "send": SendSerializer(send).data,
            "channels": ChannelProgressSerializer(progress["channels"], many=True).data,
        }
    )


class SegmentCountRequest(serializers.Serializer):
    segment = serializers.DictField(help_text="criteria, as the send's `segment`")
    as_of = serializers.DateField(required=False)


@extend_schema(
    request=SegmentCountRequest,
    responses=inline_serializer(
        "SegmentCount",
        {"residents": serializers.IntegerField(), "reachable": serializers.IntegerField()},
    ),
    summary="Count a segment (staff)",
)
@api_view(["POST"])
@permission_classes([CanCompose])
def segment_count(request):
    body = SegmentCountRequest(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        spec = segments.parse(body.validated_data["segment"])
    except ValidationError as exc:
        return Response({"segment": exc.message_dict}, status=400)
    if spec.user_ids:
        return Response({"segment": {"user_ids": ["not a segment criterion"]}}, status=400)
    on = body.validated_data.get("as_of") or timezone.localdate()
    return Response(segments.count(spec, on))
