"""Reads about customers: the single view, the timeline, consents, the export.

Each function costs a fixed number of queries whatever the customer's
history: one per registered source, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections, models, router
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from customers.models import (
    ConsentChange,
    ConsentPurpose,
    Customer,
    CustomerMerge,
    Erasure,
    Identifier,
    IdentifierKind,
    ImportedCustomer,
    Segment,
    SegmentReach,
)
from customers.normalise import candidate_values
from customers.registry import Panel, TimelineEntry, registry

MAX_MERGE_HOPS = 50

# Rows that record the history of customers themselves: they stay where they are in a merge.
NOT_MOVED = {"customers.customermerge", "customers.erasure"}
# Links that stay on a merged customer: a stand-in merged into a person must not hand that person to
# every visitor who types one of their identifiers (the stand-in is looked up live only).
NOT_MOVED_FIELDS = {("customers.identifier", "stand_in")}


def related_rows() -> list[tuple[str, type[models.Model], str]]:
    """(label, model, field name) of every foreign key to Customer that follows a merge, found at run time.

    Models of the apps above (orders.Order.customer, ...) are found here
    without importing them.
    """
    found: list[tuple[str, type[models.Model], str]] = []
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if not isinstance(model, type):  # pragma: no cover - "self" is resolved once apps are ready
            continue
        label = model._meta.label_lower
        if label in NOT_MOVED or relation.many_to_many or (label, relation.field.name) in NOT_MOVED_FIELDS:
            continue
        found.append((label, model, relation.field.name))
    return found


def customers() -> QuerySet[Customer]:
    """Customers with their identifiers, ready for a list (two queries)."""
    return Customer.objects.prefetch_related(Prefetch("identifiers", queryset=Identifier.objects.order_by("pk")))


def customer_by_id(pk: int) -> Customer | None:
    return customers().filter(pk=pk).first()


def survivor_of(customer: Customer) -> Customer:
    """The live customer a merged one now is (following chains of merges)."""
    current = customer
    for _hop in range(MAX_MERGE_HOPS):
        if current.merged_into_id is None:
            return current
        current = Customer.objects.get(pk=current.merged_into_id)
    return current


def by_identifier(text: str) -> QuerySet[Customer]:
    """The customer an identifier value points at, whatever its kind, typed in any usual form."""
    values = candidate_values(text)
    if not values:
        return customers().none()
    return customers().filter(pk__in=Identifier.objects.filter(value__in=values).values("customer_id"))


def search_filter(text: str) -> Q:
    """Names, profile e-mail and phone, and identifier values, normalised as stored (for the admin search)."""
    values = candidate_values(text)
    condition = Q(identifiers__value__in=values) | Q(email__in=values) | Q(phone__in=values)
    for word in text.split():
        # A word without a letter is part of a number (a phone typed in groups, a card), never of a name.
        if any(char.isalpha() for char in word):
            condition |= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    if "@" in text:
        condition |= Q(email__icontains=text.strip())
    return condition


LATEST_FIRST = ("-changed_at", "-pk")  # which change of a purpose is the customer's current choice


def consent_granted(customer_id: int, purpose: str) -> bool | None:
    """Whether the customer's latest change of `purpose` granted it (None: never asked): one read of the index
    on (customer, purpose, changed_at), for a caller that needs one purpose of one customer. The same rule as
    `current_consents` (LATEST_FIRST), in plain SQL: a receipt asks it for every sale."""
    alias = router.db_for_read(ConsentChange)
    with connections[alias].cursor() as cursor:
        cursor.execute(_consent_granted_sql(connections[alias]), [customer_id, purpose])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _consent_granted_sql(connection: Any, *, customer: str = "%s") -> str:
    """The latest choice of one purpose (a parameter) of the customer `customer` names: a parameter, or a column
    of an enclosing statement."""
    quote, meta = connection.ops.quote_name, ConsentChange._meta
    columns = {field.name: quote(field.column) for field in meta.concrete_fields} | {"pk": quote(meta.pk.column)}
    column = {name: columns[name] for name in ("is_granted", "customer", "purpose")}
    # The same order as the ORM's, from the one tuple that states it.
    order = [columns[name.lstrip("-")] + (" DESC" if name.startswith("-") else "") for name in LATEST_FIRST]
    return (
        f"SELECT {column['is_granted']} FROM {quote(meta.db_table)} "
        f"WHERE {column['customer']} = {customer} AND {column['purpose']} = %s ORDER BY {', '.join(order)} LIMIT 1"
    )


# The query of `_consent_granted_sql` as a PostgreSQL function (migrations 0010, and 0011 for PL/pgSQL, which plans
# it once per connection; a test holds the two the same).
# Declared VOLATILE, it reads in a snapshot of its own, taken when it is called: a statement that waited for a
# customer's lock and calls it on the locked row sees what was committed while it waited.
LATEST_CONSENT_FUNCTION = "customers_latest_consent"


def latest_consent_sql(connection: Any, customer: str) -> str:
    """An expression of the latest choice of one purpose (its parameter; NULL: never asked) of the customer whose
    id is `customer`, a column of the caller's statement, for a statement that locks that customer and reads their
    consent in the same trip (`customers.services.identify`).

    On PostgreSQL it calls LATEST_CONSENT_FUNCTION, so the read sees the state once the lock is held: call it on
    rows that come out of the locking (a CTE of its own), not beside them. Elsewhere the subquery itself: SQLite
    runs one writing transaction at a time, begun before anything is read."""
    if connection.vendor == "postgresql":
        return f"{LATEST_CONSENT_FUNCTION}({customer}, %s)"
    return f"({_consent_granted_sql(connection, customer=customer)})"


def current_consents(customer_ids: Iterable[int]) -> dict[int, dict[str, ConsentChange | None]]:
    """Each customer's latest change per purpose (None: never asked). One query for any number of customers."""
    ids = list(customer_ids)
    state: dict[int, dict[str, ConsentChange | None]] = {pk: dict.fromkeys(ConsentPurpose.values) for pk in ids}
    latest = (
        ConsentChange.objects.filter(customer_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("purpose")],
                order_by=list(LATEST_FIRST),
            )
        )
        .filter(rank=1)
    )
    for change in latest:
        state[change.customer_id][change.purpose] = change
    return state


def consent_history(customer: Customer) -> QuerySet[ConsentChange]:
    return ConsentChange.objects.filter(customer=customer).order_by("-changed_at", "-pk")


def summary(customer: Customer) -> dict[str, Any]:
    """What the other apps add to the detail: loyalty, channels, first and last seen, orders per channel.

    `channels` is the union of every provider's, `first_seen` the earliest
    (the customer's own creation included) and `last_seen` the latest.
    """
    body: dict[str, Any] = {"loyalty": None}
    channels: set[str] = set()
    first_seen: datetime = customer.created_at
    last_seen: datetime = customer.created_at
    for provider in registry.summaries.values():
        part = dict(provider(customer) or {})
        channels.update(part.pop("channels", []) or [])
        seen = part.pop("first_seen", None)
        if seen is not None and seen < first_seen:
            first_seen = seen
        seen = part.pop("last_seen", None)
        if seen is not None and seen > last_seen:
            last_seen = seen
        body.update(part)
    body.update(channels=sorted(channels), first_seen=first_seen, last_seen=last_seen)
    return body


def timeline_count(customer: Customer) -> int:
    """How many entries the customer's timeline has: one count query per source."""
    return sum(source.count([customer.pk]) for source in registry.timeline_sources.values())


def timeline_entries(customer: Customer, *, offset: int, limit: int) -> list[TimelineEntry]:
    """Entries offset..offset+limit of the customer's history across sources, newest first.

    Each source gives its newest `offset + limit` entries in one query; they
    are merged here, so a page costs one query per source.
    """
    wanted = offset + limit
    entries: list[TimelineEntry] = []
    for source in registry.timeline_sources.values():
        entries.extend(source.entries([customer.pk], wanted))
    entries.sort(key=lambda e: e.occurred_at, reverse=True)
    return entries[offset:wanted]


def panels(customer: Customer) -> list[Panel]:
    found = [provider(customer) for provider in registry.panels.values()]
    return [panel for panel in found if panel is not None]


def merge_preview(chosen: Iterable[Customer]) -> tuple[Customer, list[dict[str, Any]]]:
    """For the admin's confirmation page: the survivor, and per merged customer how many rows of each kind move."""
    ordered = sorted(chosen, key=lambda c: (c.created_at, c.pk))
    survivor, others = ordered[0], ordered[1:]
    moving = []
    for other in others:
        counts = []
        for label, model, field_name in related_rows():
            count = model._base_manager.filter(**{field_name: other}).count()
            if count:
                counts.append({"label": label, "name": str(model._meta.verbose_name_plural), "count": count})
        moving.append({"customer": other, "counts": counts})
    return survivor, moving


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def personal_data(customer: Customer) -> dict[str, Any]:
    """Everything held about the person, JSON-able: profile, identifiers, consents, merges and each app's part."""
    data: dict[str, Any] = {
        "customer": {
            "id": customer.pk,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "birth_date": _iso(customer.birth_date),
            "created_at": _iso(customer.created_at),
            "erased_at": _iso(customer.erased_at),
        },
        "identifiers": [
            {"kind": i.kind, "value": i.value, "verified": i.is_verified, "created_at": _iso(i.created_at)}
            for i in Identifier.objects.filter(customer=customer).order_by("pk")
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.is_granted,
                "at": _iso(c.changed_at),
                "channel": c.channel,
                "source": c.source,
            }
            for c in consent_history(customer)
        ],
        "merged_from": [
            {"customer": m.merged_id, "at": _iso(m.merged_at)}
            for m in CustomerMerge.objects.filter(survivor=customer).order_by("merged_at", "pk")
        ],
        "erasures": [{"at": _iso(e.erased_at)} for e in Erasure.objects.filter(customer=customer)],
        "imported_as": [
            {"external_id": i.external_id, "imported_at": _iso(i.imported_at)}
            for i in ImportedCustomer.objects.filter(customer=customer).order_by("pk")
        ],
    }
    for name, part in registry.export_parts.items():
        data[name] = part(customer)
    return data


def timeline_entry_data(entry: TimelineEntry) -> dict[str, Any]:
    return asdict(entry)


def segment_members(segment: Segment, *, now: datetime | None = None) -> QuerySet[Customer]:
    """The customers a segment's rules select, among the live ones who gave its consent (one query).

    Orders and loyalty tiers are reached through their relation names
    (`orders`, `loyalty_account`), the way a string foreign key names them:
    nothing of those apps is imported.
    """
    now = now or timezone.now()
    latest_choice = (
        ConsentChange.objects.filter(customer=OuterRef("pk"), purpose=segment.consent)
        .order_by("-changed_at", "-pk")
        .values("is_granted")[:1]
    )
    members = (
        Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .annotate(consented=Subquery(latest_choice))
        .filter(consented=True)
        .annotate(
            order_count=Count("orders", distinct=True),
            revenue=Coalesce(Sum("orders__total"), Value(Decimal("0")), output_field=DecimalField()),
            last_order=Max("orders__created_at"),
            channel_count=Count("orders__channel", distinct=True),
        )
    )
    if segment.channels:
        members = members.filter(
            pk__in=Customer.objects.filter(orders__channel__code__in=segment.channels).values("pk")
        )
    if segment.reach == SegmentReach.OMNICHANNEL:
        members = members.filter(channel_count__gte=2)
    elif segment.reach == SegmentReach.SINGLE_CHANNEL:
        members = members.filter(channel_count=1)
    if segment.last_order_within_days is not None:
        members = members.filter(last_order__gte=now - timedelta(days=segment.last_order_within_days))
    if segment.no_order_for_days is not None:
        cutoff = now - timedelta(days=segment.no_order_for_days)
        members = members.filter(Q(last_order__lt=cutoff) | Q(last_order__isnull=True))
    if segment.min_orders is not None:
        members = members.filter(order_count__gte=segment.min_orders)
    if segment.max_orders is not None:
        members = members.filter(order_count__lte=segment.max_orders)
    if segment.min_revenue is not None:
        members = members.filter(revenue__gte=segment.min_revenue)
    if segment.max_revenue is not None:
        members = members.filter(revenue__lte=segment.max_revenue)
    if segment.tiers:
        members = members.filter(
            pk__in=Customer.objects.filter(loyalty_account__tier__code__in=segment.tiers).values("pk")
        )
    return members.order_by("pk")


# The identifiers that name a person; a device alone identifies no one (it is shared, sold, reset).
NAMING_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.CARD, IdentifierKind.WEB_ACCOUNT)


def is_identified(customer_field: str = "customer") -> Q:
    """A condition on a row with a customer foreign key `customer_field`: the customer is known by an e-mail,
    a phone, a card or a web account (on the profile or as an identifier), not by a device alone."""
    naming = Identifier.objects.filter(customer=OuterRef(customer_field), kind__in=NAMING_KINDS)
    known = ~Q(**{f"{customer_field}__email": ""}) | ~Q(**{f"{customer_field}__phone": ""}) | Q(Exists(naming))
    return Q(**{f"{customer_field}__isnull": False}) & known
