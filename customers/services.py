"""Writes about customers: identify, merge, consents, profile, erasure.

Every function owns its transaction and raises domain errors from
`omni.errors`. Work that belongs to the apps above (moving a loyalty account,
blanking an order's address) is reached through `customers.registry`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import reference
from customers.models import (
    ConsentChange,
    ConsentPurpose,
    Customer,
    CustomerMerge,
    Erasure,
    Identifier,
    IdentifierKind,
    Message,
    PersonalDataAction,
    PersonalDataAudit,
    Segment,
)
from customers.normalise import normalise_email, normalise_identifier, normalise_phone
from customers.registry import registry
from customers.selectors import (
    MAX_MERGE_HOPS,
    current_consents,
    latest_consent_sql,
    personal_data,
    related_rows,
    segment_members,
)
from omni import bulk, webhooks
from omni import rows as db_rows
from omni.actor import SYSTEM, Actor
from omni.concurrency import retry_on_conflict, whole_transaction_retried
from omni.errors import Busy, Conflict, CustomerErased, Invalid, MergeNotAllowed, NotFound, PermissionDenied
from omni.replicas import reads_from_replica

PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date")
# Identifier kinds that are also profile fields: each fills the other where it is blank.
PROFILE_IDENTIFIERS = {IdentifierKind.EMAIL: "email", IdentifierKind.PHONE: "phone"}
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
    stand_in: bool = False  # nobody was identified: the shared anonymous stand-in of typed identifiers
    # The customer's latest choice (None: never asked) of the purpose `identify` was asked to read (`consent`),
    # read under their lock in the statement that found them; empty when it was not read there.
    consents: dict[str, bool | None] = field(default_factory=dict)


class _Retry(Exception):
    """The decision was taken on rows another transaction changed meanwhile: take it again."""


def _attribution(actor: Actor, request_key: str) -> dict[str, Any]:
    return {"user": actor.user, "api_client": actor.api_client, "request_key": (request_key or "")[:255]}


def clean_identifiers(identifiers: Sequence[IdentifierIn | Mapping[str, Any]]) -> list[IdentifierIn]:
    """Normalise and de-duplicate; a value given twice counts as verified if either said so.

    Raises Invalid naming the field (``identifiers.2.value``).
    """
    if not identifiers:
        needed = _("At least one identifier is needed.")
        raise Invalid(f"identifiers: {needed}", errors={"identifiers": [needed]})
    normalised = []
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
        normalised.append(IdentifierIn(kind=str(kind), value=value, verified=bool(verified)))
    return merge_repeated(normalised)


def merge_repeated(identifiers: Iterable[IdentifierIn]) -> list[IdentifierIn]:
    """Identifiers already normalised, each value once: a value given twice counts as verified if either said so."""
    cleaned: dict[tuple[str, str], IdentifierIn] = {}
    for item in identifiers:
        key = (item.kind, item.value)
        earlier = cleaned.get(key)
        cleaned[key] = IdentifierIn(
            kind=item.kind, value=item.value, verified=item.verified or bool(earlier and earlier.verified)
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
                raise Invalid(errors={f"{prefix}birth_date": [_("A date (YYYY-MM-DD) is needed.")]})
        elif value is None:
            value = ""
        cleaned[name] = value
    return cleaned


def _held_sql(pairs: int, *, lock: bool, consent: bool = False) -> str:
    """The statement of `_held` for `pairs` (kind, value) pairs: the one place its text is chosen per engine.

    With `consent` (and `lock`), each row ends with the holder's id and their latest choice of the purpose given
    as the last parameter. The locking select is then a CTE of its own and the consent is read on the rows it
    gives: on PostgreSQL once each holder is locked, so a withdrawal committed while the lock was awaited is
    seen (`selectors.latest_consent_sql`); read beside the locking, it would come from the snapshot taken
    before the wait."""
    quote = connection.ops.quote_name
    ident, cust = Identifier._meta, Customer._meta
    kind, value = quote(ident.get_field("kind").column), quote(ident.get_field("value").column)
    holder, pk = quote(ident.get_field("customer").column), quote(cust.pk.column)
    match = " OR ".join([f"(i.{kind} = %s AND i.{value} = %s)"] * pairs)
    consent = consent and lock
    sql = (
        f"SELECT {db_rows.columns(Identifier, 'i')}, {db_rows.columns(Customer, 'c')}"
        f"{f', c.{pk} AS consent_of' if consent else ''} "
        f"FROM {quote(ident.db_table)} i JOIN {quote(cust.db_table)} c ON c.{pk} = i.{holder} "
        f"WHERE {match} ORDER BY c.{pk}, i.{quote(ident.pk.column)}"
    )
    if lock and connection.features.has_select_for_update:  # SQLite: one writer at a time, nothing to lock
        sql += " FOR NO KEY UPDATE OF c" if connection.features.has_select_for_no_key_update else " FOR UPDATE OF c"
    if consent:
        latest = latest_consent_sql(connection, "held.consent_of")
        sql = f"WITH held AS MATERIALIZED ({sql}) SELECT held.*, {latest} FROM held"
    return sql


def _held(
    cleaned: Sequence[IdentifierIn], *, consent: str = ""
) -> tuple[dict[tuple[str, str], Identifier], dict[int, Customer], dict[int, bool | None]]:
    """The stored rows of these identifiers by (kind, value), their holders by id, and (asked a `consent`
    purpose, when the holders are locked) each holder's latest choice of it: one statement.

    When one identifier is given verified, the holders are locked in the
    same statement (``FOR NO KEY UPDATE``, in id order, the lock order of
    every write): only a verified identifier names or claims a customer, and
    every customer `identify` then decides on (the owners merged, the holders
    of the rows claimed) is one of them. On PostgreSQL a holder that another
    transaction changed while this one waited for its lock comes back as it
    is now (merged or erased meanwhile: the caller starts over). Without a
    verified identifier nothing is locked here: nobody is named, and the
    stand-in locks what it needs (`_stand_in_for`); no consent is read then.
    Consents change under the holder's lock, so the one read here holds until
    the commit.
    """
    lock = any(item.verified for item in cleaned)
    params: list[str] = [part for item in cleaned for part in (item.kind, item.value)]
    asked = bool(consent) and lock
    with connection.cursor() as cursor:
        cursor.execute(_held_sql(len(cleaned), lock=lock, consent=asked), [*params, *([consent] if asked else [])])
        found = cursor.fetchall()
    as_identifier, as_customer, split = (
        db_rows.builder(Identifier),
        db_rows.builder(Customer),
        db_rows.width(Identifier),
    )
    end = split + db_rows.width(Customer)
    known: dict[tuple[str, str], Identifier] = {}
    holders: dict[int, Customer] = {}
    consents: dict[int, bool | None] = {}
    for row in found:
        identifier = as_identifier(row[:split])
        if identifier.customer_id not in holders:
            holders[identifier.customer_id] = as_customer(row[split:end])
            if asked:
                consents[identifier.customer_id] = None if row[end + 1] is None else bool(row[end + 1])
        known[(identifier.kind, identifier.value)] = identifier
    return known, holders, consents


def _live(customer_ids: Iterable[int], holders: Mapping[int, Customer]) -> list[Customer]:
    """The customers, in id order, as `_held` locked them; if one was merged meanwhile, start over."""
    ids = sorted(set(customer_ids))
    locked = [holders[pk] for pk in ids if pk in holders]
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
    consent: str = "",
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
    - Only unverified identifiers, each held by another customer: nobody is
      identified, and nobody's profile is handed out. The answer is the
      anonymous *stand-in* of those identifiers: created empty by the first
      such call (201), the same one on every later call (200), so repeated
      calls do not multiply customers. It never gets a profile, since every
      visitor who types the same value shares it.

    E-mail and phone identifiers the customer holds fill the profile's blank
    ``email`` and ``phone``, and a profile e-mail or phone that no customer
    holds yet becomes an unverified identifier (``attach_profile_identifiers``);
    a value the customer set is never overwritten.

    Two calls racing on the same new identifiers end with one customer: the
    unique (kind, value) constraint makes the loser's insert fail, and the
    loser takes its decision again, in a savepoint, up to MAX_ATTEMPTS times;
    in a transaction its owner runs again as a whole, with no savepoint taken
    (a sale, by itself or in an API request with an Idempotency-Key), there is
    none: the loser raises Busy and the whole transaction runs again. The
    identifiers and their holders are read, and the holders locked, in one
    statement (`_held`).
    With ``may_merge`` false (a caller without the merge permission), identifiers
    that would merge customers raise PermissionDenied and nothing is written.
    Asked a ``consent`` purpose (a sale, for its receipt), the customer's latest
    choice of it comes back in ``consents`` when the statement that found them
    locked them and nothing here changed their consents since (no merge).
    Otherwise (a customer created here, the stand-in, a merge) ``consents`` is
    empty. Locks the customers' rows in id order. Raises Invalid, PermissionDenied.
    """
    cleaned = clean_identifiers(identifiers)
    fields = clean_profile(profile)
    if whole_transaction_retried():
        # The owner of the transaction (record_order's retry, the idempotency middleware) runs it all again on
        # Busy and keeps nothing of this attempt: a lost race goes there, and the common case costs no savepoint.
        try:
            return _identify_once(cleaned, fields, actor, request_key, may_merge, consent)
        except (IntegrityError, _Retry) as error:
            raise Busy() from error
    for attempt in range(MAX_ATTEMPTS):
        try:
            with transaction.atomic():
                return _identify_once(cleaned, fields, actor, request_key, may_merge, consent)
        except (IntegrityError, _Retry):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class IdentifiedMany:
    """What `identify_many` found: value -> customer id, and the values that were new to Omni."""

    customers: dict[str, int] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)


def identify_many(
    *, kind: str, values: Iterable[str], actor: Actor = SYSTEM, write: bool = True, chunk: int = 5000
) -> IdentifiedMany:
    """The bulk form of `identify` for many single identifiers of one kind (the loyalty cards of a receipt file).

    Values already normalised. A value held verified by a live customer is
    that customer's, as `identify` decides (`_is_owner`): those are answered
    from one query per `chunk` values. Every other value (unknown to Omni,
    or held unverified) goes through `identify` itself, one at a time, so a
    new card creates its customer and its loyalty card exactly as one sale
    would. Without `write` those are only listed in `new` (a dry run).
    """
    wanted = sorted(set(values))
    found = IdentifiedMany()
    for start in range(0, len(wanted), chunk):
        for value, customer_id, verified, merged_into in Identifier.objects.filter(
            kind=kind, value__in=wanted[start : start + chunk]
        ).values_list("value", "customer_id", "is_verified", "customer__merged_into_id"):
            if _is_owner(verified) and merged_into is None:
                found.customers[value] = customer_id
    found.new = [value for value in wanted if value not in found.customers]
    if write:
        for value in found.new:
            found.customers[value] = identify(identifiers=[{"kind": kind, "value": value}], actor=actor).customer.pk
    return found


def follow_identifier(*, customer_id: int, kind: str, value: str, replaces: str = "") -> None:
    """The customer's identifier of `kind` follows a number another app owns (loyalty's card number).

    The one write path of such an identifier: `value` becomes (or stays) the
    customer's, verified, and `replaces` (a lost card) stops naming them.
    Raises Conflict, nothing written, when `value` names another customer.
    Call inside the owner's transaction.
    """
    value = normalise_identifier(kind, value)
    replaces = normalise_identifier(kind, replaces) if replaces else ""
    held = Identifier.objects.filter(kind=kind, value=value).first()
    if held is not None and held.customer_id != customer_id:
        raise Conflict("This identifier belongs to another customer.")
    if replaces and replaces != value:
        Identifier.objects.filter(kind=kind, value=replaces, customer_id=customer_id).delete()
    if held is None:
        Identifier.objects.create(customer_id=customer_id, kind=kind, value=value, is_verified=True)
    elif not held.is_verified:
        Identifier.objects.filter(pk=held.pk).update(is_verified=True)


def follow_identifiers_many(*, kind: str, pairs: Sequence[tuple[int, str]]) -> int:
    """The bulk form of `follow_identifier` for new numbers: (customer id, value) pairs, values normalised.

    Each value becomes its customer's verified identifier (one COPY for the
    new ones, one UPDATE for those the customer held unverified). Raises
    Conflict, nothing written, when a value names another customer: the
    caller checks that first. Call inside the owner's transaction. Returns
    the identifiers added.
    """
    wanted = dict((value, customer_id) for customer_id, value in pairs)
    held: dict[str, tuple[int, int, bool]] = {}
    values = sorted(wanted)
    for part in bulk.chunks(values):
        for pk, value, customer_id, verified in Identifier.objects.filter(kind=kind, value__in=part).values_list(
            "pk", "value", "customer_id", "is_verified"
        ):
            held[value] = (pk, customer_id, verified)
    if any(held[value][1] != wanted[value] for value in held):
        raise Conflict("This identifier belongs to another customer.")
    Identifier.objects.filter(pk__in=[pk for pk, _c, verified in held.values() if not verified]).update(
        is_verified=True
    )
    now = timezone.now()
    new = [(wanted[value], kind, value, True, now) for value in values if value not in held]
    bulk.insert_rows(Identifier, ("customer_id", "kind", "value", "is_verified", "created_at"), new)
    return len(new)


def consent_changes(
    current: Mapping[str, ConsentChange | None], choices: Mapping[str, bool], *, at: Any = None
) -> list[str]:
    """The purposes whose choice changes the customer's consent: the one rule of what a consent write records.

    A purpose given the state it already has records nothing. With `at` (a
    consent given elsewhere, on that date) a choice older than the customer's
    latest change records nothing either: what they said since wins.
    """
    return [
        purpose
        for purpose, granted in choices.items()
        if (change := current.get(purpose)) is None
        or (change.is_granted != granted and (at is None or change.changed_at < at))
    ]


def _is_owner(is_verified: bool) -> bool:
    """An identifier given as verified names its holder when the holder's row is verified too; an
    unverified row is only a claim (it never merges, it is adopted or moved)."""
    return is_verified


def _identify_once(
    cleaned: list[IdentifierIn],
    fields: dict[str, Any],
    actor: Actor,
    request_key: str,
    may_merge: bool = True,
    consent: str = "",
) -> IdentifyResult:
    known, holders, consents = _held(cleaned, consent=consent)
    owners, claimed = match_identifiers(cleaned, known)

    merged_from: list[int] = []
    created = False
    if owners:
        locked = _live(owners, holders)
        if len(locked) > 1 and not may_merge:
            raise PermissionDenied(
                _("These identifiers belong to several customers; merging them needs the permission.")
            )
        survivor = min(locked, key=lambda c: (c.created_at, c.pk))
        for other in locked:
            if other.pk != survivor.pk:
                _merge_locked(survivor=survivor, merged=other, actor=actor, request_key=request_key)
                merged_from.append(other.pk)
    elif claimed:
        candidates = _live({row.customer_id for row in claimed}, holders)
        survivor = min(candidates, key=lambda c: (c.created_at, c.pk))
    elif all((item.kind, item.value) in known for item in cleaned):
        # Every identifier is unverified (a verified one would be in owners or claimed) and held by someone.
        survivor, created = _stand_in_for([known[(item.kind, item.value)] for item in cleaned])
        typed = [item for item in cleaned if known[(item.kind, item.value)].customer_id != survivor.pk]
        return IdentifyResult(customer=survivor, created=created, unverified_conflicts=typed, stand_in=True)
    else:
        # The profile it is offered (its e-mail and phone identifiers fill the blanks) is written with it.
        survivor = Customer(**fields)
        for name, value in offered_profile(
            fields, [item for item in cleaned if (item.kind, item.value) not in known]
        ).items():
            setattr(survivor, name, value)
        db_rows.insert([survivor])
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
        db_rows.insert(new)
        for identifier in new:
            for hook in registry.identifier_hooks.get(identifier.kind, {}).values():
                hook(customer=survivor, value=identifier.value)

    held_by_survivor = {row.pk for row in claimed} | {
        row.pk for row in known.values() if row.customer_id == survivor.pk or row.customer_id in merged_from
    }
    offered = offered_profile(
        fields,
        [item for item in cleaned if (row := known.get((item.kind, item.value))) is None or row.pk in held_by_survivor],
    )
    blanks = {name: value for name, value in offered.items() if not getattr(survivor, name)}
    if blanks:
        for name, value in blanks.items():
            setattr(survivor, name, value)
        survivor.save(update_fields=[*blanks, "updated_at"])
    attach_profile_identifiers(survivor, held={(item.kind, item.value) for item in cleaned})
    # A merge moved the other customers' consents onto the survivor: what was read of it alone no longer holds.
    read = {} if merged_from or survivor.pk not in consents else {consent: consents[survivor.pk]}
    return IdentifyResult(
        customer=survivor,
        created=created,
        merged_from=merged_from,
        unverified_conflicts=conflicts,
        consents=read,
    )


def match_identifiers(cleaned: Sequence[IdentifierIn], known: Mapping[tuple[str, str], Any]) -> tuple[set[int], list]:
    """The merge rule: (customers the identifiers name, unverified rows they claim), from the rows held.

    `known` maps (kind, value) to the stored row (anything with `customer_id`
    and `is_verified`). A verified identifier held verified names its holder:
    several holders are merged. A verified identifier held unverified is only
    a claim: its row is adopted or moved, never a reason to merge. An
    unverified identifier names nobody. `identify` and the customer import
    (`customers.moving_in`) both decide by it.
    """
    owners: set[int] = set()  # customers whose verified identifiers were given as verified
    claimed: list = []  # unverified rows given now as verified
    for item in cleaned:
        row = known.get((item.kind, item.value))
        if row is None or not item.verified:
            continue
        if _is_owner(row.is_verified):
            owners.add(row.customer_id)
        else:
            claimed.append(row)
    return owners, claimed


def offered_profile(fields: Mapping[str, Any], held: Iterable[IdentifierIn]) -> dict[str, Any]:
    """The profile values a customer is offered: the fields given, then the e-mail and phone they hold.

    `held` are the identifiers the customer holds after the call; a verified
    value is offered before a typed one. Callers fill only the blank fields.
    """
    offered = {name: value for name, value in fields.items() if value}
    for item in sorted(held, key=lambda item: not item.verified):  # a verified value first
        name = PROFILE_IDENTIFIERS.get(item.kind)  # type: ignore[call-overload]
        if name:
            offered.setdefault(name, item.value)
    return offered


def _stand_in_for(rows: list[Identifier]) -> tuple[Customer, bool]:
    """The live anonymous stand-in of these identifier rows (the oldest, if they have several), or a new one.

    Locks the holders and the stand-ins already named, together in id order
    like every other write, so two calls racing on the same values agree on
    one stand-in; then reads the rows again, and decides again if they
    changed meanwhile. Rows without a live stand-in get this one.
    Returns (stand-in, created).
    """
    seen = {row.pk: (row.customer_id, row.stand_in_id) for row in rows}
    ids = {customer for pair in seen.values() for customer in pair if customer is not None}
    locked = {c.pk: c for c in Customer.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")}
    now = {row.pk: (row.customer_id, row.stand_in_id) for row in Identifier.objects.filter(pk__in=seen)}
    if now != seen:  # moved, erased or given a stand-in meanwhile
        raise _Retry()
    live = [
        locked[pk]
        for _holder, pk in seen.values()
        if pk is not None and pk in locked and locked[pk].merged_into_id is None and locked[pk].erased_at is None
    ]
    stand_in = min(live, key=lambda c: (c.created_at, c.pk)) if live else None
    created = stand_in is None
    if stand_in is None:
        stand_in = Customer.objects.create()
    Identifier.objects.filter(pk__in=[pk for pk, (_holder, named) in seen.items() if named != stand_in.pk]).update(
        stand_in=stand_in
    )
    return stand_in, created


def attach_profile_identifiers(customer: Customer, *, held: Collection[tuple[str, str]] = ()) -> list[Identifier]:
    """Make the profile's e-mail and phone lookup identifiers of `customer`, marked unverified.

    The one place where a profile value becomes an identifier, for identify
    and for a profile change alike. A value already held, by this customer or
    by another, is left as it is: a typed value is never moved off anyone.
    Call it inside the caller's transaction, with the customer's row locked.
    ``held``: (kind, value) pairs the caller knows are stored already (identify's
    own identifiers), not looked up again. Returns the identifiers added.
    """
    wanted = [
        Identifier(customer=customer, kind=kind, value=value, is_verified=False)
        for kind, name in PROFILE_IDENTIFIERS.items()
        if (value := getattr(customer, name)) and (kind, value) not in held
    ]
    if not wanted:
        return []
    match = Q()
    for identifier in wanted:
        match |= Q(kind=identifier.kind, value=identifier.value)
    stored = set(Identifier.objects.filter(match).values_list("kind", "value"))
    new = [identifier for identifier in wanted if (identifier.kind, identifier.value) not in stored]
    # A racing call that takes the same value first keeps it: the insert of this one is skipped.
    return Identifier.objects.bulk_create(new, ignore_conflicts=True)


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
        raise MergeNotAllowed(
            _("Customer #%(customer)s was merged into #%(survivor)s.")
            % {"customer": locked.pk, "survivor": locked.merged_into_id}
        )
    return locked


@retry_on_conflict
def set_consents(
    *,
    customer: Customer,
    choices: Mapping[str, bool],
    channel: str,
    source: str = "",
    wording: Mapping[str, str] | None = None,
    actor: Actor = SYSTEM,
    request_key: str = "",
) -> dict[str, ConsentChange | None]:
    """Record the consents that changed (a purpose given the state it already has writes nothing).

    `wording` is the text shown to the customer per purpose, kept with the change as proof of what
    was agreed to. Returns the current state per purpose. Raises Invalid (no purpose, an
    unknown one) and CustomerErased.
    """
    _check_purposes(choices)
    with transaction.atomic():
        locked = _lock_for_change(customer)
        current = current_consents([locked.pk])[locked.pk]
        rows = [
            ConsentChange(
                customer=locked,
                purpose=purpose,
                is_granted=choices[purpose],
                channel=channel,
                source=source,
                wording=(wording or {}).get(purpose, ""),
                **_attribution(actor, request_key),
            )
            for purpose in consent_changes(current, choices)
        ]
        ConsentChange.objects.bulk_create(rows)
    return current_consents([customer.pk])[customer.pk]


def _check_purposes(choices: Mapping[str, bool]) -> None:
    unknown = [p for p in choices if p not in ConsentPurpose.values]
    if unknown:
        raise Invalid(errors={name: [_("Unknown consent purpose.")] for name in unknown})
    if not choices:
        raise Invalid(errors={"non_field_errors": ["Give at least one of " + ", ".join(ConsentPurpose.values) + "."]})


@dataclass(frozen=True)
class ConsentsIn:
    """The consents one customer gave or withdrew at once, for `set_consents_many`; `at` dates them (now if None)."""

    customer_id: int
    choices: Mapping[str, bool]
    channel: str
    source: str = ""
    at: Any = None


def set_consents_many(changes: Sequence[ConsentsIn], *, actor: Actor = SYSTEM) -> int:
    """The bulk form of `set_consents`, in the order given: the changes of many customers in one insert.

    The same rule decides what is written (`consent_changes`, against each
    customer's state as the earlier changes of the batch left it). Locks the
    customers in primary-key order. Raises Invalid (an unknown purpose) and
    CustomerErased (an erased or merged customer), nothing written then.
    Returns the number of changes written.
    """
    for change in changes:
        _check_purposes(change.choices)
    ids = sorted({change.customer_id for change in changes})
    now = timezone.now()
    with transaction.atomic():
        live: set[int] = set()
        for start in range(0, len(ids), 5000):
            live.update(
                Customer.objects.select_for_update(no_key=True)
                .filter(pk__in=ids[start : start + 5000], erased_at__isnull=True, merged_into__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        if len(live) != len(ids):
            raise CustomerErased()
        state: dict[int, dict[str, ConsentChange | None]] = {}
        for start in range(0, len(ids), 5000):
            state.update(current_consents(ids[start : start + 5000]))
        who = bulk.attribution(actor)
        rows = []
        for change in changes:
            current = state[change.customer_id]
            for purpose in consent_changes(current, change.choices):
                row = ConsentChange(
                    customer_id=change.customer_id,
                    purpose=purpose,
                    is_granted=change.choices[purpose],
                    channel=change.channel,
                    source=change.source,
                )
                row.changed_at = change.at or now
                current[purpose] = row
                rows.append(row)
        bulk.insert_rows(
            ConsentChange,
            ("customer_id", "purpose", "is_granted", "changed_at", "channel", "source", "user_id", "api_client_id"),
            [(r.customer_id, r.purpose, r.is_granted, r.changed_at, r.channel, r.source, *who) for r in rows],
            restamp=True,
        )
    return len(rows)


def add_profile_identifiers(*, customer: Customer) -> list[Identifier]:
    """For a customer created outside identify (the admin): their profile e-mail and phone become identifiers."""
    with transaction.atomic():
        return attach_profile_identifiers(Customer.objects.select_for_update(no_key=True).get(pk=customer.pk))


@retry_on_conflict
def update_profile(*, customer: Customer, changes: Mapping[str, Any], actor: Actor = SYSTEM) -> Customer:
    """Change profile fields. E-mail and phone are normalised. Raises Invalid, CustomerErased.

    A new e-mail or phone also becomes an unverified lookup identifier of the
    customer, unless another customer holds it (``attach_profile_identifiers``).
    """
    fields = clean_profile(changes, prefix="")
    with transaction.atomic():
        locked = _lock_for_change(customer)
        for name, value in fields.items():
            setattr(locked, name, value)
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
            attach_profile_identifiers(locked)
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
                source=reference.ERASED,
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
