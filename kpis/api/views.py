"""Events, social figures and KPIs: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from kpis import selectors, services
from kpis.api.serializers import (
    EventBatchSerializer,
    EventIngestResultSerializer,
    EventInSerializer,
    KpiQuerySerializer,
    KpiReportSerializer,
    SocialFiguresBatchSerializer,
    SocialFiguresInSerializer,
    SocialFiguresResultSerializer,
)
from omni.api.permissions import rule
from omni.catalog.models import Channel, ChannelCode, Location
from omni.catalog.scoping import check_location, check_sees_all
from omni.errors import Invalid
from omni.replicas import reads_from_replica


class EventListView(APIView):
    """Touchpoint events from the site, the app, the tills and the marketing tools."""

    access = {"post": rule("events", "kpis.add_touchpointevent")}

    @extend_schema(
        request=EventInSerializer(many=True),
        responses={202: EventIngestResultSerializer},
        description=(
            "A JSON list of at most 1000 events, stored in bulk. An event whose `id` was seen before is not "
            "stored again and is counted under `duplicates`. `customer` (an id; a merged-away id counts as "
            "its survivor) or a `device_id` already linked to a customer joins the event to that customer; "
            "events of a device linked later join the customer then. An unknown channel, location or customer, "
            "a missing id or type, or more than 1000 events: 400 `invalid`, nothing stored."
        ),
    )
    def post(self, request):
        incoming = EventBatchSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        result = services.ingest_events(
            events=[
                services.EventIn(
                    event_id=e["id"],
                    type=e["type"],
                    occurred_at=e["occurred_at"],
                    channel=e["channel"],
                    session_id=e["session_id"],
                    device_id=e["device_id"],
                    customer=e["customer"],
                    location=e["location"] or None,
                    properties=e["properties"],
                )
                for e in incoming.validated_data
            ]
        )
        body = EventIngestResultSerializer({"accepted": result.accepted, "duplicates": result.duplicates}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class SocialMetricListView(APIView):
    """Daily figures per social network."""

    access = {"post": rule("events", "kpis.add_socialmetric")}

    @extend_schema(
        request=SocialFiguresInSerializer(many=True),
        responses={200: SocialFiguresResultSerializer},
        description=(
            "A list of at most 1000 `{date, network, likes, shares, comments, mentions, followers}`. The same "
            "date and network again replaces the figures. A figure below zero: 400 `invalid`, nothing stored."
        ),
    )
    def post(self, request):
        incoming = SocialFiguresBatchSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        saved = services.save_social_figures(rows=[services.SocialFiguresIn(**row) for row in incoming.validated_data])
        return Response(SocialFiguresResultSerializer({"saved": saved}).data)


class KpiView(APIView):
    """The cross-channel KPIs of a period, read from the daily rollups."""

    access = {"get": rule("kpis", "kpis.view_dashboards")}

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True, description="First day (YYYY-MM-DD), Europe/Rome."),
            OpenApiParameter("to", str, required=True, description="Last day, inclusive."),
            OpenApiParameter("channel", enum=ChannelCode.values, required=False, description="One channel only."),
            OpenApiParameter("location", str, required=False, description="One store's code only."),
            OpenApiParameter(
                "granularity",
                enum=list(selectors.GRANULARITIES),
                required=False,
                description="`day` (default; at most 731 days), `week` (ISO, from Monday) or `month` (calendar).",
            ),
        ],
        responses={200: KpiReportSerializer},
        description=(
            "Per period: money as decimal strings with two places, shares and rates as decimal strings "
            "from 0 to 1 with four places (null when their divisor is zero). Figures come from the daily "
            "rollups, refreshed after each sale and every night. Reversed or unparseable dates, an unknown "
            "channel or store, a range too long for the granularity: 400 `invalid` naming the field."
        ),
    )
    def get(self, request):
        query = KpiQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        channel = Channel.objects.filter(code=data["channel"]).first() if data.get("channel") else None
        if data.get("channel") and channel is None:
            raise Invalid(f"No channel {data['channel']}.", {"channel": [f"Unknown channel {data['channel']}."]})
        location = None
        if data.get("location"):
            location = Location.objects.filter(code=data["location"]).first()
            if location is None:
                raise Invalid(
                    f"No location {data['location']}.", {"location": [f"Unknown location {data['location']}."]}
                )
        if location is None:
            check_sees_all(request.user)
        else:
            check_location(request.user, location)
        scope = selectors.Scope(start=data["from"], end=data["to"], channel=channel, location=location)
        # Who may read what was checked on the primary; the figures come from a replica when one is healthy.
        total, results = reads_from_replica()(selectors.kpi_summary)(scope, data["granularity"])
        report = {
            "from": scope.start,
            "to": scope.end,
            "granularity": data["granularity"],
            "channel": channel.code if channel else None,
            "location": location.code if location else None,
            "total": total,
            "results": results,
        }
        # The shape is KpiReportSerializer's (the schema says so); written out directly because running
        # a serializer field by field over hundreds of periods cost more than the queries.
        return Response(selectors.as_json(report))
