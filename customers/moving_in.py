"""Moving in: the customers a retailer already has, brought in from its old CRM and loyalty programme.

One use case, `import_customers`, for the admin's file import, the
`import_customers` command and `POST /api/v1/customers/import/`:

1. every row is read into one shape (`clean_row`: the API's JSON, or a file
   row turned into it by `row_from_columns`) and checked field by field;
2. the rows are planned against what Omni holds, without writing (`_plan`):
   the old system's id (`ImportedCustomer`) names the customer of a row seen
   before; a row whose fingerprint did not change is *unchanged*; the
   identifiers decide by the contract's merge rule (`services.match_identifiers`,
   the rule `identify` decides by): none known is a *new* customer, verified
   ones held by other customers (in Omni or on an earlier row of the file)
   *merge* them;
3. the apps above check the columns they own (`registry.import_parts`:
   loyalty's card, opening points, tier) with the customers known;
4. with any bad row nothing is written (unless `partial`, then the bad rows
   are left out); a dry run stops here with the preview;
5. one transaction writes: new customers and the rows of customers found
   by their old id in sets (COPY on PostgreSQL, through `omni.bulk`), rows that
   merge or claim someone's identifier one by one through `identify` itself,
   consents as `ConsentChange` rows dated when they were given, then each
   import part (loyalty opens the accounts, cards and opening balances in bulk).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import tablib
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers import reference, services
from customers.models import ConsentChange, ConsentPurpose, Customer, Identifier, IdentifierKind, ImportedCustomer
from customers.normalise import normalise_identifier
from customers.registry import registry
from customers.selectors import MAX_MERGE_HOPS, current_consents
from customers.services import PROFILE_IDENTIFIERS, IdentifierIn
from omni import bulk
from omni.actor import SYSTEM, Actor
from omni.errors import Invalid

NEW, UPDATED, MERGE, UNCHANGED, ERROR = "new", "updated", "merge", "unchanged", "error"
IDENTIFIER_COLUMNS = (IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.WEB_ACCOUNT)
PROFILE_COLUMNS = ("first_name", "last_name", "birth_date")
NAME_MAX = 80
EXTERNAL_ID_MAX = 64  # the opening entry of its points names it in its reference
CHANNEL_MAX = 20
SOURCE = reference.IMPORTED
TRUE = {"1", "true", "yes", "y", "si", "sì", "x", "t"}
FALSE = {"0", "false", "no", "n", "f"}
PURPOSES = tuple(ConsentPurpose.values)  # read once: an enum's values are rebuilt on every access


def columns() -> list[str]:
    """The file's columns, in order: the customer's own, then each import part's (loyalty's card and points)."""
    own = ["external_id", *PROFILE_COLUMNS]
    for kind in IDENTIFIER_COLUMNS:
        own += [str(kind), f"{kind}_verified"]
    for purpose in PURPOSES:
        own += [f"consent_{purpose}", f"consent_{purpose}_at", f"consent_{purpose}_channel"]
    for part in registry.import_parts.values():
        own += list(part.columns)
    return own


@dataclass(frozen=True)
class ConsentIn:
    purpose: str
    granted: bool
    at: datetime
    channel: str


@dataclass
class ImportRow:
    """One customer of the file or batch, checked and normalised."""

    line: int  # the file's line (the header is line 1) or the batch's index
    external_id: str
    profile: dict[str, Any] = field(default_factory=dict)
    identifiers: list[IdentifierIn] = field(default_factory=list)
    consents: list[ConsentIn] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)  # the row as given, for the file of rejects
    columns: dict[str, str] = field(default_factory=dict)  # JSON path -> the file's column, for a file row
    fingerprint: str = ""

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(self.columns.get(path, path), []).append(str(message))


@dataclass
class RowOutcome:
    """What the import does (or did) with one row: the preview line and the report line."""

    line: int
    external_id: str
    status: str
    customer_id: int | None = None
    merges: list[str] = field(default_factory=list)  # "#12" (a customer in Omni) or "line 5" (a row of the file)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    name: str = ""


@dataclass
class ImportReport:
    rows: list[RowOutcome]
    applied: bool
    dry_run: bool

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def error_rows(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.status == ERROR]

    def totals(self) -> dict[str, Any]:
        """The API's answer: rows, created, updated, merged, unchanged, errors [{row, field, message}]."""
        return {
            "rows": len(self.rows),
            "created": self.count(NEW) if self.applied else 0,
            "updated": self.count(UPDATED) if self.applied else 0,
            "merged": self.count(MERGE) if self.applied else 0,
            "unchanged": self.count(UNCHANGED),
            "errors": [
                {"row": row.line, "field": name, "message": message}
                for row in self.error_rows
                for name, messages in row.errors.items()
                for message in messages
            ],
        }


class ImportRejected(Invalid):
    """Some rows are wrong and the import was all or nothing: nothing was written."""

    default_detail = _lazy("Some rows are wrong: nothing was imported.")

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(
            _("%(count)d row(s) to correct: nothing was imported.") % {"count": len(report.error_rows)},
            errors={str(row.line): [f"{k}: {' '.join(v)}" for k, v in row.errors.items()] for row in report.error_rows},
        )


# --- Reading rows ------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a spreadsheet's number cell
        value = int(value)
    return str(value).strip()


def _flag(value: Any) -> bool | None:
    """yes/no in a cell (or a JSON boolean); None when empty; ValueError when neither."""
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if not text:
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(text)


def row_from_columns(
    values: Mapping[str, Any], names: Sequence[str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A file row (column -> cell) as the API's JSON row, and the column each JSON path came from."""
    value = {name: values.get(name) for name in names or columns()}
    data: dict[str, Any] = {
        "external_id": value["external_id"],
        "profile": {name: value[name] for name in PROFILE_COLUMNS if _text(value[name])},
        "identifiers": [],
        "consents": [],
    }
    paths = {"external_id": "external_id", **{f"profile.{name}": name for name in PROFILE_COLUMNS}}
    for kind in IDENTIFIER_COLUMNS:
        if _text(value[kind]):
            index = len(data["identifiers"])
            data["identifiers"].append({"kind": kind, "value": value[kind], "verified": value[f"{kind}_verified"]})
            paths[f"identifiers.{index}.value"] = str(kind)
            paths[f"identifiers.{index}.verified"] = f"{kind}_verified"
    for purpose in PURPOSES:
        given = f"consent_{purpose}"
        if _text(value[given]):
            index = len(data["consents"])
            data["consents"].append(
                {
                    "kind": purpose,
                    "granted": value[given],
                    "at": value[f"{given}_at"],
                    "channel": value[f"{given}_channel"],
                }
            )
            paths.update(
                {
                    f"consents.{index}.granted": given,
                    f"consents.{index}.at": f"{given}_at",
                    f"consents.{index}.channel": f"{given}_channel",
                }
            )
    for part in registry.import_parts.values():
        cells = {name: value[name] for name in part.columns}
        if any(_text(cell) for cell in cells.values()):
            data[part.key] = cells
        paths.update({f"{part.key}.{name}": name for name in part.columns})
    return data, paths


def parse_date_value(value: Any) -> date | None:
    """A date from a cell or JSON: a date, or text YYYY-MM-DD. None when empty; ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    parsed = parse_date(text[:10]) if len(text) >= 10 else None
    if parsed is None:
        raise ValueError(text)
    return parsed


def _moment(value: Any, zone: Any = None) -> datetime | None:
    """When a consent was given: a date (its Rome midday) or a date and time. None when empty."""
    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    else:
        text = _text(value)
        if not text:
            return None
        moment = parse_datetime(text) if ("T" in text or " " in text) else None
        if moment is None:
            day = parse_date_value(text)
            moment = datetime.combine(day, time(12)) if day else None
    if moment is None:
        raise ValueError(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=zone or timezone.get_current_timezone())
    return moment


def clean_row(
    data: Any,
    line: int,
    *,
    paths: Mapping[str, str] | None = None,
    source: Any = None,
    now: datetime | None = None,
    zone: Any = None,
) -> ImportRow:
    """One row of the API's JSON shape, checked; every problem is kept under its field, none is raised.

    `now` and `zone` (the current time and time zone) are read once by the callers of many rows.
    """
    now = now or timezone.now()
    row = ImportRow(line=line, external_id="", columns=dict(paths or {}), source=dict(source or data or {}))
    if not isinstance(data, Mapping):
        row.fail("row", _("Each row is an object."))
        return row
    row.external_id = _text(data.get("external_id"))
    if not row.external_id:
        row.fail("external_id", _("The customer's id in the other system is needed."))
    elif len(row.external_id) > EXTERNAL_ID_MAX:
        row.fail("external_id", _("At most %(count)d characters.") % {"count": EXTERNAL_ID_MAX})

    profile = data.get("profile") or {}
    if not isinstance(profile, Mapping):
        row.fail("profile", _("The profile is an object."))
        profile = {}
    for name in ("first_name", "last_name"):
        text = _text(profile.get(name))
        if len(text) > NAME_MAX:
            row.fail(f"profile.{name}", _("At most %(count)d characters.") % {"count": NAME_MAX})
        elif text:
            row.profile[name] = text
    try:
        birth = parse_date_value(profile.get("birth_date"))
    except ValueError:
        row.fail("profile.birth_date", _("A date (YYYY-MM-DD) is needed."))
    else:
        if birth is not None:
            row.profile["birth_date"] = birth

    given = list(data.get("identifiers") or [])
    for typed, name in PROFILE_IDENTIFIERS.items():  # a profile e-mail or phone is an identifier nobody vouched for
        if _text(profile.get(name)):
            given.append({"kind": typed, "value": profile.get(name), "verified": False, "_path": f"profile.{name}"})
    identifiers: list[IdentifierIn] = []
    for index, item in enumerate(given):
        path = item.get("_path", f"identifiers.{index}.value") if isinstance(item, Mapping) else "identifiers"
        if not isinstance(item, Mapping):
            row.fail("identifiers", _("Each identifier is an object."))
            continue
        kind: str = _text(item.get("kind"))
        try:
            verified = _flag(item.get("verified"))
        except ValueError:
            row.fail(f"identifiers.{index}.verified", _("Write yes or no."))
            continue
        if kind == IdentifierKind.CARD:  # a card is the loyalty card of the row
            row.fail(path, _("Give the loyalty card in its own column (card), with its points."))
            continue
        try:
            value = normalise_identifier(
                kind, _text(item.get("value")), field=path, kind_field=f"identifiers.{index}.kind"
            )
        except Invalid as exc:
            for name, messages in (exc.errors or {path: [exc.detail]}).items():
                for message in messages:
                    row.fail(name, message)
            continue
        identifiers.append(IdentifierIn(kind=kind, value=value, verified=True if verified is None else verified))
    if identifiers:
        row.identifiers = services.merge_repeated(identifiers)

    for index, item in enumerate(data.get("consents") or []):
        if not isinstance(item, Mapping):
            row.fail("consents", _("Each consent is an object."))
            continue
        purpose = _text(item.get("kind"))
        if purpose not in PURPOSES:
            row.fail(f"consents.{index}.kind", _("Unknown consent purpose."))
            continue
        try:
            granted = _flag(item.get("granted"))
        except ValueError:
            granted = None
        if granted is None:
            row.fail(f"consents.{index}.granted", _("Write yes or no."))
        try:
            at = _moment(item.get("at"), zone)
        except ValueError:
            row.fail(f"consents.{index}.at", _("A date (YYYY-MM-DD) or a date and time is needed."))
            continue
        if at is None:
            row.fail(f"consents.{index}.at", _("A consent needs the date it was given or withdrawn."))
        elif at > now:
            row.fail(f"consents.{index}.at", _("The date is in the future."))
        channel = _text(item.get("channel"))
        if not channel:
            row.fail(f"consents.{index}.channel", _("A consent needs the channel it was given on."))
        elif len(channel) > CHANNEL_MAX:
            row.fail(f"consents.{index}.channel", _("At most %(count)d characters.") % {"count": CHANNEL_MAX})
        if granted is not None and at is not None and channel and len(channel) <= CHANNEL_MAX:
            row.consents.append(ConsentIn(purpose=purpose, granted=granted, at=at, channel=channel))

    for part in registry.import_parts.values():
        if data.get(part.key):
            row.parts[part.name] = data.get(part.key)
    row.fingerprint = hashlib.sha256(
        json.dumps(
            {
                "profile": row.profile,
                "identifiers": sorted((i.kind, i.value, i.verified) for i in row.identifiers),
                "consents": sorted((c.purpose, c.granted, c.at.isoformat(), c.channel) for c in row.consents),
                "parts": row.parts,
            },
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    return row


def rows_from_json(items: Sequence[Any]) -> list[ImportRow]:
    """The API's batch: each row numbered by its index in `rows`, from 0."""
    now, zone = timezone.now(), timezone.get_current_timezone()
    return [clean_row(item, index, now=now, zone=zone) for index, item in enumerate(items)]


def rows_from_table(headers: Sequence[Any], records: Iterable[Sequence[Any]]) -> list[ImportRow]:
    """A file's rows: the header names the columns (any order, unknown ones ignored); line 1 is the header."""
    names = [_text(name).lower() for name in headers]
    if "external_id" not in names:
        raise Invalid(
            _("The file needs the column external_id (the customer's id in the other system)."),
            {"file": [_("Missing column: external_id.")]},
        )
    rows = []
    known = columns()
    now, zone = timezone.now(), timezone.get_current_timezone()
    for line, record in enumerate(records, start=2):
        cells = dict(zip(names, record, strict=False))
        if not any(_text(cell) for cell in cells.values()):
            continue  # blank lines at the end of a spreadsheet
        data, paths = row_from_columns(cells, known)
        given = {name: cells.get(name, "") for name in names}
        rows.append(clean_row(data, line, paths=paths, source=given, now=now, zone=zone))
    return rows


# --- Planning: what each row will do -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Held:
    customer_id: int
    is_verified: bool


@dataclass
class _Plan:
    row: ImportRow
    outcome: RowOutcome
    keyed: int | None = None  # the customer the old id names already
    slow: bool = False  # claims or merges: written through `identify`
    attach: list[IdentifierIn] = field(default_factory=list)  # identifiers to add on the fast path
    persons: frozenset[int] = frozenset()


def _plan(rows: Sequence[ImportRow]) -> list[_Plan]:
    ids = sorted({row.external_id for row in rows if row.external_id})
    mapped: dict[str, tuple[int, str, bool]] = {}
    for part in bulk.chunks(ids):
        for external_id, customer_id, fingerprint, erased_at, merged_into in ImportedCustomer.objects.filter(
            external_id__in=part
        ).values_list("external_id", "customer_id", "fingerprint", "customer__erased_at", "customer__merged_into_id"):
            mapped[external_id] = (merged_into or customer_id, fingerprint, erased_at is not None)
    values = sorted({item.value for row in rows for item in row.identifiers})
    known: dict[tuple[str, str], _Held] = {}
    for part in bulk.chunks(values):
        for kind, value, customer_id, verified in Identifier.objects.filter(value__in=part).values_list(
            "kind", "value", "customer_id", "is_verified"
        ):
            known[(kind, value)] = _Held(customer_id, verified)

    plans: list[_Plan] = []
    first_line: dict[str, int] = {}
    brought: dict[tuple[str, str], int] = {}  # identifiers new to Omni -> the line that brings them
    for row in rows:
        outcome = RowOutcome(line=row.line, external_id=row.external_id, status=ERROR, errors=row.errors)
        outcome.name = " ".join(filter(None, (row.profile.get("first_name"), row.profile.get("last_name"))))
        plan = _Plan(row=row, outcome=outcome)
        plans.append(plan)
        if row.errors:
            continue
        if row.external_id in first_line:
            row.fail("external_id", _("The same id is on line %(line)s.") % {"line": first_line[row.external_id]})
            continue
        first_line[row.external_id] = row.line
        keyed: int | None
        keyed, fingerprint, erased = mapped.get(row.external_id) or (None, "", False)
        plan.keyed = keyed
        outcome.customer_id = keyed
        if erased:
            row.fail("external_id", _("This customer's personal data was erased: they are not imported again."))
            continue
        if keyed is not None and fingerprint == row.fingerprint:
            outcome.status = UNCHANGED
            continue
        owners, claimed = services.match_identifiers(row.identifiers, known)
        lines = {brought[(i.kind, i.value)] for i in row.identifiers if i.verified and (i.kind, i.value) in brought}
        persons = ({keyed} if keyed else set()) | owners | {held.customer_id for held in claimed}
        plan.persons = frozenset(persons)
        plan.slow = bool(lines or claimed or owners - {keyed})
        for item in row.identifiers:
            where = (item.kind, item.value)
            held = known.get(where)
            if where in brought or (held is not None and held.customer_id != keyed):
                if not item.verified:  # a typed value never moves off anyone, nor merges
                    outcome.notes.append(
                        _("%(kind)s %(value)s belongs to another customer: not added.")
                        % {"kind": item.kind, "value": item.value}
                    )
            elif held is None:
                plan.attach.append(item)
                brought[where] = row.line
        if lines or len(persons) > 1:  # a row joining an earlier row of the file merges with it too
            outcome.status = MERGE
            outcome.merges = [f"#{pk}" for pk in sorted(persons)] + [
                _("line %(line)s") % {"line": line} for line in sorted(lines)
            ]
        elif persons or lines:
            outcome.status = UPDATED
            outcome.customer_id = next(iter(persons), None)
        else:
            outcome.status = NEW
    return plans


def _check_parts(plans: Sequence[_Plan]) -> None:
    """Each import part checks its columns of the rows that change something; its errors join the rows'."""
    live = [plan for plan in plans if plan.outcome.status != UNCHANGED]
    by_line = {plan.row.line: plan for plan in live}
    wrong = {plan.row.line for plan in live if plan.row.errors}  # their own columns are checked, nothing more
    for part in registry.import_parts.values():
        errors, _changed = part.check(
            [
                (
                    plan.row.line,
                    plan.row.external_id,
                    plan.row.parts.get(part.name),
                    plan.outcome.customer_id if plan.outcome.status != MERGE else None,
                    None if plan.row.line in wrong else plan.persons,
                )
                for plan in live
            ]
        )
        for line, problems in errors.items():
            for name, messages in problems.items():
                for message in messages:
                    by_line[line].row.fail(f"{part.key}.{name}", message)
    for plan in plans:
        if plan.row.errors:
            plan.outcome.status = ERROR
            plan.outcome.errors = plan.row.errors


# --- The use case ------------------------------------------------------------------------------------------------


def import_customers(
    rows: Sequence[ImportRow],
    *,
    dry_run: bool = False,
    partial: bool = False,
    actor: Actor = SYSTEM,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check, preview or import customers from another system; see the module's docstring.

    All or nothing: with any bad row nothing is written and ImportRejected
    (its `report` lists every row) is raised, unless `partial`, which writes
    the good rows and reports the bad ones. A dry run writes nothing and
    returns the preview. One transaction; merges lock customers as
    `identify` does. Re-running the same rows changes nothing.
    """
    plans = _plan(rows)
    _check_parts(plans)
    report = ImportReport(rows=[plan.outcome for plan in plans], applied=False, dry_run=dry_run)
    if report.error_rows and not partial and not dry_run:
        raise ImportRejected(report)
    if dry_run:
        return report
    good = [plan for plan in plans if plan.outcome.status in (NEW, UPDATED, MERGE)]
    with transaction.atomic():
        _write(good, actor=actor, progress=progress or (lambda done: None))
    report.applied = True
    return report


def _write(plans: list[_Plan], *, actor: Actor, progress: Callable[[int], None]) -> None:
    now = timezone.now()
    new = [plan for plan in plans if plan.keyed is None and not plan.slow]
    found = [plan for plan in plans if plan.keyed is not None and not plan.slow]
    slow = [plan for plan in plans if plan.slow]

    # New customers: one COPY per table.
    customer_ids = bulk.insert_rows(
        Customer,
        ("first_name", "last_name", "email", "phone", "birth_date", "created_at", "updated_at"),
        [_profile_row(plan, now) for plan in new],
        ids=True,
    )
    for plan, pk in zip(new, customer_ids, strict=True):
        plan.outcome.customer_id = pk
    bulk.insert_rows(
        ImportedCustomer,
        ("external_id", "customer_id", "fingerprint", "imported_at", "updated_at"),
        [(plan.row.external_id, plan.outcome.customer_id, plan.row.fingerprint, now, now) for plan in new],
    )
    progress(len(new))

    # Customers known by their old id: the names and birth date the file gives, their new identifiers.
    current = {}
    keyed_ids = [plan.keyed for plan in found]
    for part in bulk.chunks(keyed_ids):
        current.update(Customer.objects.in_bulk(part))
    changed = []
    for plan in found:
        customer = current[plan.keyed]
        offered = services.offered_profile(plan.row.profile, plan.attach)
        for name, value in offered.items():
            if name in PROFILE_COLUMNS or not getattr(customer, name):
                setattr(customer, name, value)
        customer.updated_at = now
        changed.append(customer)
    bulk.update_rows(Customer, ("first_name", "last_name", "email", "phone", "birth_date", "updated_at"), changed)
    bulk.update_rows(
        ImportedCustomer,
        ("fingerprint", "updated_at"),
        [ImportedCustomer(pk=pk, fingerprint=plan.row.fingerprint, updated_at=now) for plan, pk in _mapping_ids(found)],
    )
    attached = [(plan.outcome.customer_id, item) for plan in new + found for item in plan.attach]
    bulk.insert_rows(
        Identifier,
        ("customer_id", "kind", "value", "is_verified", "created_at"),
        [(pk, item.kind, item.value, item.verified, now) for pk, item in attached],
    )
    for holder, item in attached:
        for hook in registry.identifier_hooks.get(item.kind, {}).values():
            hook(customer=Customer(pk=holder), value=item.value)
    progress(len(new) + len(found))

    # Rows that claim or merge: the one-row service decides, with its locks.
    for plan in slow:
        _write_one(plan, actor=actor, now=now)
    progress(len(plans))

    _write_consents(plans, actor=actor)
    survivors = _survivors({plan.outcome.customer_id for plan in plans if plan.outcome.customer_id})
    # Customers this transaction made, still themselves (not merged by a later row): created for the parts too.
    created = {plan.outcome.customer_id for plan in new if plan.outcome.customer_id not in survivors}
    for plan in plans:
        if plan.outcome.customer_id is not None:
            plan.outcome.customer_id = survivors.get(plan.outcome.customer_id, plan.outcome.customer_id)
    for owner in registry.import_parts.values():
        owner.apply(
            [
                (plan.row.line, plan.row.external_id, plan.row.parts[owner.name], holder, holder in created)
                for plan in plans
                if plan.row.parts.get(owner.name) is not None and (holder := plan.outcome.customer_id) is not None
            ]
        )


def _profile_row(plan: _Plan, now: datetime) -> tuple[Any, ...]:
    offered = services.offered_profile(plan.row.profile, plan.attach)
    return (
        offered.get("first_name", ""),
        offered.get("last_name", ""),
        offered.get("email", ""),
        offered.get("phone", ""),
        offered.get("birth_date"),
        now,
        now,
    )


def _mapping_ids(plans: Sequence[_Plan]) -> list[tuple[_Plan, int]]:
    ids = dict(
        ImportedCustomer.objects.filter(external_id__in=[plan.row.external_id for plan in plans]).values_list(
            "external_id", "pk"
        )
    )
    return [(plan, ids[plan.row.external_id]) for plan in plans]


def _write_one(plan: _Plan, *, actor: Actor, now: datetime) -> None:
    """A row whose identifiers name customers in Omni: `identify` attaches, claims and merges by the contract."""
    row = plan.row
    result = services.identify(identifiers=row.identifiers, profile=row.profile, actor=actor, may_merge=True)
    survivor = result.customer
    if plan.keyed is not None and plan.keyed != survivor.pk:
        survivor = services.merge_into_oldest(customers=[Customer(pk=plan.keyed), survivor], actor=actor)
    names = {name: value for name, value in row.profile.items() if name in PROFILE_COLUMNS}
    if names:
        Customer.objects.filter(pk=survivor.pk).update(**names, updated_at=now)
    ImportedCustomer.objects.update_or_create(
        external_id=row.external_id, defaults={"customer": survivor, "fingerprint": row.fingerprint}
    )
    plan.outcome.customer_id = survivor.pk


def _write_consents(plans: Sequence[_Plan], *, actor: Actor) -> None:
    """Consents as given elsewhere, dated then: written where they change the customer's latest choice."""
    with_consents = [plan for plan in plans if plan.row.consents]
    existing = sorted(
        {pk for plan in with_consents if plan.outcome.status != NEW and (pk := plan.outcome.customer_id) is not None}
    )
    state: dict[int, dict[str, ConsentChange | None]] = {}
    for part in bulk.chunks(existing):
        state.update(current_consents(part))
    who = bulk.attribution(actor)
    rows = []
    for plan in with_consents:
        pk = plan.outcome.customer_id
        current = state.get(pk or 0) or dict.fromkeys(PURPOSES)
        for consent in sorted(plan.row.consents, key=lambda c: c.at):
            if services.consent_changes(current, {consent.purpose: consent.granted}, at=consent.at):
                rows.append((pk, consent.purpose, consent.granted, consent.at, consent.channel, SOURCE, "", *who, ""))
    bulk.insert_rows(
        ConsentChange,
        (
            "customer_id",
            "purpose",
            "is_granted",
            "changed_at",
            "channel",
            "source",
            "wording",
            "user_id",
            "api_client_id",
            "request_key",
        ),
        rows,
        restamp=True,
    )


def _survivors(ids: Iterable[int]) -> dict[int, int]:
    """Customer id -> the live customer it is now (a row merged by a later row of the file)."""
    pending = {pk: pk for pk in ids}
    for _hop in range(MAX_MERGE_HOPS):
        moved: dict[int, int] = {}
        for part in bulk.chunks(sorted(set(pending.values()))):
            moved.update(
                Customer.objects.filter(pk__in=part, merged_into__isnull=False).values_list("pk", "merged_into_id")
            )
        if not moved:
            break
        pending = {origin: moved.get(current, current) for origin, current in pending.items()}
    return {origin: current for origin, current in pending.items() if origin != current}


def describe(outcome: RowOutcome) -> str:
    """The preview's sentence for a row."""
    if outcome.status == ERROR:
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in outcome.errors.items())
    if outcome.status == MERGE:
        return _("merges %(whom)s") % {"whom": ", ".join(outcome.merges)}
    return " ".join(outcome.notes)


# --- Files -------------------------------------------------------------------------------------------------------


def dataset_from_bytes(content: bytes, suffix: str) -> tablib.Dataset:
    """A .csv (UTF-8, comma or semicolon separated) or .xlsx file as a dataset; every cell of a CSV as text."""
    if suffix == ".xlsx":
        return tablib.Dataset().load(io.BytesIO(content), format="xlsx")
    text = content.decode("utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;")
    except csv.Error:  # one column, or nothing to tell by
        dialect = csv.excel
    records = list(csv.reader(io.StringIO(text), dialect))
    dataset = tablib.Dataset(headers=records[0] if records else [])
    width = len(dataset.headers or [])
    for record in records[1:]:
        dataset.append((record + [""] * width)[:width])
    return dataset


def rows_from_dataset(dataset: tablib.Dataset) -> list[ImportRow]:
    return rows_from_table(dataset.headers or [], dataset)


def rejects_csv(rows: Sequence[ImportRow], report: ImportReport) -> str:
    """The bad rows as they were given, in the file's own columns, with an `error` column: the file to fix."""
    bad = {outcome.line for outcome in report.error_rows}
    given = [row for row in rows if row.line in bad]
    names = list(dict.fromkeys(name for row in given for name in row.source)) or columns()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*names, "error"])
    outcomes = {outcome.line: outcome for outcome in report.error_rows}
    for row in given:
        writer.writerow([*(_text(row.source.get(name)) for name in names), describe(outcomes[row.line])])
    return out.getvalue()
