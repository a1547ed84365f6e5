"""What the apps above `customers` contribute to the customer's whole story.

`customers` sits on the first floor: it may not import orders, loyalty,
returns or kpis, yet a merge, the single view, the timeline, the export and
the erasure span all of them. So each of those apps registers here, from its
``AppConfig.ready()``, what it brings, and `customers` walks the registry:

- a **merge handler** for one of its models, when re-pointing the foreign key
  to the survivor is not enough (loyalty adds two accounts into one);
- a **timeline source**: ``entries(customer_ids, limit)`` gives its newest
  `TimelineEntry` rows in one query, ``count(customer_ids)`` how many it has;
- a **summary** for the detail endpoint: a dict of keys added to the answer
  (``channels``, ``first_seen`` and ``last_seen`` are combined across apps);
- a **panel** on the customer's admin page: a small table;
- an **export part**: JSON-able data added to the personal-data export;
- an **erase hook**: what erasure does to its rows;
- an **identifier hook**: called when an identifier of a kind is attached
  to a customer (loyalty opens an account for a new card number);
- an **import part**: the columns of the customer import it owns (loyalty:
  the card, the opening points, the tier), checked for every row before
  anything is written and applied in the import's transaction once the
  customers are known (`customers.moving_in`).

Registering under a name already used replaces the earlier entry, so a
module reloaded in tests does not register twice. No signals are involved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customers.models import Customer


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a customer, on any channel."""

    occurred_at: datetime
    kind: str
    channel: str = ""
    title: str = ""
    summary: str = ""  # as stored (a ledger's reason, a consent's source): the API gives it so
    summary_shown: str = ""  # the summary in the staff's language for the customer's page; empty: as `summary`
    reference: str = ""
    amount: Decimal | None = None
    points: int | None = None
    source: str = ""
    admin_url: str = ""


TimelineEntries = Callable[[list[int], int], list[TimelineEntry]]
TimelineCount = Callable[[list[int]], int]


@dataclass(frozen=True)
class TimelineSource:
    name: str
    entries: TimelineEntries
    count: TimelineCount


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""


@dataclass(frozen=True)
class Panel:
    """A small table on the customer's admin page."""

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    footer: str = ""
    more_url: str = ""


MergeHandler = Callable[..., Any]  # handler(*, survivor, merged) -> rows moved (int) or None
SummaryProvider = Callable[["Customer"], dict[str, Any]]
PanelProvider = Callable[["Customer"], Panel | None]
ExportPart = Callable[["Customer"], Any]
EraseHook = Callable[..., Any]  # hook(*, customer) -> JSON-able note of what was done, or None
IdentifierHook = Callable[..., Any]  # hook(*, customer, value) -> None


@dataclass(frozen=True)
class ImportPart:
    """What an app brings to the customer import.

    ``check(rows)``: rows are (line, external id, the part's own data, the
    customer the row names today or None for a new one, the customers it
    will merge with, or None for a row wrong already: check its fields
    only); returns {line: {field: [messages]}} for bad rows and the set of
    lines whose data changes something. ``apply(rows)``: (line, external
    id, data, customer id, whether the import created that customer) for
    the rows written, in the import's transaction.
    """

    name: str
    key: str  # the key of the row's JSON object it reads (``loyalty``)
    columns: tuple[str, ...]  # the file's columns that fill that object, by the same names
    check: Callable[[list[tuple[int, str, Any, int | None, frozenset[int] | None]]], tuple[dict[int, dict], set[int]]]
    apply: Callable[[list[tuple[int, str, Any, int, bool]]], Any]


@dataclass
class Registry:
    merge_handlers: dict[str, MergeHandler] = field(default_factory=dict)
    timeline_sources: dict[str, TimelineSource] = field(default_factory=dict)
    summaries: dict[str, SummaryProvider] = field(default_factory=dict)
    panels: dict[str, PanelProvider] = field(default_factory=dict)
    export_parts: dict[str, ExportPart] = field(default_factory=dict)
    erase_hooks: dict[str, EraseHook] = field(default_factory=dict)
    identifier_hooks: dict[str, dict[str, IdentifierHook]] = field(default_factory=dict)
    import_parts: dict[str, ImportPart] = field(default_factory=dict)


registry = Registry()


def register_merge_handler(model_label: str, handler: MergeHandler) -> None:
    """`handler(survivor=, merged=)` moves the rows of `model_label` ("app_label.Model") itself.

    It runs inside the merge transaction, after both customers' rows are
    locked; the default re-pointing skips that model.
    """
    registry.merge_handlers[model_label.lower()] = handler


def register_timeline_source(name: str, *, entries: TimelineEntries, count: TimelineCount) -> None:
    registry.timeline_sources[name] = TimelineSource(name=name, entries=entries, count=count)


def register_summary(name: str, provider: SummaryProvider) -> None:
    registry.summaries[name] = provider


def register_panel(name: str, provider: PanelProvider) -> None:
    registry.panels[name] = provider


def register_export_part(name: str, part: ExportPart) -> None:
    registry.export_parts[name] = part


def register_erase_hook(name: str, hook: EraseHook) -> None:
    registry.erase_hooks[name] = hook


def register_identifier_hook(kind: str, name: str, hook: IdentifierHook) -> None:
    registry.identifier_hooks.setdefault(kind, {})[name] = hook


def register_import_part(part: ImportPart) -> None:
    registry.import_parts[part.name] = part
