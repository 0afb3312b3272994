"""API of payments: a resident's statement and payments; staff allocations, batch runs and the
reconciliation report; the providers' webhook endpoint."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
)
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import empty
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cityhall import audit
from cityhall.roles import is_staff_member
from residents.selectors import get_resident, resident_for_user

from . import batches, online, selectors, services
from .models import Allocation, BatchRun, Payment
from .providers import registry
from .webhooks import InvalidSignature, MalformedNotification


def _resident_for(request: Request):
    """Staff may name ``?resident=<id>``; anyone else gets their own linked record."""
    wanted = request.query_params.get("resident")
    if wanted is not None and not (wanted.isascii() and wanted.isdigit()):
        raise ValidationError({"resident": _("住民のIDを数値で指定してください。")})
    if wanted and is_staff_member(request.user) and request.user.has_perm("payments.view_charge"):
        resident = get_resident(int(wanted))
        if resident is None:
            raise NotFound
        # The same audit row the staff ledger page writes: every staff read of personal data is
        # logged, whichever door it came through.
        audit.record_read(
            request=request,
            action="payments.view_resident_ledger",
            obj=resident,
            purpose=gettext_noop("滞納整理"),
        )
        return resident
    resident = resident_for_user(request.user)
    if resident is None:
        raise NotFound(_("住民記録と連携されていません。"))
    return resident


class InstallmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    charge_id = serializers.IntegerField()
    revenue_code = serializers.CharField()
    revenue = serializers.CharField()
    fiscal_year = serializers.IntegerField()
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    amount = serializers.IntegerField()
    paid = serializers.IntegerField()
    outstanding = serializers.IntegerField()
    late_charge = serializers.IntegerField(
        allow_null=True, help_text="null while a year it spans has no late-charge rate yet"
    )
    overdue = serializers.BooleanField()


class BalanceSerializer(serializers.Serializer):
    outstanding = serializers.IntegerField()
    late_charges = serializers.IntegerField()
    total = serializers.IntegerField()
    open_installments = serializers.IntegerField()
    overdue_installments = serializers.IntegerField()
    credit = serializers.IntegerField()
    late_charges_pending = serializers.BooleanField()


class StatementSerializer(serializers.Serializer):
    balance = BalanceSerializer()
    installments = InstallmentSerializer(many=True)


RESIDENT_PARAM = OpenApiParameter(
    "resident", OpenApiTypes.INT, description="staff only: the resident's id", required=False
)


@extend_schema(parameters=[RESIDENT_PARAM], responses=StatementSerializer)
@api_view(["GET"])
def statement(request: Request) -> Response:
    """Every open installment across revenues with the late charge as of today, and totals."""
    resident = _resident_for(request)
    return Response(
        {
            "balance": selectors.balance_for_resident(resident),
            "installments": selectors.open_installments_for_resident(resident),
        }
    )


@extend_schema(parameters=[RESIDENT_PARAM], responses=InstallmentSerializer(many=True))
@api_view(["GET"])
def installments(request: Request) -> Response:
    """Every installment of the resident, paid or not."""
    return Response(
        InstallmentSerializer(
            selectors.installments_for_resident(_resident_for(request)), many=True
        ).data
    )


class AllocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Allocation
        fields = ["id", "payment", "installment", "amount", "credit", "reverses", "created_at"]


class PaymentSerializer(serializers.ModelSerializer):
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "channel",
            "provider",
            "amount",
            "state",
            "paid_on",
            "received_on",
            "targets",
            "provisional",
            "allocated_amount",
            "credit_amount",
            "created_at",
            "allocations",
        ]


class PaymentCreateSerializer(serializers.Serializer):
    installments = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=100
    )
    provider = serializers.ChoiceField(choices=[], required=False)
    # A path of this site (never another host: "//host" and "/\\host" are both off-site).
    return_url = serializers.RegexField(
        r"^/(?![/\\])",
        required=False,
        max_length=500,
        default="/my/statement/",
        error_messages={"invalid": gettext_lazy("このサイト内のパスを指定してください。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = registry.names()


class PaymentStartedSerializer(serializers.Serializer):
    payment = PaymentSerializer()
    redirect_url = serializers.CharField()


class PaymentViewSet(viewsets.ViewSet):
    """A resident's payments; POST starts an online payment (header ``Idempotency-Key``)."""

    @extend_schema(parameters=[RESIDENT_PARAM], responses=PaymentSerializer(many=True))
    def list(self, request: Request) -> Response:
        resident = _resident_for(request)
        return Response(
            PaymentSerializer(selectors.payments_for_resident(resident)[:200], many=True).data
        )

    @extend_schema(
        parameters=[
            RESIDENT_PARAM,
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses=PaymentSerializer,
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        resident = _resident_for(request)
        if not str(pk).isdigit():
            raise NotFound
        payment = get_object_or_404(Payment, pk=int(pk), payer=resident)
        return Response(PaymentSerializer(payment).data)

    @extend_schema(
        request=PaymentCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False
            )
        ],
        responses={
            201: PaymentStartedSerializer,
            200: PaymentStartedSerializer,
            400: OpenApiResponse(description="invalid installments, or no online provider"),
            409: OpenApiResponse(description="the key was used with a different body"),
        },
    )
    def create(self, request: Request) -> Response:
        resident = resident_for_user(request.user)
        if resident is None:
            raise NotFound(_("住民記録と連携されていません。"))
        if not online.card_payment_offered():
            return Response(
                {"detail": _("オンラインでのお支払いは現在ご利用いただけません。")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = PaymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        existed = (
            bool(key)
            and Payment.objects.filter(idempotency_key=f"api:{request.user.pk}:{key}").exists()
        )
        return_url = body.validated_data["return_url"]
        try:
            payment, url = online.start_online_payment(
                payer=resident,
                installment_ids=body.validated_data["installments"],
                return_url=return_url,
                provider_name=body.validated_data.get("provider") or None,
                idempotency_key=f"api:{request.user.pk}:{key}" if key else None,
            )
        except services.IdempotencyConflict as error:
            return Response({"detail": error.messages[0]}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise ValidationError({"installments": error.messages}) from None
        return Response(
            {"payment": PaymentSerializer(payment).data, "redirect_url": url},
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class StaffOnly(permissions.BasePermission):
    permission = "payments.view_allocation"

    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user) and request.user.has_perm(self.permission)


class AllocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Allocations (消込), newest first; staff only. Filter with ``?payment=`` or
    ``?installment=``."""

    serializer_class = AllocationSerializer
    permission_classes = [permissions.IsAuthenticated, StaffOnly]

    def get_queryset(self):
        queryset = Allocation.objects.order_by("-id")
        for name in ("payment", "installment"):
            value = self.request.query_params.get(name)
            if value and value.isdigit():
                queryset = queryset.filter(**{f"{name}_id": int(value)})
        return queryset


class BatchRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = BatchRun
        fields = [
            "id",
            "kind",
            "state",
            "params",
            "total",
            "processed",
            "percent",
            "succeeded_count",
            "failed_count",
            "skipped_count",
            "amount_total",
            "amount_succeeded",
            "cursor",
            "attempt",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class PostedDateField(serializers.DateField):
    """In a form body DRF takes an empty optional field for an absent one; here a date sent
    empty is refused like any other value that is not a date, as the schema says."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


class BatchRunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BatchRun.Kind.choices)
    file = serializers.FileField(required=False)
    on_date = PostedDateField(required=False)


class BatchRunAccess(StaffOnly):
    permission = "payments.view_batchrun"

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.has_perm(
            "payments.add_batchrun"
        )


class BatchRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Batch runs with progress, counts and totals; POST (supervisors) submits one."""

    serializer_class = BatchRunSerializer
    permission_classes = [permissions.IsAuthenticated, BatchRunAccess]
    parser_classes = [MultiPartParser]  # carries a file; form fields alone parse loosely
    queryset = BatchRun.objects.defer("output").order_by("-id")

    @extend_schema(request=BatchRunCreateSerializer, responses={201: BatchRunSerializer})
    def create(self, request: Request) -> Response:
        body = BatchRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data.get("file")
        params = {}
        if body.validated_data.get("on_date"):
            params["on_date"] = body.validated_data["on_date"].isoformat()
        try:
            run = batches.submit(
                kind=body.validated_data["kind"],
                data=upload.read() if upload else b"",
                params=params,
                actor=request.user,
            )
        except DjangoValidationError as error:
            raise ValidationError(error.messages) from None
        return Response(BatchRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: BatchRunSerializer,
            400: OpenApiResponse(description="the run has not failed"),
            403: OpenApiResponse(description="needs payments.change_batchrun"),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Run a failed run again: a new attempt with the same input, from its cursor."""
        if not request.user.has_perm("payments.change_batchrun"):
            raise PermissionDenied
        run = get_object_or_404(BatchRun.objects.defer("output"), pk=pk)
        try:
            run = batches.retry(run_id=run.pk, actor=request.user)
        except DjangoValidationError as error:
            raise ValidationError(error.messages) from None
        return Response(BatchRunSerializer(run).data)


class ViolationSerializer(serializers.Serializer):
    check = serializers.CharField()
    object_id = serializers.IntegerField()
    expected = serializers.IntegerField()
    actual = serializers.IntegerField()


class ReconciliationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    violations = ViolationSerializer(many=True)
    totals = serializers.DictField(child=serializers.IntegerField())


@extend_schema(responses=ReconciliationSerializer)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, StaffOnly])
def reconciliation(request: Request) -> Response:
    """Every violation of the ledger's invariants (none when all is well) and money totals."""
    return Response(selectors.reconciliation_report())


# The signature header is the webhook's credential: a notification without a good one (or too old
# to be replayed) did not come from the provider, which is an authentication failure (401), not a
# malformed request; a well-signed notification the provider's format does not describe is 400.
# The schemes themselves are SPECTACULAR_SETTINGS["APPEND_COMPONENTS"] (settings cannot import apps).
@extend_schema(
    request={"application/json": OpenApiTypes.OBJECT},
    auth=[{"sandboxSignature": []}, {"stripeSignature": []}],
    responses={
        200: OpenApiResponse(description="applied or already applied"),
        400: OpenApiResponse(description="signed, but not a notification of the provider"),
        401: OpenApiResponse(description="signature missing or wrong, or timestamp too old"),
        404: OpenApiResponse(description="no such provider"),
    },
)
@csrf_exempt
@api_view(["POST"])
@authentication_classes([])
@permission_classes([permissions.AllowAny])
def webhook(request: Request, provider: str) -> Response:
    """A provider's signed notification (HMAC-SHA256 over ``timestamp.body``)."""
    if provider not in registry.names():
        raise NotFound
    try:
        applied, _payment = online.receive_webhook(
            provider_name=provider, body=request.body, headers=request.headers
        )
    except MalformedNotification as error:
        return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
    except InvalidSignature as error:
        return Response(
            {"detail": str(error)},
            status=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Signature"},
        )
    return Response({"applied": applied})
