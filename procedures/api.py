"""The procedures API: catalogue, form versions, applications and their transitions (thin: every
change goes through procedures.services)."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cityhall import audit
from cityhall.roles import ADMIN, has_role, is_staff_member
from residents.selectors import resident_for_user

from . import selectors, services, workflow
from .models import Application, CaseEvent, FormDefinition, LifeEvent, Procedure
from .staff_views import REVIEW_PURPOSE


class ProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Procedure
        fields = [
            "slug",
            "name_ja",
            "name_en",
            "description_ja",
            "description_en",
            "department",
            "life_events",
            "category",
            "fee_rule",
            "fee_yen",
            "fee_revenue",
            "required_attachments",
            "certificate_kind",
            "processing_days",
            "channels",
            "counter_only",
            "identity_level",
        ]

    counter_only = serializers.BooleanField(read_only=True)


class FormDefinitionSerializer(serializers.ModelSerializer):
    procedure = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    definition = serializers.JSONField()

    class Meta:
        model = FormDefinition
        fields = ["id", "procedure", "version", "definition", "published_at", "publish_on"]
        read_only_fields = ["published_at", "publish_on"]


class CaseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseEvent
        fields = ["from_state", "to_state", "comment", "created_at"]


class CertificateInfoSerializer(serializers.Serializer):
    issue_number = serializers.CharField()
    verification_code = serializers.CharField()
    issued_at = serializers.DateTimeField()


class SignatureInfoSerializer(serializers.Serializer):
    """The マイナンバーカード signature the application was submitted with (verified by the city)."""

    verified_at = serializers.DateTimeField()
    certificate_serial = serializers.CharField()
    revocation_status = serializers.CharField()


class SigningStartSerializer(serializers.Serializer):
    authorization_url = serializers.URLField(
        help_text="Open in the resident's browser: the platform reads the card and signs, then "
        "returns to the city, which verifies the signature and submits the application."
    )


class ApplicationSerializer(serializers.ModelSerializer):
    procedure = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    form_version = serializers.IntegerField(source="form.version", read_only=True)
    answers = serializers.JSONField(read_only=True)
    certificate = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "reference",
            "procedure",
            "form_version",
            "state",
            "answers",
            "fee_yen",
            "charge_id",
            "submitted_at",
            "due_on",
            "assignee",
            "certificate",
            "signature",
        ]
        read_only_fields = fields

    @extend_schema_field(CertificateInfoSerializer(allow_null=True))
    def get_certificate(self, obj) -> dict | None:
        certificate = getattr(obj, "certificate", None)
        if certificate is None:
            return None
        return CertificateInfoSerializer(certificate).data

    @extend_schema_field(SignatureInfoSerializer(allow_null=True))
    def get_signature(self, obj) -> dict | None:
        if obj.signature_id is None:
            return None
        return SignatureInfoSerializer(obj.signature).data


class StartApplicationSerializer(serializers.Serializer):
    procedure = serializers.SlugField()


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.JSONField())


@extend_schema_field({"type": "string", "enum": list(workflow.STATES)})
class StateNameField(serializers.CharField):
    """One of Application.state's values, documented as such (not a second enum component)."""


class TransitionSerializer(serializers.Serializer):
    to = StateNameField(help_text="draft, submitted, … completed (see Application.state)")

    def validate_to(self, value: str) -> str:
        if value not in workflow.STATES:
            raise ValidationError(_("不明な状態です。"))
        return value

    comment = serializers.CharField(required=False, allow_blank=True, default="")


# Service refusals that are about the case as it stands, not about what the client sent: the
# same request can succeed on another case, so they answer 409 Conflict rather than 400.
STATE_CONFLICT_CODES = {"not_editable", "counter_only"}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _drf_error(exc: DjangoValidationError) -> APIException:
    codes = set() if hasattr(exc, "error_dict") else {e.code for e in exc.error_list}
    if codes & STATE_CONFLICT_CODES:
        return Conflict(exc.messages[0])
    # An account with no resident record may not file as a resident (staff file at the counter).
    if "not_resident" in codes:
        return PermissionDenied(exc.messages[0])
    return ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    )


@extend_schema_view(
    list=extend_schema(
        summary="手続の一覧 / Procedures",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="キーワード / keyword"),
            OpenApiParameter("life_event", OpenApiTypes.STR, enum=LifeEvent.values),
        ],
    ),
    retrieve=extend_schema(summary="手続 / One procedure"),
)
class ProcedureViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProcedureSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"

    def list(self, request, *args, **kwargs):
        life_event = request.query_params.get("life_event")
        if life_event is not None and life_event not in LifeEvent.values:
            raise ValidationError({"life_event": [_("選べない値です。")]})
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.search_procedures(
            self.request.query_params.get("q", ""),
            life_event=self.request.query_params.get("life_event", ""),
        )


class FormVersionInSerializer(serializers.Serializer):
    procedure = serializers.SlugField(help_text="the procedure's slug")
    definition = serializers.JSONField(help_text="the form definition (see FORMATS.md)")
    base_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="the version the change was made on; refused (409) if a newer one exists",
    )


class PublishInSerializer(serializers.Serializer):
    publish_on = serializers.DateField(
        required=False, allow_null=True, help_text="a later date to publish on; empty: now"
    )


def _messages(exc: DjangoValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


@extend_schema_view(
    list=extend_schema(
        summary="様式の版 / Form versions (drafts for admins only)",
        parameters=[OpenApiParameter("procedure", OpenApiTypes.STR)],
    ),
    retrieve=extend_schema(summary="様式の版 / One form version"),
)
class FormDefinitionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Form versions. Admins save new draft versions (the designer's JSON import, for programs)
    and a second person with the publish permission publishes them, now or on a date."""

    serializer_class = FormDefinitionSerializer

    def get_queryset(self):
        qs = FormDefinition.objects.select_related("procedure").order_by(
            "procedure__slug", "-version"
        )
        if not has_role(self.request.user, ADMIN):
            qs = qs.filter(published_at__isnull=False)
        if self.request.query_params.get("procedure"):
            qs = qs.filter(procedure__slug=self.request.query_params["procedure"])
        return qs

    @extend_schema(
        summary="様式の新しい版を保存 / Save a new draft version",
        request=FormVersionInSerializer,
        responses={201: FormDefinitionSerializer},
    )
    def create(self, request, *args, **kwargs):
        if not has_role(request.user, ADMIN):
            raise PermissionDenied(_("様式を管理できるのは管理者だけです。"))
        data = FormVersionInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        procedure = get_object_or_404(Procedure, slug=data.validated_data["procedure"])
        base = data.validated_data.get("base_version")
        try:
            saved = services.save_draft_form(
                procedure=procedure,
                definition=data.validated_data["definition"],
                actor=request.user,
                base_version=base,
            )
        except DjangoValidationError as exc:
            latest = procedure.forms.order_by("-version").first()
            stale = base is not None and latest is not None and latest.version != base
            return Response(
                {"definition": _messages(exc)},
                status=status.HTTP_409_CONFLICT if stale else status.HTTP_400_BAD_REQUEST,
            )
        return Response(FormDefinitionSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="様式の版を公開（別の職員） / Publish a version (a second person)",
        request=PublishInSerializer,
        responses={200: FormDefinitionSerializer},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        form = self.get_object()
        if not request.user.has_perm("procedures.publish_formdefinition"):
            raise PermissionDenied(str(services.MSG_NOT_PUBLISHER))
        data = PublishInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.publish_form(
                form=form, actor=request.user, publish_on=data.validated_data.get("publish_on")
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except DjangoValidationError as exc:
            four_eyes = any(e.code == "four_eyes" for e in getattr(exc, "error_list", []))
            return Response(
                {"detail": _messages(exc)},
                status=status.HTTP_403_FORBIDDEN if four_eyes else status.HTTP_400_BAD_REQUEST,
            )
        form.refresh_from_db()
        return Response(FormDefinitionSerializer(form).data)


class ApplicationFilterSerializer(serializers.Serializer):
    """The list's filters (staff; a resident's list is always their own applications)."""

    state = serializers.ChoiceField(choices=list(workflow.STATES), required=False)
    procedure = serializers.CharField(required=False)
    assignee = serializers.RegexField(
        r"^(me|none|[0-9]+)$", required=False, help_text="'me', 'none' or a user id"
    )


@extend_schema_view(
    list=extend_schema(
        summary="申請の一覧（住民は自分の申請、職員はすべて） / Applications",
        parameters=[ApplicationFilterSerializer],
    ),
    retrieve=extend_schema(summary="申請 / One application"),
)
class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApplicationSerializer

    def list(self, request, *args, **kwargs):
        filters = ApplicationFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else []
        audit.record_read(
            request=request,
            action="procedures.cases_listed",
            object_type="procedures.Application",
            purpose=REVIEW_PURPOSE,
            details={"applications": [row["id"] for row in rows]},
        )
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        audit.record_read(
            request=request,
            action="procedures.case_viewed",
            object_type="procedures.Application",
            object_id=response.data["id"],
            purpose=REVIEW_PURPOSE,
        )
        return response

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        user = self.request.user
        qs = Application.objects.select_related(
            "procedure", "form", "certificate", "signature"
        ).order_by("-id")
        if not is_staff_member(user):
            return qs.filter(user=user)
        params = self.request.query_params
        if params.get("state"):
            qs = qs.filter(state=params["state"])
        if params.get("procedure"):
            qs = qs.filter(procedure__slug=params["procedure"])
        assignee = params.get("assignee", "")
        if assignee == "me":
            qs = qs.filter(assignee=user)
        elif assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        elif assignee.isdigit():
            qs = qs.filter(assignee_id=int(assignee))
        return qs

    @extend_schema(
        summary="申請を始める（下書き、記録から入力済み） / Start a draft, prefilled",
        request=StartApplicationSerializer,
        responses={201: ApplicationSerializer},
    )
    def create(self, request):
        data = StartApplicationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        procedure = get_object_or_404(
            Procedure, slug=data.validated_data["procedure"], is_active=True
        )
        resident = resident_for_user(request.user)
        try:
            application = services.start_application(
                procedure=procedure, resident=resident, user=request.user
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="下書きの回答を保存 / Save draft answers",
        request=AnswersSerializer,
        responses=ApplicationSerializer,
    )
    @action(detail=True, methods=["post"])
    def answers(self, request, pk=None):
        application = self.get_object()
        data = AnswersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            application = services.save_draft(
                application=application, answers=data.validated_data["answers"], actor=request.user
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(ApplicationSerializer(application).data)

    @extend_schema(
        summary="マイナンバーカードで署名して申請する / Sign with the My Number Card and submit",
        request=None,
        responses={
            200: SigningStartSerializer,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            409: OpenApiResponse(description="the procedure needs no signature"),
        },
    )
    @action(detail=True, methods=["post"])
    def signing(self, request, pk=None):
        """For a procedure of identity level jpki: check the answers and start the signing flow.
        The application is submitted when the city has verified the signature."""
        from identity import services as identity_services

        application = self.get_object()
        if application.user_id != request.user.pk:
            raise PermissionDenied(services.MSG_NOT_YOURS)
        if not services.needs_signature(application):
            raise Conflict(_("この申請に電子署名は要りません。"))
        try:
            payload = services.prepare_for_signing(application=application, actor=request.user)
            url = identity_services.begin_signing(
                user=request.user,
                origin=application.origin,
                payload=payload,
                return_url=reverse("procedures:application_detail", args=[application.pk]),
                retry_url=reverse("procedures:application_sign", args=[application.pk]),
                callback_url=request.build_absolute_uri(reverse("identity:sign_callback")),
                request=request,
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        return Response(SigningStartSerializer({"authorization_url": url}).data)

    @extend_schema(summary="処理履歴 / Case events", responses=CaseEventSerializer(many=True))
    # The whole history at once (a case has a handful of events): a list, not a page.
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        application = self.get_object()
        events = (
            application.events.all()
            if is_staff_member(request.user)
            else selectors.visible_events(application)
        )
        audit.record_read(
            request=request,
            action="procedures.case_events_viewed",
            obj=application,
            purpose=REVIEW_PURPOSE,
        )
        return Response(CaseEventSerializer(events, many=True).data)

    @extend_schema(
        summary="状態を変える（申請・再提出・取下げ・審査の処理） / Move the application",
        request=TransitionSerializer,
        responses={200: ApplicationSerializer, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        application = self.get_object()
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target, comment = data.validated_data["to"], data.validated_data["comment"]
        try:
            if target in (workflow.SUBMITTED, workflow.RESUBMITTED):
                services.submit_application(application=application, actor=request.user)
            elif target == workflow.WITHDRAWN and application.user_id == request.user.pk:
                services.withdraw(application=application, actor=request.user, comment=comment)
            else:
                services.decide(
                    application=application, target=target, clerk=request.user, comment=comment
                )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except workflow.TransitionNotAllowed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        application.refresh_from_db()
        return Response(ApplicationSerializer(application).data)


class PlaceSerializer(serializers.Serializer):
    postal_code = serializers.CharField(source="display_code")
    prefecture = serializers.CharField()
    city = serializers.CharField()
    town = serializers.CharField()
    address = serializers.CharField(help_text="prefecture + city + town, as an address answer")


class PostalCodeSerializer(serializers.Serializer):
    postal_code = serializers.CharField()
    places = PlaceSerializer(many=True)


# Seven digits (half or full width) as people type them: 〒, hyphens and spaces between.
POSTAL_CODE_PATTERN = r"^[〒\s]*([0-9０-９][-ー－‐\s]*){7}$"


class PostalCodeView(APIView):
    """The towns of a postal code, from the bundled table made from Japan Post's KEN_ALL data
    (the city's prefecture; the city's own towns first). Public: it is the post office's list."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="郵便番号から住所 / Address from a postal code",
        parameters=[
            OpenApiParameter(
                "code",
                {"type": "string", "pattern": POSTAL_CODE_PATTERN},
                OpenApiParameter.PATH,
                description="190-0011, １９０００１１, 〒190-0011",
            )
        ],
        responses={200: PostalCodeSerializer},
    )
    def get(self, request, code: str):
        from django.conf import settings

        from . import postal

        digits = postal.normalise(code) if re.fullmatch(POSTAL_CODE_PATTERN, code) else None
        if digits is None:
            raise ValidationError({"postal_code": [_("郵便番号は7桁の数字で入力してください。")]})
        places = postal.lookup(digits, city_first=settings.CITY_NAME)
        if not places:
            raise NotFound(_("この郵便番号の住所は見つかりませんでした。住所を入力してください。"))
        response = Response(
            PostalCodeSerializer(
                {"postal_code": f"{digits[:3]}-{digits[3:]}", "places": places}
            ).data
        )
        # The same for everyone and changes only with a new table.
        response["Cache-Control"] = "public, max-age=86400"
        return response
