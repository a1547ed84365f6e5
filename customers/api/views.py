"""The customers endpoints: thin, they parse, call a service or selector, and shape the answer."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import selectors, services
from customers.api.serializers import (
    ConsentsInSerializer,
    ConsentsSerializer,
    CustomerDetailSerializer,
    CustomerSerializer,
    ErasureSerializer,
    IdentifyInSerializer,
    IdentifyResultSerializer,
    ImportAcceptedSerializer,
    ImportBatchInSerializer,
    ImportBatchSchemaSerializer,
    ImportStatusSerializer,
    MovedSerializer,
    PersonalDataSerializer,
    ProfilePatchSerializer,
    TimelineEntrySerializer,
)
from customers.models import ConsentPurpose, Customer
from omni import jobs
from omni.actor import API_SESSION, Actor
from omni.api.permissions import is_api_client, principal_may, rule
from omni.api.schema import ErrorSerializer
from omni.errors import NotFound
from omni.models import Job

MOVED = OpenApiResponse(MovedSerializer, description="A merged-away id: `Location` names the surviving customer.")
ERASED = OpenApiResponse(ErrorSerializer, description="`customer_erased`: the customer's personal data was erased.")


IMPORT_JOB = "customers.import"
IMPORT_PERMISSION = "customers.import_customers"


def request_key_of(request) -> str:
    return request.META.get("HTTP_IDEMPOTENCY_KEY") or request.META.get("HTTP_X_REQUEST_ID") or ""


class Moved(APIException):
    def __init__(self, survivor: Customer):
        self.survivor = survivor
        super().__init__(_("This customer was merged into customer %(customer)s.") % {"customer": survivor.pk})


class CustomerMixin:
    """Finds the customer of the URL; a merged-away id answers 301 (308 for writes) to the survivor."""

    def actor(self) -> Actor:
        return Actor.of(self.request.user, door=API_SESSION)  # type: ignore[attr-defined]

    def customer(self, pk: int) -> Customer:
        found = selectors.customer_by_id(pk)
        if found is None:
            raise NotFound(_("No customer %(customer)s.") % {"customer": pk})
        if found.merged_into_id is not None:
            raise Moved(selectors.survivor_of(found))
        return found

    def handle_exception(self, exc):
        if isinstance(exc, Moved):
            request = self.request
            match = request.resolver_match
            kwargs = {**match.kwargs, "pk": exc.survivor.pk}
            location = reverse(f"{match.namespace}:{match.url_name}", kwargs=kwargs)
            if request.META.get("QUERY_STRING"):
                location += "?" + request.META["QUERY_STRING"]
            code = status.HTTP_301_MOVED_PERMANENTLY
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                code = status.HTTP_308_PERMANENT_REDIRECT
            body = {"code": "moved", "detail": str(exc.detail), "customer": exc.survivor.pk}
            response = Response(body, status=code, headers={"Location": request.build_absolute_uri(location)})
            response.url = response["Location"]  # what redirect-following clients read
            return response
        return super().handle_exception(exc)  # type: ignore[misc]


def detail_payload(customer: Customer) -> dict[str, Any]:
    consents = selectors.current_consents([customer.pk])[customer.pk]
    return {
        **{name: getattr(customer, name) for name in CustomerDetailSerializer.Meta.fields if hasattr(customer, name)},
        "identifiers": list(customer.identifiers.all()),
        "consents": consents,
        **selectors.summary(customer),
    }


class CustomerListView(CustomerMixin, generics.ListAPIView):
    """Customers; `?identifier=` finds the one an e-mail, phone, card, device or account points at."""

    access = {"get": rule("customers", "customers.view_customer")}
    serializer_class = CustomerSerializer
    extra_query_params = ("identifier",)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "identifier",
                str,
                required=False,
                description="An identifier value in any usual form (an e-mail, a phone with or without +39, a card).",
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        identifier = self.request.query_params.get("identifier")
        if identifier is not None:
            return selectors.by_identifier(identifier)
        return selectors.customers().filter(merged_into__isnull=True)


class IdentifyView(CustomerMixin, APIView):
    """Recognise a visitor or a customer: create, return, or merge into the oldest.

    A staff session without the merge permission may create and find customers, not merge them.
    """

    access = {"post": rule("customers", "customers.add_customer", "customers.change_customer")}

    @extend_schema(
        request=IdentifyInSerializer,
        responses={
            201: OpenApiResponse(IdentifyResultSerializer, description="A new customer."),
            200: OpenApiResponse(IdentifyResultSerializer, description="A known customer, perhaps merged."),
        },
    )
    def post(self, request):
        incoming = IdentifyInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        result = services.identify(
            identifiers=[services.IdentifierIn(**item) for item in data["identifiers"]],
            profile=data.get("profile"),
            actor=self.actor(),
            request_key=request_key_of(request),
            may_merge=principal_may(request.user, rule("customers", "customers.merge_customers")),
        )
        customer = selectors.customer_by_id(result.customer.pk)
        customer.created = result.created
        customer.merged_from = result.merged_from
        customer.unverified_conflicts = result.unverified_conflicts
        customer.stand_in = result.stand_in
        answer = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(IdentifyResultSerializer(customer).data, status=answer)


class CustomerDetailView(CustomerMixin, APIView):
    """The single customer view: profile, identifiers, consents, loyalty, channels and orders per channel."""

    access = {
        "get": rule("customers", "customers.view_customer"),
        "patch": rule("customers", "customers.change_customer"),
    }

    @extend_schema(responses={200: CustomerDetailSerializer, 301: MOVED})
    def get(self, request, pk: int):
        customer = self.customer(pk)
        return Response(CustomerDetailSerializer(detail_payload(customer)).data)

    @extend_schema(request=ProfilePatchSerializer, responses={200: CustomerDetailSerializer, 308: MOVED, 409: ERASED})
    def patch(self, request, pk: int):
        customer = self.customer(pk)
        incoming = ProfilePatchSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        services.update_profile(customer=customer, changes=incoming.validated_data, actor=self.actor())
        return Response(CustomerDetailSerializer(detail_payload(self.customer(pk))).data)


class ConsentsView(CustomerMixin, APIView):
    """Marketing e-mail, marketing SMS and profiling consents; every change is kept."""

    access = {
        "get": rule("customers", "customers.view_customer"),
        "put": rule("customers", "customers.change_customer"),
    }

    @extend_schema(responses={200: ConsentsSerializer, 301: MOVED})
    def get(self, request, pk: int):
        customer = self.customer(pk)
        return Response(ConsentsSerializer(selectors.current_consents([customer.pk])[customer.pk]).data)

    @extend_schema(request=ConsentsInSerializer, responses={200: ConsentsSerializer, 308: MOVED, 409: ERASED})
    def put(self, request, pk: int):
        customer = self.customer(pk)
        incoming = ConsentsInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        state = services.set_consents(
            customer=customer,
            choices={purpose: data[purpose] for purpose in ConsentPurpose.values if purpose in data},
            channel=data["source_channel"],
            source=data["source"],
            actor=self.actor(),
            request_key=request_key_of(request),
        )
        return Response(ConsentsSerializer(state).data)


class TimelinePage:
    """A lazy sequence for the paginator: counting and slicing each ask every source once."""

    def __init__(self, customer: Customer):
        self.customer = customer

    def count(self) -> int:
        return selectors.timeline_count(self.customer)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice):
        start = window.start or 0
        return selectors.timeline_entries(self.customer, offset=start, limit=(window.stop or start) - start)


class TimelineView(CustomerMixin, generics.GenericAPIView):
    """Orders, returns, points, events, consents of every channel, newest first."""

    access = {"get": rule("customers", "customers.view_customer")}
    serializer_class = TimelineEntrySerializer
    queryset = Customer.objects.none()  # the entries come from the registry; this names the path's model

    @extend_schema(responses={200: TimelineEntrySerializer(many=True), 301: MOVED})
    def get(self, request, pk: int):
        customer = self.customer(pk)
        page = self.paginate_queryset(TimelinePage(customer))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)


class ExportView(CustomerMixin, APIView):
    """All personal data held about the customer (right of access), as JSON; every export is audited."""

    access = {"get": rule("customers", "customers.export_personal_data")}

    @extend_schema(responses={200: PersonalDataSerializer, 301: MOVED})
    def get(self, request, pk: int):
        return Response(services.export_personal_data(customer=self.customer(pk), actor=self.actor()))


class EraseView(CustomerMixin, APIView):
    """Erase the person: profile and identifiers removed, consents withdrawn; orders and ledgers stay."""

    access = {"post": rule("customers", "customers.erase_personal_data")}

    @extend_schema(request=None, responses={200: ErasureSerializer, 308: MOVED})
    def post(self, request, pk: int):
        erasure = services.erase_customer(
            customer=self.customer(pk), actor=self.actor(), request_key=request_key_of(request)
        )
        return Response(ErasureSerializer(erasure).data)


class CustomerImportView(APIView):
    """Bring customers in from another system: a batch of rows, imported by a background job (202)."""

    access = {"post": rule("customers", IMPORT_PERMISSION)}

    @extend_schema(
        request=ImportBatchSchemaSerializer,
        responses={202: OpenApiResponse(ImportAcceptedSerializer, description="The job that imports the batch.")},
    )
    def post(self, request):
        incoming = ImportBatchInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        principal = request.user
        job = jobs.start(
            kind=IMPORT_JOB,
            title=_("Customer import: %(rows)d rows") % {"rows": len(data["rows"])},
            task="customers.import_customers",
            total=len(data["rows"]),
            params={
                "format": "json",
                "partial": data["partial"],
                "api_client": principal.pk if is_api_client(principal) else None,
            },
            content=json.dumps(data["rows"], cls=DjangoJSONEncoder).encode("utf-8"),
            user=None if is_api_client(principal) else principal,
        )
        url = reverse("v1:customer-import-status", kwargs={"job": job.pk})
        return Response({"job": job.pk, "status_url": request.build_absolute_uri(url)}, status=status.HTTP_202_ACCEPTED)


class CustomerImportStatusView(APIView):
    """How an import job is going, and its figures once done; only whoever started it sees it."""

    access = {"get": rule("customers", IMPORT_PERMISSION)}

    @extend_schema(responses={200: ImportStatusSerializer, 404: OpenApiResponse(ErrorSerializer)})
    def get(self, request, job: int):
        found = Job.objects.filter(pk=job, kind=IMPORT_JOB).defer("content").first()
        principal = request.user
        mine = found is not None and (
            found.params.get("api_client") == principal.pk
            if is_api_client(principal)
            else found.user_id == principal.pk or principal.is_superuser
        )
        if not mine:
            raise NotFound(_("No customer import %(job)s.") % {"job": job})
        result = found.result or {}
        return Response(
            {
                "job": found.pk,
                "status": found.status,
                "done": found.done,
                "total": found.total,
                **{name: result.get(name, 0) for name in ("rows", "created", "updated", "merged", "unchanged")},
                "errors": result.get("errors", []),
                "detail": found.error,
            }
        )
