"""Counter API: the public congestion figures and the clerk's desk actions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from cityhall.api import staff_with

from . import selectors, services
from .models import Counter, Service, Ticket

# Staff with the counter permission and MFA.
IsCounterClerk = staff_with("counter.serve_ticket")


class NowServingSerializer(serializers.Serializer):
    number = serializers.CharField()
    counter = serializers.IntegerField()
    state = serializers.CharField()


class ServiceCongestionSerializer(serializers.Serializer):
    """Numbers only: no names, resident ids or ticket tokens ever leave through here."""

    code = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    waiting = serializers.IntegerField()
    now_serving = NowServingSerializer(many=True)
    open_counters = serializers.IntegerField()
    service_minutes = serializers.FloatField()
    estimated_wait_minutes = serializers.IntegerField(allow_null=True)


class ClosureSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    reason = serializers.CharField(help_text="in the request's language (Accept-Language)")


class OpeningHoursSerializer(serializers.Serializer):
    """When the counters take tickets: weekday hours, today, and the coming weekday closures
    (national holidays, the year-end break)."""

    opens = serializers.TimeField(allow_null=True)
    closes = serializers.TimeField(allow_null=True)
    today = serializers.DateField()
    state = serializers.ChoiceField(
        choices=["open", "before_opening", "after_closing", "closed_today"]
    )
    today_closure = serializers.CharField(allow_null=True)
    holiday_desk_opens = serializers.TimeField(allow_null=True)
    holiday_desk_closes = serializers.TimeField(allow_null=True)
    closures = ClosureSerializer(many=True)


class CongestionSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    services = ServiceCongestionSerializer(many=True)
    hours = OpeningHoursSerializer()


@extend_schema(responses=CongestionSerializer, summary="窓口の混雑状況 / counter congestion")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def congestion(request):
    data = CongestionSerializer(
        {
            "generated_at": timezone.now(),
            "services": selectors.congestion(),
            "hours": selectors.opening_hours(),
        }
    ).data
    response = Response(data)
    response["Cache-Control"] = "no-store"
    return response


class TicketSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    service = serializers.SlugRelatedField(slug_field="code", read_only=True)
    counter = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "label",
            "service",
            "business_date",
            "number",
            "state",
            "issued_at",
            "called_at",
            "started_at",
            "finished_at",
            "counter",
        ]


def _refused(error: ValidationError) -> Response:
    return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)


@extend_schema(request=None, responses={200: TicketSerializer, 204: None})
@api_view(["POST"])
@permission_classes([IsCounterClerk])
def call_next(request, counter_id: int):
    counter = get_object_or_404(Counter, pk=counter_id)
    try:
        ticket = services.call_next(counter=counter, clerk=request.user)
    except ValidationError as error:
        return _refused(error)
    if ticket is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(TicketSerializer(ticket).data)


TICKET_ACTIONS = {
    "recall": services.recall,
    "start": services.start_service,
    "done": services.finish,
    "no-show": services.mark_no_show,
}


@extend_schema(request=None, responses=TicketSerializer)
@api_view(["POST"])
@permission_classes([IsCounterClerk])
def ticket_action(request, ticket_id: int, action: str):
    if action not in TICKET_ACTIONS:
        raise Http404
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        ticket = TICKET_ACTIONS[action](ticket=ticket, clerk=request.user)
    except ValidationError as error:
        return _refused(error)
    return Response(TicketSerializer(ticket).data)


@extend_schema(
    request=inline_serializer(
        "TransferRequest",
        {
            "service": serializers.CharField(),
            "to_counter": serializers.IntegerField(required=False, allow_null=True),
        },
    ),
    responses=TicketSerializer,
)
@api_view(["POST"])
@permission_classes([IsCounterClerk])
def transfer(request, ticket_id: int):
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    service = get_object_or_404(Service, code=str(request.data.get("service", "")))
    to_counter = None
    if request.data.get("to_counter") not in (None, ""):
        to_counter = get_object_or_404(Counter, number=request.data["to_counter"])
    try:
        successor = services.transfer(
            ticket=ticket, clerk=request.user, service=service, to_counter=to_counter
        )
    except ValidationError as error:
        return _refused(error)
    return Response(TicketSerializer(successor).data, status=status.HTTP_201_CREATED)
