"""Writes about customers: identify, merge, consents, profile, erasure.

Every function owns its transaction and raises domain errors from
`omni.errors`. Work that belongs to the apps above (moving a loyalty account,
blanking an order's address) is reached through `customers.registry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import (
    ConsentChange,
    ConsentPurpose,
    Customer,
    CustomerMerge,
    Erasure,
    Identifier,
    Message,
    PersonalDataAction,
    PersonalDataAudit,
    Segment,
)
from customers.normalise import normalise_email, normalise_identifier, normalise_phone
from customers.registry import registry
from customers.selectors import MAX_MERGE_HOPS, current_consents, personal_data, related_rows, segment_members
from omni import webhooks
from omni.actor import SYSTEM, Actor
from omni.concurrency import retry_on_conflict
from omni.errors import CustomerErased, Invalid, MergeNotAllowed, NotFound, PermissionDenied
from omni.replicas import reads_from_replica

PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class IdentifierIn:
    kind: str
    value: str
    verified: bool = True


@dataclass
class IdentifyResult:
    customer: Customer
    created: bool
    merged_from: list[int] = field(default_factory=list)
    unverified_conflicts: list[IdentifierIn] = field(default_factory=list)


class _Retry(Exception):
    """The decision was taken on rows another transaction changed meanwhile: take it again."""


def _attribution(actor: Actor, request_key: str) -> dict[str, Any]:
    return {"user": actor.user, "api_client": actor.api_client, "request_key": (request_key or "")[:255]}


def clean_identifiers(identifiers: Sequence[IdentifierIn | Mapping[str, Any]]) -> list[IdentifierIn]:
    """Normalise and de-duplicate; a value given twice counts as verified if either said so.

    Raises Invalid naming the field (``identifiers.2.value``).
    """
    if not identifiers:
        raise Invalid(
            "identifiers: At least one identifier is needed.",
            errors={"identifiers": ["At least one identifier is needed."]},
        )
    cleaned: dict[tuple[str, str], IdentifierIn] = {}
    for index, item in enumerate(identifiers):
        if isinstance(item, Mapping):
            kind, raw, verified = item.get("kind"), item.get("value"), item.get("verified", True)
        else:
            kind, raw, verified = item.kind, item.value, item.verified
        value = normalise_identifier(
            str(kind or ""),
            raw,
            field=f"identifiers.{index}.value",
            kind_field=f"identifiers.{index}.kind",
        )
        key = (str(kind), value)
        earlier = cleaned.get(key)
        cleaned[key] = IdentifierIn(
            kind=str(kind), value=value, verified=bool(verified) or bool(earlier and earlier.verified)
        )
    return list(cleaned.values())


def clean_profile(profile: Mapping[str, Any] | None, *, prefix: str = "profile.") -> dict[str, Any]:
    """The known profile fields given, with e-mail and phone normalised (an empty string clears them)."""
    cleaned: dict[str, Any] = {}
    for name, value in (profile or {}).items():
        if name not in PROFILE_FIELDS:
            continue
        if name == "email" and value:
            value = normalise_email(value, field=f"{prefix}email")
        elif name == "phone" and value:
            value = normalise_phone(value, field=f"{prefix}phone")
        elif name == "birth_date":
            if value is not None and not isinstance(value, date):
                raise Invalid(errors={f"{prefix}birth_date": ["A date (YYYY-MM-DD) is needed."]})
        elif value is None:
            value = ""
        cleaned[name] = value
    return cleaned


def _lock_live(customer_ids: Iterable[int]) -> list[Customer]:
    """Lock the customers' rows in id order; if one was merged or erased meanwhile, start over."""
    ids = sorted(set(customer_ids))
    locked = list(Customer.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids) or any(c.merged_into_id is not None for c in locked):
        raise _Retry()
    return locked


@retry_on_conflict
def identify(
    *,
    identifiers: Sequence[IdentifierIn | Mapping[str, Any]],
    profile: Mapping[str, Any] | None = None,
    actor: Actor = SYSTEM,
    request_key: str = "",
    may_merge: bool = True,
) -> IdentifyResult:
    """Find the customer these identifiers name: create one, return one, or merge several.

    - No verified identifier known: a new customer (``created``).
    - Verified identifiers known on one customer: that customer, with the new
      identifiers attached.
    - On several customers: they are merged into the oldest (``merged_from``).
    An unverified identifier never causes a merge and is never moved off
    another customer; where it belongs to someone else it is reported in
    ``unverified_conflicts``. A verified identifier held unverified by a
    single customer adopts that customer (the guest who checked out with an
    e-mail and then logged in with it); held unverified by another customer
    than the one found, it moves to the one found (a proven claim beats a
    typed one), without merging them.

    Two calls racing on the same new identifiers end with one customer: the
    unique (kind, value) constraint makes the loser's insert fail, and the
    loser takes its decision again, in a savepoint, up to MAX_ATTEMPTS times.
    With ``may_merge`` false (a caller without the merge permission), identifiers
    that would merge customers raise PermissionDenied and nothing is written.
    Locks the customers' rows in id order. Raises Invalid, PermissionDenied.
    """
    cleaned = clean_identifiers(identifiers)
    fields = clean_profile(profile)
    for attempt in range(MAX_ATTEMPTS):
        try:
            with transaction.atomic():
                return _identify_once(cleaned, fields, actor, request_key, may_merge)
        except (IntegrityError, _Retry):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _identify_once(
    cleaned: list[IdentifierIn], fields: dict[str, Any], actor: Actor, request_key: str, may_merge: bool = True
) -> IdentifyResult:
    match = Q()
    for item in cleaned:
        match |= Q(kind=item.kind, value=item.value)
    known = {(row.kind, row.value): row for row in Identifier.objects.filter(match)}

    owners: set[int] = set()  # customers whose verified identifiers were given as verified
    claimed: list[Identifier] = []  # unverified rows given now as verified
    for item in cleaned:
        row = known.get((item.kind, item.value))
        if row is None or not item.verified:
            continue
        if row.is_verified:
            owners.add(row.customer_id)
        else:
            claimed.append(row)

    merged_from: list[int] = []
    created = False
    if owners:
        locked = _lock_live(owners)
        if len(locked) > 1 and not may_merge:
            raise PermissionDenied("These identifiers belong to several customers; merging them needs the permission.")
        survivor = min(locked, key=lambda c: (c.created_at, c.pk))
        for other in locked:
            if other.pk != survivor.pk:
                _merge_locked(survivor=survivor, merged=other, actor=actor, request_key=request_key)
                merged_from.append(other.pk)
    elif claimed:
        candidates = _lock_live({row.customer_id for row in claimed})
        survivor = min(candidates, key=lambda c: (c.created_at, c.pk))
    else:
        survivor = Customer.objects.create(**fields)
        created = True

    if survivor.erased_at is not None:  # an erased customer holds no identifiers; this is a lost race
        raise _Retry()

    for row in claimed:
        Identifier.objects.filter(pk=row.pk).update(customer=survivor, is_verified=True)

    conflicts: list[IdentifierIn] = []
    new: list[Identifier] = []
    for item in cleaned:
        row = known.get((item.kind, item.value))
        if row is None:
            new.append(Identifier(customer=survivor, kind=item.kind, value=item.value, is_verified=item.verified))
        elif not item.verified and row.customer_id != survivor.pk and row not in claimed:
            conflicts.append(item)
    if new:
        Identifier.objects.bulk_create(new)
        for identifier in new:
            for hook in registry.identifier_hooks.get(identifier.kind, {}).values():
                hook(customer=survivor, value=identifier.value)

    if not created:
        blanks = {name: value for name, value in fields.items() if value and not getattr(survivor, name)}
        if blanks:
            for name, value in blanks.items():
                setattr(survivor, name, value)
            survivor.save(update_fields=[*blanks, "updated_at"])
    return IdentifyResult(customer=survivor, created=created, merged_from=merged_from, unverified_conflicts=conflicts)


def merge_customers(
    *, survivor: Customer, merged: Customer, actor: Actor = SYSTEM, request_key: str = ""
) -> CustomerMerge:
    """Move everything that points at `merged` to `survivor`, and leave `merged` answering for it.

    Locks both customers' rows in id order. Raises MergeNotAllowed for a
    customer merged into itself, or one already merged or erased.
    """
    if survivor.pk == merged.pk:
        raise MergeNotAllowed("A customer cannot be merged into itself.")
    with transaction.atomic():
        both = Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")
        locked = {c.pk: c for c in both}
        if len(locked) != 2:
            raise NotFound("One of the customers does not exist.")
        for customer in locked.values():
            if customer.merged_into_id is not None:
                raise MergeNotAllowed(f"Customer #{customer.pk} was already merged into #{customer.merged_into_id}.")
            if customer.erased_at is not None:
                raise MergeNotAllowed(f"Customer #{customer.pk} was erased.")
        return _merge_locked(
            survivor=locked[survivor.pk], merged=locked[merged.pk], actor=actor, request_key=request_key
        )


def merge_into_oldest(*, customers: Sequence[Customer], actor: Actor = SYSTEM, request_key: str = "") -> Customer:
    """Merge several customers into the oldest of them (the admin action). Returns the survivor."""
    ids = sorted({c.pk for c in customers})
    if len(ids) < 2:
        raise MergeNotAllowed("Choose at least two different customers to merge.")
    with transaction.atomic():
        locked = list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        for customer in locked:
            if customer.merged_into_id is not None or customer.erased_at is not None:
                raise MergeNotAllowed(f"Customer #{customer.pk} was already merged or erased.")
        survivor = min(locked, key=lambda c: (c.created_at, c.pk))
        for other in locked:
            if other.pk != survivor.pk:
                _merge_locked(survivor=survivor, merged=other, actor=actor, request_key=request_key)
    return survivor


def _merge_locked(*, survivor: Customer, merged: Customer, actor: Actor, request_key: str) -> CustomerMerge:
    moved: dict[str, int] = {}
    handled: set[str] = set()
    for label, model, field_name in related_rows():
        handler = registry.merge_handlers.get(label)
        if handler is not None:
            if label not in handled:
                handled.add(label)
                moved[label] = int(handler(survivor=survivor, merged=merged) or 0)
            continue
        theirs = model._base_manager.filter(**{field_name: merged})
        is_unique = getattr(model._meta.get_field(field_name), "unique", False)
        if is_unique and theirs.exists() and model._base_manager.filter(**{field_name: survivor}).exists():
            raise MergeNotAllowed(
                f"Both customers have a {model._meta.verbose_name} and no merge handler is registered for it."
            )
        count = theirs.update(**{field_name: survivor})
        if count:
            moved[label] = moved.get(label, 0) + count

    changed = []
    for name in PROFILE_FIELDS:
        if not getattr(survivor, name) and getattr(merged, name):
            setattr(survivor, name, getattr(merged, name))
            changed.append(name)
    if changed:
        survivor.save(update_fields=[*changed, "updated_at"])
    Customer.objects.filter(pk=merged.pk).update(
        merged_into=survivor,
        first_name="",
        last_name="",
        email="",
        phone="",
        birth_date=None,
        updated_at=timezone.now(),
    )
    merged.merged_into = survivor
    _audit(PersonalDataAction.MERGE, merged, actor)
    webhooks.publish("customer.merged", {"customer": survivor.pk, "merged_from": [merged.pk]})
    return CustomerMerge.objects.create(
        survivor=survivor, merged=merged, moved=moved, **_attribution(actor, request_key)
    )


def _audit(action: str, customer: Customer, actor: Actor) -> None:
    PersonalDataAudit.objects.create(
        action=action, customer=customer, door=actor.door_name, user=actor.user, api_client=actor.api_client
    )


def export_personal_data(*, customer: Customer, actor: Actor = SYSTEM) -> dict[str, Any]:
    """All personal data held about `customer` (right of access); the export itself is audited."""
    with transaction.atomic():
        _audit(PersonalDataAction.EXPORT, customer, actor)
        return personal_data(customer)


def lock_survivor(customer: Customer) -> Customer:
    """Lock the row of the live customer `customer` now is, following merges; for writes that belong to them.

    A merge holds both customers' rows until it commits, so a write made under
    this lock either lands before the merge (which then moves it) or sees the
    merge and lands on the survivor: never on the merged customer afterwards.
    Call it inside the caller's transaction.
    """
    locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    for _hop in range(MAX_MERGE_HOPS):
        if locked.merged_into_id is None:
            break
        locked = Customer.objects.select_for_update(no_key=True).get(pk=locked.merged_into_id)
    return locked


def _lock_for_change(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    if locked.erased_at is not None:
        raise CustomerErased()
    if locked.merged_into_id is not None:
        raise MergeNotAllowed(f"Customer #{locked.pk} was merged into #{locked.merged_into_id}.")
    return locked


@retry_on_conflict
def set_consents(
    *,
    customer: Customer,
    choices: Mapping[str, bool],
    channel: str,
    source: str = "",
    actor: Actor = SYSTEM,
    request_key: str = "",
) -> dict[str, ConsentChange | None]:
    """Record the consents that changed (a purpose given the state it already has writes nothing).

    Returns the current state per purpose. Raises Invalid (no purpose, an
    unknown one) and CustomerErased.
    """
    unknown = [p for p in choices if p not in ConsentPurpose.values]
    if unknown:
        raise Invalid(errors={name: ["Unknown consent purpose."] for name in unknown})
    if not choices:
        raise Invalid(errors={"non_field_errors": ["Give at least one of " + ", ".join(ConsentPurpose.values) + "."]})
    with transaction.atomic():
        locked = _lock_for_change(customer)
        current = current_consents([locked.pk])[locked.pk]
        rows = [
            ConsentChange(
                customer=locked,
                purpose=purpose,
                is_granted=granted,
                channel=channel,
                source=source,
                **_attribution(actor, request_key),
            )
            for purpose, granted in choices.items()
            if (change := current[purpose]) is None or change.is_granted != granted
        ]
        ConsentChange.objects.bulk_create(rows)
    return current_consents([customer.pk])[customer.pk]


@retry_on_conflict
def update_profile(*, customer: Customer, changes: Mapping[str, Any], actor: Actor = SYSTEM) -> Customer:
    """Change profile fields. E-mail and phone are normalised. Raises Invalid, CustomerErased."""
    fields = clean_profile(changes, prefix="")
    with transaction.atomic():
        locked = _lock_for_change(customer)
        for name, value in fields.items():
            setattr(locked, name, value)
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
    return locked


@retry_on_conflict
def erase_customer(*, customer: Customer, actor: Actor = SYSTEM, request_key: str = "") -> Erasure:
    """Remove the person from the data, keep the books.

    The customer row stays as an anonymous shell (so orders, ledgers and
    returns that point at it still add up), its profile is blanked, its
    identifiers deleted, every consent withdrawn, and each app's erase hook
    runs (orders blank their addresses). An `Erasure` row records who asked
    and when. Raises CustomerErased when done already.
    """
    with transaction.atomic():
        locked = _lock_for_change(customer)
        summary: dict[str, Any] = {}
        for name, hook in registry.erase_hooks.items():
            summary[name] = hook(customer=locked)
        summary["identifiers_deleted"] = Identifier.objects.filter(customer=locked).delete()[0]
        # The messages sent keep their kind and outcome, not the address or the text.
        summary["messages_blanked"] = Message.objects.filter(customer=locked).update(to="", subject="", body="")
        granted = [p for p, change in current_consents([locked.pk])[locked.pk].items() if change and change.is_granted]
        ConsentChange.objects.bulk_create(
            ConsentChange(
                customer=locked,
                purpose=purpose,
                is_granted=False,
                channel="",
                source="erasure",
                **_attribution(actor, request_key),
            )
            for purpose in granted
        )
        summary["consents_withdrawn"] = granted
        _audit(PersonalDataAction.ERASE, locked, actor)
        now = timezone.now()
        Customer.objects.filter(pk=locked.pk).update(
            first_name="", last_name="", email="", phone="", birth_date=None, erased_at=now, updated_at=now
        )
        webhooks.publish("customer.erased", {"customer": locked.pk})
        return Erasure.objects.create(customer=locked, summary=summary, **_attribution(actor, request_key))


@reads_from_replica()
def count_members(*, segment: Segment) -> int:
    """Count the segment's members now and keep the figure on the segment (the admin list shows it).

    The count is read from a replica when one is healthy and no transaction is open.
    """
    count = segment_members(segment).count()
    Segment.objects.filter(pk=segment.pk).update(member_count=count, counted_at=timezone.now())
    segment.member_count = count
    return count
