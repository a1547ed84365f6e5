"""Demo data: a believable Italian retailer, generated from a seed and written in bulk.

`seed_demo` (the management command) is a thin shell around :func:`seed`. The
generator lives here so that the data lists, the rules that make the data look
like a real retailer and the bulk writing can be read and tested on their own.

Three choices shape the module:

* **Deterministic.** Every value comes from a ``random.Random`` seeded with the
  seed and the phase name, and every date from the ``until`` anchor: two runs
  with the same seed, scale and anchor into empty databases write the same rows.
  Nothing reads the clock or the global random generator. One generator per
  phase means a change to the catalogue does not reshuffle every order.
* **Fast at ten million lines.** Rows are plain tuples written in batches: COPY
  on PostgreSQL, ``executemany`` elsewhere. The seeder chooses the primary keys
  itself (after the current maximum), so lines name their order without reading
  it back, and orders are generated a few days at a time so memory stays flat.
  Money is computed in integer cents (exact, and much cheaper than ``Decimal``).
  On PostgreSQL the COPY runs beside the generator and the foreign keys and
  plain indexes are rebuilt once at the end (see :class:`CopyWriter`).
* **Consistent.** A line total is unit price times quantity minus its discount,
  an order total is the sum of its lines, the payments add up to it, every stock
  level comes with the ``count`` movement that explains it, and a customer's
  orders are never older than the customer.

What the demo leaves out, on purpose: open orders (placed, ready for pick-up),
which would need reservations in the stock; sale movements in the stock ledger
(the stock is the count taken on the ``until`` morning, after the year of
sales); order events; loyalty accounts, cards and points. Orders earn no
points (``points_earned`` is 0): points on an order with no entry in the points
ledger would break "a balance is what the ledger sums to". Customers with a
loyalty card carry it as a ``card`` identifier.

The seeder writes the tables directly rather than through each app's services:
it is a fixture generator, like a data import, and a per-order service call
could not reach ten million lines in minutes.
"""

from __future__ import annotations

import bisect
import json
import random
import time
import unicodedata
import uuid
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Max

from customers.models import Customer, Identifier, IdentifierKind
from inventory.models import MovementKind, StockLevel, StockMovement
from omni.api.keys import create_client
from omni.catalog.models import (
    Channel,
    ChannelCode,
    ChannelPrice,
    Location,
    LocationKind,
    Product,
    StaffAssignment,
    Variant,
)
from omni.models import ALL_SCOPES, ApiClient
from omni.orders.models import Allocation, FulfilmentType, Order, OrderLine, OrderStatus, Payment, Tender
from omni.roles import setup_roles

ROME = ZoneInfo("Europe/Rome")
DAY_SECONDS = 86_400

# Volumes at scale 1; customers and orders grow linearly with --scale.
BASE_PRODUCTS = 300
BASE_CUSTOMERS = 5_000
BASE_ORDERS = 30_000
MIN_PRODUCTS = 50
MIN_CUSTOMERS = 40
MIN_ORDERS = 100

# Orders are generated and written a few days at a time, at least this many per chunk.
ORDER_CHUNK = 20_000
CUSTOMER_CHUNK = 50_000
# Rows per executemany call on the databases that have no COPY.
INSERT_BATCH = 5_000

DEMO_PASSWORD = "omni-demo"
DEMO_API_CLIENT = "demo"

Progress = Callable[[str], None]


# --- The network ------------------------------------------------------------------------------------------------


class Site(NamedTuple):
    """A store or a warehouse: real streets, real coordinates (WGS 84)."""

    code: str
    name: str
    address: str
    postcode: str
    city: str
    latitude: str
    longitude: str
    weight: float  # share of the store's sales and of the customers living near it
    pickup: bool
    ships: bool


STORES: tuple[Site, ...] = (
    Site("MI01", "Omni Milano Vittorio Emanuele", "Corso Vittorio Emanuele II 15", "20122", "Milano",
         "45.465920", "9.192900", 1.6, True, True),
    Site("RM01", "Omni Roma Via del Corso", "Via del Corso 189", "00187", "Roma",
         "41.901850", "12.480580", 1.5, True, True),
    Site("TO01", "Omni Torino Via Roma", "Via Roma 72", "10123", "Torino",
         "45.067800", "7.682900", 1.0, True, False),
    Site("NA01", "Omni Napoli Via Toledo", "Via Toledo 256", "80134", "Napoli",
         "40.842100", "14.248600", 1.1, True, True),
    Site("BO01", "Omni Bologna Indipendenza", "Via dell'Indipendenza 42", "40121", "Bologna",
         "44.498500", "11.344600", 0.9, True, True),
    Site("FI01", "Omni Firenze Calzaiuoli", "Via dei Calzaiuoli 60", "50122", "Firenze",
         "43.771300", "11.254800", 1.0, True, False),
    # No pick-up in Venice: couriers cannot bring parcels to the shop by van.
    Site("VE01", "Omni Venezia Mercerie", "Marzaria San Zulian, San Marco 740", "30124", "Venezia",
         "45.435800", "12.337700", 0.8, False, False),
    Site("VR01", "Omni Verona Via Mazzini", "Via Giuseppe Mazzini 50", "37121", "Verona",
         "45.441700", "10.996300", 0.7, True, False),
    Site("GE01", "Omni Genova XX Settembre", "Via XX Settembre 120", "16121", "Genova",
         "44.405400", "8.939800", 0.7, True, False),
    Site("PA01", "Omni Palermo Ruggero Settimo", "Via Ruggero Settimo 70", "90139", "Palermo",
         "38.122400", "13.358400", 0.8, True, False),
    Site("BA01", "Omni Bari Via Sparano", "Via Sparano da Bari 90", "70121", "Bari",
         "41.123200", "16.870500", 0.7, True, False),
    Site("PD01", "Omni Padova Via Roma", "Via Roma 60", "35122", "Padova",
         "45.404000", "11.876500", 0.6, True, False),
)  # fmt: skip

WAREHOUSES: tuple[Site, ...] = (
    Site("MAG-PC", "Magazzino Nord Piacenza", "Via Caorsana 120, Polo logistico Le Mose", "29122", "Piacenza",
         "45.047000", "9.742000", 0.0, False, True),
    Site("MAG-NA", "Magazzino Sud Nola", "Interporto Campano, Lotto A", "80035", "Nola",
         "40.934000", "14.487000", 0.0, False, True),
)  # fmt: skip

# Stores north of this latitude are served by the first warehouse, the others by the second.
NORTH_LATITUDE = 43.0


# --- The catalogue ---------------------------------------------------------------------------------------------


class Category(NamedTuple):
    name: str
    prefix: str
    share: float
    nouns: tuple[str, ...]
    styles: tuple[str, ...]
    sizes: tuple[str, ...]
    sizes_per_product: tuple[int, int]
    price_euros: tuple[int, int]
    palette: tuple[str, ...]


TOPS = ("XS", "S", "M", "L", "XL", "XXL")
ONE_SIZE = ("TU",)  # taglia unica

COLOURS: dict[str, str] = {
    "bianco": "BIA", "nero": "NER", "blu navy": "NAV", "blu": "BLU", "azzurro": "AZZ", "celeste": "CEL",
    "grigio": "GRI", "grigio melange": "GRM", "antracite": "ANT", "beige": "BEI", "cammello": "CAM",
    "tortora": "TOR", "marrone": "MAR", "cuoio": "CUO", "verde oliva": "OLI", "verde bosco": "VBO",
    "bordeaux": "BOR", "rosso": "ROS", "rosa cipria": "RCI", "giallo senape": "SEN", "arancione": "ARA",
    "panna": "PAN", "lilla": "LIL", "kaki": "KAK",
}  # fmt: skip

CATEGORIES: tuple[Category, ...] = (
    Category("camicie", "CAM", 0.12, ("Camicia",),
             ("in lino", "in popeline", "Oxford", "in flanella", "a righe", "a quadretti", "in denim", "in seta",
              "button-down", "con collo alla coreana"),
             TOPS, (3, 5), (39, 129),
             ("bianco", "azzurro", "celeste", "blu", "rosa cipria", "blu navy", "grigio", "verde oliva", "nero")),
    Category("pantaloni", "PAN", 0.11, ("Pantalone",),
             ("chino", "in lino", "in velluto", "in lana fredda", "cargo", "cinque tasche", "con pince", "jogger"),
             ("42", "44", "46", "48", "50", "52", "54"), (3, 5), (49, 149),
             ("blu navy", "beige", "kaki", "grigio", "nero", "verde oliva", "cammello", "bianco")),
    Category("jeans", "JNS", 0.07, ("Jeans",),
             ("slim", "regular", "straight", "a zampa", "boyfriend", "skinny", "a vita alta"),
             ("28", "29", "30", "31", "32", "33", "34", "36"), (3, 5), (59, 139),
             ("blu", "blu navy", "nero", "grigio", "bianco", "azzurro")),
    Category("maglieria", "MAG", 0.13, ("Maglione", "Cardigan", "Dolcevita", "Girocollo", "Gilet"),
             ("in cashmere", "in lana merino", "in cotone", "a trecce", "in alpaca", "misto lana"),
             TOPS, (3, 5), (39, 229),
             ("grigio melange", "blu navy", "cammello", "panna", "bordeaux", "verde bosco", "nero", "tortora")),
    Category("t-shirt e polo", "TSH", 0.10, ("T-shirt", "Polo"),
             ("in jersey", "in piqué", "in cotone organico", "a righe", "con logo", "in lino"),
             TOPS, (3, 5), (15, 69),
             ("bianco", "nero", "blu navy", "grigio melange", "rosso", "verde oliva", "giallo senape", "celeste")),
    Category("giacche", "GIA", 0.08, ("Giacca", "Blazer", "Giubbotto", "Bomber"),
             ("in lana", "in velluto", "in lino", "in pelle", "in tweed", "con zip", "doppiopetto"),
             TOPS, (3, 5), (119, 399),
             ("blu navy", "grigio", "cammello", "nero", "marrone", "verde oliva", "beige")),
    Category("cappotti", "CAP", 0.05, ("Cappotto", "Piumino", "Trench", "Parka"),
             ("in lana", "in cashmere", "leggero", "lungo", "con cappuccio", "doppiopetto"),
             TOPS, (3, 5), (179, 599),
             ("cammello", "nero", "blu navy", "antracite", "beige", "verde bosco")),
    Category("abiti", "ABI", 0.04, ("Abito", "Completo"),
             ("in lana", "in fresco lana", "in lino", "gessato", "principe di Galles"),
             ("46", "48", "50", "52", "54"), (3, 5), (249, 699),
             ("blu navy", "antracite", "grigio", "nero", "beige")),
    Category("gonne e vestiti", "GON", 0.06, ("Gonna", "Vestito", "Abito"),
             ("a pieghe", "a tubino", "midi", "in seta", "a fiori", "in maglia", "a portafoglio"),
             ("38", "40", "42", "44", "46", "48"), (3, 5), (39, 189),
             ("nero", "rosso", "blu", "rosa cipria", "lilla", "panna", "verde oliva", "arancione")),
    Category("scarpe", "SCA", 0.12, ("Sneaker", "Mocassino", "Stivaletto", "Derby", "Décolleté", "Sandalo"),
             ("in pelle", "in camoscio", "in tela", "in vernice", "con suola in gomma"),
             ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46"), (4, 6), (69, 299),
             ("nero", "marrone", "cuoio", "bianco", "blu navy", "tortora")),
    Category("borse", "BOR", 0.05, ("Borsa", "Zaino", "Shopper", "Pochette"),
             ("in pelle", "in tela", "in nylon", "in camoscio", "in paglia"),
             ONE_SIZE, (1, 1), (49, 349),
             ("nero", "cuoio", "marrone", "beige", "bordeaux", "blu navy")),
    Category("accessori", "ACC", 0.07, ("Cintura", "Sciarpa", "Cravatta", "Berretto", "Guanti", "Foulard"),
             ("in pelle", "in seta", "in cashmere", "in lana", "in cotone", "reversibile"),
             ONE_SIZE, (1, 1), (19, 119),
             ("nero", "marrone", "blu navy", "bordeaux", "grigio", "cammello", "rosso")),
)  # fmt: skip

LINE_NAMES = (
    "Portofino", "Amalfi", "Capri", "Positano", "Taormina", "Cortina", "Brera", "Posillipo", "Chianti", "Bellagio",
    "Sorrento", "Alghero", "Cervinia", "Ravello", "Lecce", "Urbino", "Siena", "Como", "Garda", "Salina", "Panarea",
    "Ortigia", "Noto", "Trastevere", "Navigli", "Oltrarno", "Langhe", "Monferrato", "Maremma", "Cilento", "Gallura",
    "Versilia", "Riviera", "Dolomiti", "Etna", "Vesuvio", "Tirreno", "Adriatico", "Murano", "Burano",
)  # fmt: skip

PRODUCT_NOTES = (
    "Vestibilità regolare.", "Vestibilità slim.", "Taglio morbido e comodo.", "Confezionato in Italia.",
    "Lavabile in lavatrice a 30°.", "Solo lavaggio a secco.", "Tessuto certificato OEKO-TEX.",
    "Materiali da filiera tracciata.", "Disegnato nel nostro atelier di Milano.",
)  # fmt: skip


# --- The people ------------------------------------------------------------------------------------------------

FEMALE_NAMES = (
    "Giulia", "Francesca", "Sara", "Martina", "Chiara", "Alessia", "Valentina", "Federica", "Elena", "Silvia",
    "Laura", "Anna", "Paola", "Roberta", "Giorgia", "Sofia", "Aurora", "Alice", "Ginevra", "Beatrice", "Camilla",
    "Elisa", "Marta", "Ilaria", "Serena", "Claudia", "Monica", "Cristina", "Barbara", "Simona", "Veronica", "Noemi",
    "Arianna", "Caterina", "Irene", "Lucia", "Maria", "Rosa", "Teresa", "Carla",
)  # fmt: skip
MALE_NAMES = (
    "Marco", "Luca", "Andrea", "Francesco", "Alessandro", "Matteo", "Lorenzo", "Davide", "Simone", "Federico",
    "Riccardo", "Stefano", "Giuseppe", "Giovanni", "Antonio", "Roberto", "Paolo", "Fabio", "Daniele", "Emanuele",
    "Gabriele", "Tommaso", "Leonardo", "Niccolò", "Pietro", "Michele", "Salvatore", "Vincenzo", "Claudio", "Massimo",
    "Nicola", "Alberto", "Filippo", "Edoardo", "Mattia", "Giacomo", "Enrico", "Carlo", "Luigi", "Domenico",
)  # fmt: skip
FIRST_NAMES = FEMALE_NAMES + MALE_NAMES
LAST_NAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri",
    "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile",
    "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi", "Villa",
    "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini", "Messina", "Sala",
    "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina", "Rizzi", "Monti", "Cattaneo", "Morelli",
    "Amato", "Silvestri", "Mazza", "Testa", "Grassi", "Pellegrino", "Carbone", "Giuliani", "Benedetti", "Barone",
    "Rossetti", "Caputo", "Montanari", "Guerra", "Palmieri", "Bernardi", "Martino", "Fiore", "De Rosa", "Ferretti",
    "Bellini", "Basile", "Riva", "Donati", "Piras", "Vitali", "Battaglia", "Sartori", "Neri", "Costantini",
    "Milani", "Pagano", "Ruggiero", "Sorrentino", "D'Amico", "Orlando", "Negri", "Bassi",
)  # fmt: skip
STREETS = (
    "Via Roma", "Via Garibaldi", "Via Mazzini", "Via Cavour", "Corso Italia", "Via Dante Alighieri", "Via Verdi",
    "Via Marconi", "Via XX Settembre", "Corso Vittorio Emanuele", "Piazza della Repubblica", "Via Manzoni",
    "Viale Europa", "Via Matteotti", "Via Gramsci", "Via Leopardi", "Via Carducci", "Via Nazionale",
    "Via San Francesco", "Via dei Mille",
)  # fmt: skip
# Example domains only: the demo must never e-mail a real person.
EMAIL_DOMAINS = ("example.it", "example.it", "example.it", "example.com", "example.com", "example.net", "example.org")
MOBILE_PREFIXES = ("320", "328", "329", "333", "334", "335", "338", "339", "340", "345", "347", "348", "349", "366",
                   "371", "380", "388", "389", "392", "393")  # fmt: skip


# --- How people buy ----------------------------------------------------------------------------------------------

CHANNELS: tuple[str, ...] = (
    ChannelCode.STORE,
    ChannelCode.WEB,
    ChannelCode.APP,
    ChannelCode.CALL_CENTER,
    ChannelCode.MARKETPLACE,
    ChannelCode.SOCIAL,
)
CHANNEL_SHARES = {"store": 0.62, "web": 0.19, "app": 0.11, "call_center": 0.025, "marketplace": 0.045, "social": 0.01}
ONLINE_PREFIX = {"web": "W", "app": "A", "call_center": "CC", "marketplace": "MP-", "social": "SO"}

# Hour of the day (Europe/Rome) -> relative weight. Stores open 10-20, the call center 9-19.
STORE_HOURS = dict(zip(range(10, 20), (6, 9, 11, 10, 8, 9, 11, 14, 15, 11), strict=True))
CALL_CENTER_HOURS = dict(zip(range(9, 19), (8, 11, 12, 10, 7, 9, 10, 10, 8, 5), strict=True))
ONLINE_WEIGHTS = (6, 3, 2, 1, 1, 2, 4, 8, 12, 16, 18, 20, 22, 24, 20, 18, 18, 20, 24, 28, 32, 34, 26, 14)
ONLINE_HOURS = dict(zip(range(24), ONLINE_WEIGHTS, strict=True))
# Monday=0 ... Sunday=6.
STORE_WEEKDAYS = (0.8, 0.8, 0.85, 0.9, 1.1, 1.6, 0.9)
ONLINE_WEEKDAYS = (1.1, 1.0, 1.0, 1.0, 0.95, 0.85, 1.15)
MONTHS = {1: 1.15, 2: 0.8, 3: 0.9, 4: 1.0, 5: 1.0, 6: 1.0, 7: 1.15, 8: 0.7, 9: 0.95, 10: 1.0, 11: 1.1, 12: 1.45}
# (month, day) on which the stores are closed.
STORE_HOLIDAYS = {(1, 1), (5, 1), (8, 15), (12, 25)}

# Lines per order: 1..6 with these weights (the online basket is a little bigger).
STORE_LINES = (32, 30, 19, 10, 6, 3)
ONLINE_LINES = (28, 28, 20, 12, 7, 5)

ENDLESS_AISLE_SHARE = 0.04
IDENTIFIED_STORE_SHARE = 0.55
CANCELLED_SHARE = 0.02

# Plain strings for the rows: enum members are slower to look up in the hot loops (Python 3.11).
CARRY_OUT, SHIP_TO_HOME = FulfilmentType.CARRY_OUT.value, FulfilmentType.SHIP_TO_HOME.value
CLICK_AND_COLLECT, SHIP_TO_STORE = FulfilmentType.CLICK_AND_COLLECT.value, FulfilmentType.SHIP_TO_STORE.value
COMPLETED, SHIPPED = OrderStatus.COMPLETED.value, OrderStatus.SHIPPED.value
COLLECTED, CANCELLED = OrderStatus.COLLECTED.value, OrderStatus.CANCELLED.value
CARD, CASH, GIFT_CARD, STORE_CREDIT = (
    Tender.CARD.value,
    Tender.CASH.value,
    Tender.GIFT_CARD.value,
    Tender.STORE_CREDIT.value,
)
# Online fulfilment -> weight, per channel.
FULFILMENTS: dict[str, dict[str, int]] = {
    "web": {SHIP_TO_HOME: 62, CLICK_AND_COLLECT: 23, SHIP_TO_STORE: 15},
    "app": {SHIP_TO_HOME: 55, CLICK_AND_COLLECT: 30, SHIP_TO_STORE: 15},
    "call_center": {SHIP_TO_HOME: 80, SHIP_TO_STORE: 20},
    "marketplace": {SHIP_TO_HOME: 100},
    "social": {SHIP_TO_HOME: 75, CLICK_AND_COLLECT: 25},
}
# Home deliveries older than this are delivered (completed); newer ones are still shipped.
DELIVERY_DAYS = 5


@dataclass(frozen=True)
class Volumes:
    """How much to make: stores stay a dozen, customers and orders grow linearly with the scale.

    The catalogue grows with the fourth root of the scale (140 -> about 1,000 products): a retailer with
    a hundred times the customers does not sell a hundred times the products.
    """

    products: int
    customers: int
    orders: int

    @classmethod
    def for_scale(cls, scale: float) -> Volumes:
        if scale <= 0:
            raise ValueError("scale must be greater than zero")
        return cls(
            products=max(MIN_PRODUCTS, round(BASE_PRODUCTS * scale**0.25)),
            customers=max(MIN_CUSTOMERS, round(BASE_CUSTOMERS * scale)),
            orders=max(MIN_ORDERS, round(BASE_ORDERS * scale)),
        )


@dataclass
class SeedResult:
    """What a run wrote, for the command's summary."""

    locations: int = 0
    products: int = 0
    variants: int = 0
    channel_prices: int = 0
    stock_levels: int = 0
    customers: int = 0
    identifiers: int = 0
    orders: int = 0
    lines: int = 0
    payments: int = 0
    seconds: float = 0.0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    api_key: str | None = None


# --- Writing rows ------------------------------------------------------------------------------------------------


class RowWriter:
    """Inserts tuples with ``executemany``: the portable path (SQLite and anything without COPY).

    Every database access of a run goes through the writer, so that a writer that copies in the
    background (below) knows when the connection is free again.
    """

    timestamp_suffix = ""  # naive UTC, as Django stores aware datetimes on SQLite

    def __init__(self, say: Progress) -> None:
        self.say = say
        self._day_text: dict[int, str] = {}

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Write `rows` (the writer owns the list from now on: callers start a new one)."""
        if not rows:
            return
        table, columns, defaults = _target(model, fields)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), INSERT_BATCH):
                batch = rows[start : start + INSERT_BATCH]
                cursor.executemany(sql, [row + defaults for row in batch] if defaults else batch)

    def next_id(self, model: type[models.Model]) -> int:
        """The first free id: the seeder numbers its rows itself so children can point at parents at once."""
        self.wait()
        return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1

    def timestamp(self, epoch: int) -> str:
        """A UTC instant as the database's text form; faster than formatting a datetime per row."""
        day, seconds = divmod(epoch, DAY_SECONDS)
        text = self._day_text.get(day)
        if text is None:
            text = self._day_text[day] = datetime.fromtimestamp(day * DAY_SECONDS, UTC).strftime("%Y-%m-%d")
        hours, rest = divmod(seconds, 3600)
        return f"{text} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}{self.timestamp_suffix}"

    def prepare(self, written: Sequence[type[models.Model]]) -> None:
        """Anything to set up in the transaction before the first row."""

    def wait(self) -> None:
        """Return once every row handed over so far is in the database."""

    def finish(self, written: Sequence[type[models.Model]]) -> None:
        """Move the id sequences past the ids the seeder chose (no-op where max(id) drives them)."""
        self.wait()
        statements = connection.ops.sequence_reset_sql(no_style(), list(written))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    def close(self) -> None:
        """Release what the writer holds, after success or failure."""


class CopyWriter(RowWriter):
    """PostgreSQL: ``COPY ... FROM STDIN`` through psycopg 3, an order of magnitude faster than INSERT.

    Two things keep ten million lines in minutes:

    * the COPY runs in a worker thread on the same psycopg connection (and transaction) while the main
      thread generates the next chunk, so PostgreSQL and Python work at the same time;
    * the foreign keys and the plain indexes of the written tables are dropped for the load and put back
      at the end: PostgreSQL then checks each key with one join and builds each index with one sort,
      instead of a lookup and an index insertion per row (measured: the per-row way took 2.5 times as
      long). Primary keys and unique constraints stay. All of it happens in the run's transaction: a
      failure leaves the schema as it was.
    """

    timestamp_suffix = "+00"
    # COPY jobs handed over and not yet done (a chunk of orders makes four): enough to keep both sides
    # busy, few enough for flat memory.
    MAX_PENDING = 4

    def __init__(self, say: Progress) -> None:
        super().__init__(say)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-demo-copy")
        self._pending: deque[Future[None]] = deque()
        self._restore: list[str] = []  # DDL that puts back the keys and indexes dropped for the load

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table, columns, defaults = _target(model, fields)
        while len(self._pending) >= self.MAX_PENDING:
            self._pending.popleft().result()
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self._pending.append(self._worker.submit(_copy_rows, connection.connection, sql, rows, defaults))

    def wait(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def prepare(self, written: Sequence[type[models.Model]]) -> None:
        connection.ensure_connection()
        tables = [model._meta.db_table for model in written]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(FOREIGN_KEYS_SQL, [tables])
            foreign_keys = cursor.fetchall()
            cursor.execute(PLAIN_INDEXES_SQL, [tables])
            indexes = cursor.fetchall()
            try:
                with transaction.atomic():
                    for table, name, _definition in foreign_keys:
                        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
                    for name, _definition in indexes:
                        cursor.execute(f"DROP INDEX {name}")
            except DatabaseError:
                # Not the tables' owner: keep keys and indexes; check the keys per COPY, not all at the commit.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                return
        # Indexes first: built once by sorting, far cheaper than ten million one-row insertions.
        # A partitioned table's index reads "ON ONLY table" (the parent alone): rebuilt as it was dropped, on
        # the parent and every partition.
        self._restore = [definition.replace(" ON ONLY ", " ON ", 1) for _name, definition in indexes] + [
            f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}" for table, name, definition in foreign_keys
        ]

    def finish(self, written: Sequence[type[models.Model]]) -> None:
        self.wait()
        if self._restore:
            started = time.monotonic()
            self.say(f"indexes and foreign keys: rebuilding {len(self._restore)}")
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for sql in self._restore:
                    cursor.execute(sql)
            self.say(f"indexes and foreign keys: rebuilt in {time.monotonic() - started:.0f} s")
        self._restore = []
        super().finish(written)

    def close(self) -> None:
        # After a failure, let a COPY in flight end before the transaction is rolled back on the same connection.
        for pending in self._pending:
            pending.exception()
        self._pending.clear()
        self._worker.shutdown(wait=True)


# The foreign keys and the plain indexes (not the primary keys and unique constraints) of the written tables.
FOREIGN_KEYS_SQL = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE contype = 'f' AND conrelid = ANY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
    ORDER BY 1, 2
"""
PLAIN_INDEXES_SQL = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index AS i
    WHERE i.indrelid = ANY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
      AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
    ORDER BY 1
"""


def _copy_rows(pg_connection: Any, sql: str, rows: list[tuple[Any, ...]], defaults: tuple[Any, ...]) -> None:
    """Runs in the writer's thread, on the psycopg connection of the run (psycopg connections are thread-safe)."""
    with pg_connection.cursor() as cursor, cursor.copy(sql) as copy:
        if defaults:
            for row in rows:
                copy.write_row(row + defaults)
        else:
            for row in rows:
                copy.write_row(row)


def _target(model: type[models.Model], fields: Sequence[str]) -> tuple[str, list[str], tuple[Any, ...]]:
    """The table, its columns for `fields`, then the other columns with the value each row gets.

    The models grow while the demo stays the same: a column the seeder does not name gets what a model
    instance would get (the field's default, "" or NULL); one that would be NULL and may not is an error
    that names it.
    """
    quote = connection.ops.quote_name
    columns = []
    for name in fields:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{model.__name__}.{name} is not a column"
        columns.append(quote(field.column))
    defaults = []
    for field in model._meta.concrete_fields:
        if field.name in fields or field.attname in fields:
            continue
        value = field.get_default()
        if value is None and not field.null:
            raise RuntimeError(
                f"{model._meta.label}.{field.name} has no default: tell omni/demo.py what the demo puts there"
            )
        columns.append(quote(field.column))
        defaults.append(field.get_db_prep_save(value, connection))
    return quote(model._meta.db_table), columns, tuple(defaults)


def writer_for_connection(say: Progress) -> RowWriter:
    return CopyWriter(say) if connection.vendor == "postgresql" else RowWriter(say)


ZERO = "0.00"


def _euros(cents: int) -> str:
    """Integer cents as the exact decimal text the databases store (cents are never negative here)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


STORE_LINES_CUMULATIVE = _cumulative(STORE_LINES)
ONLINE_LINES_CUMULATIVE = _cumulative(ONLINE_LINES)


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """Index drawn by cumulative weights: what ``random.choices`` does, without building a list per call."""
    return bisect.bisect(cumulative, rng.random() * cumulative[-1], 0, len(cumulative) - 1)


def _shelf_price(rng: random.Random, euros: int) -> int:
    """Cents of an Italian shelf price near `euros`: mostly 49,90-style, sometimes a round 135,00."""
    if rng.random() < 0.8:
        return max(990, round(euros, -1) * 100 - 10)
    return max(5, round(euros / 5) * 5) * 100


def _ascii(text: str) -> str:
    """'Niccolò D'Angelo' -> 'niccolodangelo': the local part of a believable e-mail address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _scramble(number: int, modulus: int, multiplier: int, offset: int) -> int:
    """A bijection on [0, modulus): numbers that look random yet never collide (multiplier coprime to modulus)."""
    return (number * multiplier + offset) % modulus


def _luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


# --- The generator -----------------------------------------------------------------------------------------------


@dataclass
class _Store:
    id: int
    site: Site
    warehouse_id: int  # the warehouse that serves this store's region


@dataclass
class _Assortment:
    """What one channel sells: variant ids, their price on that channel (cents) and their popularity."""

    variant_ids: list[int] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)
    price_texts: list[str] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)


class _Pool:
    """Customers of one kind in the order they joined, so "who existed on that day" is one bisect."""

    __slots__ = ("created", "ids")

    def __init__(self) -> None:
        self.ids = array("q")
        self.created = array("q")

    def add(self, customer_id: int, created: int) -> None:
        self.ids.append(customer_id)
        self.created.append(created)

    def pick(self, rng: random.Random, epoch: int) -> int | None:
        eligible = bisect.bisect_right(self.created, epoch)
        if not eligible:
            return None
        # Older customers buy a little more often than the ones who have just joined.
        return self.ids[int(eligible * rng.random() ** 1.2)]


class DemoBuilder:
    """Generates the whole retailer, phase by phase, into the current database."""

    def __init__(self, *, scale: float, seed: int, until: date, progress: Progress | None = None) -> None:
        self.volumes = Volumes.for_scale(scale)
        self.seed = seed
        self.until = until
        self.say: Progress = progress or (lambda message: None)
        self.writer = writer_for_connection(self.say)
        self.result = SeedResult()
        self.channel_ids = dict(Channel.objects.values_list("code", "id"))
        missing = [code for code in CHANNELS if code not in self.channel_ids]
        if missing:
            raise RuntimeError(f"channels missing (run the migrations): {', '.join(missing)}")
        # The year of orders: the 365 days before `until`; the stock count is taken on `until` morning.
        self.days = [until - timedelta(days=365 - offset) for offset in range(365)]
        self.until_epoch = int(datetime(until.year, until.month, until.day, tzinfo=ROME).timestamp())
        self.window_start = int(datetime.combine(self.days[0], datetime.min.time(), ROME).timestamp())

    def rng(self, phase: str) -> random.Random:
        # A string seed is hashed with SHA-512 by random.seed: stable across processes and PYTHONHASHSEED.
        return random.Random(f"omni-demo:{self.seed}:{phase}")

    def run(self) -> SeedResult:
        started = time.monotonic()
        written: list[type[models.Model]] = [
            Location, Product, Product.channels.through, Variant, ChannelPrice, StockLevel, StockMovement,
            Customer, Identifier, Order, OrderLine, Allocation, Payment,
        ]  # fmt: skip
        try:
            self.writer.prepare(written)
            self.locations()
            self.catalog()
            self.stock()
            self.customers()
            self.orders()
            self.writer.finish(written)
        finally:
            self.writer.close()
        self.result.seconds = time.monotonic() - started
        return self.result

    # --- Locations ---

    def locations(self) -> None:
        created = self.writer.timestamp(self.until_epoch - 3 * 365 * DAY_SECONDS)
        next_id = self.writer.next_id(Location)
        rows = []
        self.warehouse_ids: list[int] = []
        for offset, site in enumerate(WAREHOUSES):
            rows.append(self._location_row(next_id + offset, site, LocationKind.WAREHOUSE.value, created))
            self.warehouse_ids.append(next_id + offset)
        next_id += len(WAREHOUSES)
        self.stores: list[_Store] = []
        for offset, site in enumerate(STORES):
            rows.append(self._location_row(next_id + offset, site, LocationKind.STORE.value, created))
            north = float(site.latitude) >= NORTH_LATITUDE
            self.stores.append(_Store(next_id + offset, site, self.warehouse_ids[0 if north else 1]))
        self.writer.insert(
            Location,
            ["id", "code", "name", "kind", "address", "city", "postcode", "country", "latitude", "longitude",
             "is_pickup_point", "ships_to_customers", "is_active", "created_at"],
            rows,
        )  # fmt: skip
        self.store_cumulative = _cumulative([store.site.weight for store in self.stores])
        self.shipping_stores = [store for store in self.stores if store.site.ships]
        self.pickup_stores = [store for store in self.stores if store.site.pickup]
        self.pickup_cumulative = _cumulative([store.site.weight for store in self.pickup_stores])
        self.result.locations = len(rows)
        self.say(f"locations: {len(self.stores)} stores, {len(self.warehouse_ids)} warehouses")

    @staticmethod
    def _location_row(pk: int, site: Site, kind: str, created: str) -> tuple[Any, ...]:
        return (pk, site.code, site.name, kind, site.address, site.city, site.postcode, "IT", site.latitude,
                site.longitude, site.pickup, site.ships, True, created)  # fmt: skip

    # --- Catalogue ---

    def catalog(self) -> None:
        rng = self.rng("catalog")
        total = self.volumes.products
        counts = [max(1, round(total * category.share)) for category in CATEGORIES]
        product_id, variant_id, link_id = (
            self.writer.next_id(Product),
            self.writer.next_id(Variant),
            self.writer.next_id(Product.channels.through),
        )
        products, links, variants = [], [], []
        # Per variant, for the later phases: id, list price (cents), popularity, sold in stores.
        self.variant_ids: list[int] = []
        self.variant_prices: list[int] = []
        self.variant_weights: list[float] = []
        self.variant_in_store: list[bool] = []
        channel_variants: dict[str, list[int]] = {code: [] for code in CHANNELS}  # indexes into the lists above
        names: set[str] = set()
        # Popularity follows a long tail over a shuffled ranking: a few bestsellers, many slow movers.
        ranks = list(range(1, sum(counts) + 1))
        rng.shuffle(ranks)
        product_index = 0
        for category, count in zip(CATEGORIES, counts, strict=True):
            for number in range(1, count + 1):
                name = self._product_name(rng, category, names)
                code = f"{category.prefix}{number:05d}"
                launched = self.until_epoch - int(rng.uniform(30, 730) * DAY_SECONDS)
                notes = " ".join(rng.sample(PRODUCT_NOTES, 2))
                products.append(
                    (product_id, code, name, category.name, f"{name}. {notes}", True, self.writer.timestamp(launched))
                )
                channels = self._product_channels(rng)
                for channel in channels:
                    links.append((link_id, product_id, self.channel_ids[channel]))
                    link_id += 1
                price = _shelf_price(rng, rng.randint(*category.price_euros))
                popularity = 1.0 / ranks[product_index] ** 0.8
                product_index += 1
                low, high = category.sizes_per_product
                span = rng.randint(low, min(high, len(category.sizes)))
                first = rng.randint(0, len(category.sizes) - span)
                sizes = category.sizes[first : first + span]
                colours = rng.sample(category.palette, rng.choices((1, 2, 3), (60, 30, 10))[0])
                for colour_rank, colour in enumerate(colours):
                    for size_rank, size in enumerate(sizes):
                        sku = f"{code}-{COLOURS[colour]}-{size}"
                        variants.append((variant_id, product_id, sku, colour, size, _euros(price), True))
                        # Middle sizes sell more; so does the first colour of a product.
                        middle = abs(size_rank - (len(sizes) - 1) / 2)
                        weight = popularity / (1 + colour_rank) / (1 + 0.35 * middle)
                        index = len(self.variant_ids)
                        self.variant_ids.append(variant_id)
                        self.variant_prices.append(price)
                        self.variant_weights.append(weight)
                        self.variant_in_store.append("store" in channels)
                        for channel in channels:
                            channel_variants[channel].append(index)
                        variant_id += 1
                product_id += 1
        self.writer.insert(
            Product, ["id", "code", "name", "category", "description", "is_active", "created_at"], products
        )
        self.writer.insert(Product.channels.through, ["id", "product", "channel"], links)
        self.writer.insert(Variant, ["id", "product", "sku", "color", "size", "price", "is_active"], variants)
        overrides = self._channel_prices(rng, channel_variants)
        self.result.products, self.result.variants, self.result.channel_prices = (
            len(products),
            len(variants),
            len(overrides),
        )
        self.say(f"catalogue: {len(products)} products, {len(variants)} variants, {len(overrides)} channel prices")

    @staticmethod
    def _product_name(rng: random.Random, category: Category, taken: set[str]) -> str:
        for _attempt in range(20):
            name = f"{rng.choice(category.nouns)} {rng.choice(category.styles)} {rng.choice(LINE_NAMES)}"
            if name not in taken:
                break
        else:  # a very large catalogue: number the line
            name = f"{name} {len(taken)}"
        taken.add(name)
        return name

    @staticmethod
    def _product_channels(rng: random.Random) -> list[str]:
        """Most products are everywhere; a few are store-only or online exclusives."""
        roll = rng.random()
        if roll < 0.05:
            return ["store"]
        channels = ["web", "app"] if roll < 0.12 else ["store", "web", "app", "call_center"]
        if rng.random() < 0.55:
            channels.append("marketplace")
        if rng.random() < 0.3:
            channels.append("social")
        return channels

    def _channel_prices(self, rng: random.Random, channel_variants: dict[str, list[int]]) -> list[tuple[Any, ...]]:
        """A few explicit exceptions to "same price everywhere": online promotions, a marketplace mark-up."""
        rules = {"web": (0.02, 0.90), "app": (0.03, 0.90), "marketplace": (0.05, 1.08)}
        price_id = self.writer.next_id(ChannelPrice)
        rows = []
        self.assortments: dict[str, _Assortment] = {}
        for channel in CHANNELS:
            share, factor = rules.get(channel, (0.0, 1.0))
            assortment = _Assortment()
            running = 0.0
            for index in channel_variants[channel]:
                price = self.variant_prices[index]
                if share and rng.random() < share:
                    price = max(90, int(round(price * factor, -2)) - 10)  # still ending in ,90
                    rows.append((price_id, self.variant_ids[index], self.channel_ids[channel], _euros(price)))
                    price_id += 1
                running += self.variant_weights[index]
                assortment.variant_ids.append(self.variant_ids[index])
                assortment.prices.append(price)
                assortment.price_texts.append(_euros(price))
                assortment.cumulative.append(running)
            self.assortments[channel] = assortment
        # A tiny catalogue could leave a channel with nothing to sell: it then sells the web assortment.
        for channel in CHANNELS:
            if not self.assortments[channel].variant_ids:
                self.assortments[channel] = self.assortments["web"] if channel != "web" else self.assortments["store"]
        self.writer.insert(ChannelPrice, ["id", "variant", "channel", "price"], rows)
        return rows

    # --- Stock ---

    def stock(self) -> None:
        """Stock everywhere, each level with the count movement that explains it (stock = sum of movements)."""
        rng = self.rng("stock")
        counted = self.writer.timestamp(self.until_epoch + 7 * 3600)  # the morning count on `until`
        level_id, movement_id = self.writer.next_id(StockLevel), self.writer.next_id(StockMovement)
        top = max(self.variant_weights)
        levels, movements = [], []
        locations = [(pk, True) for pk in self.warehouse_ids] + [(store.id, False) for store in self.stores]
        for location_id, is_warehouse in locations:
            for index, variant_id in enumerate(self.variant_ids):
                if is_warehouse:
                    on_hand = rng.randint(0, 40) + int(300 * self.variant_weights[index] / top)
                    safety = 5
                elif self.variant_in_store[index] and rng.random() < 0.8:
                    on_hand = rng.choices((0, 1, 2, 3, 4, 5, 6, 8, 10, 12), (10, 15, 20, 15, 12, 10, 7, 5, 4, 2))[0]
                    safety = 1
                else:
                    continue
                levels.append((level_id, location_id, variant_id, on_hand, 0, safety, counted))
                movements.append(
                    (movement_id, location_id, variant_id, MovementKind.COUNT.value, on_hand, 0, "Inventario iniziale",
                     counted)
                )  # fmt: skip
                level_id += 1
                movement_id += 1
        self.writer.insert(
            StockLevel, ["id", "location", "variant", "on_hand", "reserved", "safety_stock", "updated_at"], levels
        )
        self.writer.insert(
            StockMovement,
            ["id", "location", "variant", "kind", "on_hand_delta", "reserved_delta", "reason", "created_at"],
            movements,
        )
        self.result.stock_levels = len(levels)
        self.say(f"stock: {len(levels)} levels at {len(locations)} locations, each with its count movement")

    # --- Customers ---

    def customers(self) -> None:
        """Customers in the order they joined (ids follow joining dates): three in ten join during the year."""
        rng = self.rng("customers")
        self.customers_started = time.monotonic()
        total = self.volumes.customers
        joined = []
        for _ in range(total):
            if rng.random() < 0.7:
                joined.append(int(rng.uniform(self.until_epoch - 4 * 365 * DAY_SECONDS, self.window_start)))
            else:
                joined.append(int(rng.uniform(self.window_start, self.until_epoch)))
        joined.sort()
        first_id = self.first_customer_id = self.writer.next_id(Customer)
        identifier_id = self.writer.next_id(Identifier)
        # Per customer (index = id - first id), what the orders need later, in compact arrays.
        self.customer_home = array("B")
        self.customer_first = array("H")
        self.customer_last = array("H")
        self.store_pools = [_Pool() for _ in self.stores]  # identified at the till: card or phone, by home store
        self.till_pool, self.email_pool, self.phone_pool = _Pool(), _Pool(), _Pool()
        self.customer_rows: list[tuple[Any, ...]] = []
        self.identifier_rows: list[tuple[Any, ...]] = []
        for index in range(total):
            customer_id, created_epoch = first_id + index, joined[index]
            home = _pick(rng, self.store_cumulative)
            self.customer_home.append(home)
            if rng.random() < 0.12:
                created = self.writer.timestamp(created_epoch)
                # A visitor known only by a device: the app or the site saw them, no name yet.
                device = uuid.UUID(int=(rng.getrandbits(96) << 32) | _scramble(customer_id, 2**32, 2_654_435_761, 7))
                self.identifier_rows.append(
                    (identifier_id, customer_id, IdentifierKind.DEVICE.value, str(device), True, created)
                )
                identifier_id += 1
                self.customer_rows.append((customer_id, "", "", "", "", None, created, created))
                self.customer_first.append(0)
                self.customer_last.append(0)
            else:
                identifier_id = self._named_customer(rng, customer_id, created_epoch, home, identifier_id)
            if len(self.customer_rows) >= CUSTOMER_CHUNK:
                self._flush_customers(index + 1, total)
        if self.customer_rows:
            self._flush_customers(total, total)

    def _named_customer(
        self,
        rng: random.Random,
        customer_id: int,
        created_epoch: int,
        home: int,
        identifier_id: int,
    ) -> int:
        """A customer with a name and some of: a loyalty card, an e-mail (and web account), a mobile, an app.

        Returns the next free identifier id. Identifier values are made unique from the customer id (a
        bijection for ids below ten million), so no set of used values has to be kept.
        """
        created = self.writer.timestamp(created_epoch)
        first_index = rng.randrange(len(FIRST_NAMES))
        last_index = rng.randrange(len(LAST_NAMES))
        first, last = FIRST_NAMES[first_index], LAST_NAMES[last_index]
        has_card, has_email, has_phone = rng.random() < 0.6, rng.random() < 0.75, rng.random() < 0.45
        if not (has_card or has_email or has_phone):
            has_email = True
        email = phone = ""
        kinds: list[tuple[str, str]] = []
        if has_card:
            body = f"29{_scramble(customer_id, 10**10, 2_718_281_829, 314_159):010d}"
            kinds.append((IdentifierKind.CARD.value, body + _luhn_digit(body)))
        if has_email:
            # The customer id closes the local part: names hold no digits, so no two addresses collide.
            given, family = _ascii(first), _ascii(last)
            local = rng.choice((f"{given}.{family}", f"{given}{family}", f"{given[0]}.{family}", f"{family}.{given}"))
            email = f"{local}{customer_id}@{rng.choice(EMAIL_DOMAINS)}"
            kinds.append((IdentifierKind.EMAIL.value, email))
            if rng.random() < 0.6:
                kinds.append(
                    (IdentifierKind.WEB_ACCOUNT.value, f"WA{_scramble(customer_id, 10**8, 48_271, 12_345):08d}")
                )
        if has_phone:
            # +39 3xx and seven digits unique per customer: an Italian mobile number in E.164.
            phone = f"+39{rng.choice(MOBILE_PREFIXES)}{_scramble(customer_id, 10**7, 7_654_321, 1_234_567):07d}"
            kinds.append((IdentifierKind.PHONE.value, phone))
        if rng.random() < 0.25:
            device = uuid.UUID(int=(rng.getrandbits(96) << 32) | _scramble(customer_id, 2**32, 2_654_435_761, 7))
            kinds.append((IdentifierKind.DEVICE.value, str(device)))
        for kind, value in kinds:
            self.identifier_rows.append((identifier_id, customer_id, kind, value, True, created))
            identifier_id += 1
        birth = None
        if rng.random() < 0.65:
            birth = (date(1950, 1, 1) + timedelta(days=rng.randrange(57 * 365))).isoformat()
        self.customer_rows.append((customer_id, first, last, email, phone, birth, created, created))
        self.customer_first.append(first_index)
        self.customer_last.append(last_index)
        if has_card or has_phone:
            self.store_pools[home].add(customer_id, created_epoch)
            self.till_pool.add(customer_id, created_epoch)
        if has_email:
            self.email_pool.add(customer_id, created_epoch)
        if has_phone:
            self.phone_pool.add(customer_id, created_epoch)
        return identifier_id

    def _flush_customers(self, done: int, total: int) -> None:
        customers, identifiers = self.customer_rows, self.identifier_rows
        self.customer_rows, self.identifier_rows = [], []  # the writer owns the old lists now
        self.writer.insert(
            Customer,
            ["id", "first_name", "last_name", "email", "phone", "birth_date", "created_at", "updated_at"],
            customers,
        )
        self.writer.insert(Identifier, ["id", "customer", "kind", "value", "is_verified", "created_at"], identifiers)
        self.result.customers += len(customers)
        self.result.identifiers += len(identifiers)
        seconds = time.monotonic() - self.customers_started
        self.say(f"customers: {done}/{total} ({done * 100 // total}%), {seconds:.0f} s")

    # --- Orders ---

    def _day_weights(self) -> tuple[list[float], list[float]]:
        """Relative sales per day for the stores and for the online channels: seasons, weekdays, Black Friday."""
        store, online = [], []
        for offset, day in enumerate(self.days):
            month = MONTHS[day.month]
            black_friday = _black_friday(day.year)
            boost = 1.0
            if day == black_friday:
                boost = 3.0
            elif black_friday < day <= black_friday + timedelta(days=3):
                boost = 1.8
            elif day.month == 12 and 8 <= day.day <= 24:
                boost = 1.3
            closed = (day.month, day.day) in STORE_HOLIDAYS
            store.append(0.0 if closed else month * STORE_WEEKDAYS[day.weekday()] * boost)
            growth = 0.85 + 0.3 * offset / len(self.days)  # online grows over the year
            online.append(month * ONLINE_WEEKDAYS[day.weekday()] * (boost * 1.3 if boost > 1.0 else 1.0) * growth)
        return store, online

    def _daily_counts(self, rng: random.Random) -> list[list[int]]:
        """Orders per day and channel; fractions are rounded at random so the totals stay right on average."""
        store_weights, online_weights = self._day_weights()
        store_sum, online_sum = sum(store_weights), sum(online_weights)
        counts = []
        for offset in range(len(self.days)):
            row = []
            for channel in CHANNELS:
                weights, weight_sum = (store_weights, store_sum) if channel == "store" else (online_weights, online_sum)
                expected = self.volumes.orders * CHANNEL_SHARES[channel] * weights[offset] / weight_sum
                whole = int(expected)
                row.append(whole + (1 if rng.random() < expected - whole else 0))
            counts.append(row)
        return counts

    def _discount_rules(self, day: date) -> tuple[float, tuple[int, ...]]:
        """Share of lines discounted that day and the percentages: the saldi, Black Friday, small promotions."""
        if (day.month == 1 and day.day >= 5) or day.month == 2 or day.month in (7, 8):
            return 0.45, (20, 30, 30, 40, 50)
        black_friday = _black_friday(day.year)
        if black_friday <= day <= black_friday + timedelta(days=3):
            return 0.6, (20, 25, 30)
        return 0.06, (10, 15)

    def _channel_plans(self) -> list[_ChannelPlan]:
        plans = []
        for channel in CHANNELS:
            hours = (
                STORE_HOURS if channel == "store" else CALL_CENTER_HOURS if channel == "call_center" else ONLINE_HOURS
            )
            fulfilments = FULFILMENTS.get(channel, {CARRY_OUT: 1})
            plans.append(
                _ChannelPlan(
                    code=channel,
                    id=self.channel_ids[channel],
                    prefix=ONLINE_PREFIX.get(channel, ""),
                    assortment=self.assortments[channel],
                    hours=list(hours),
                    hour_cumulative=_cumulative(list(hours.values())),
                    lines_cumulative=_cumulative(STORE_LINES if channel == "store" else ONLINE_LINES),
                    fulfilments=list(fulfilments),
                    fulfilment_cumulative=_cumulative(list(fulfilments.values())),
                )
            )
        return plans

    def orders(self) -> None:
        """A year of orders, generated day by day in time order and written every ORDER_CHUNK orders."""
        rng = self.rng("orders")
        counts = self._daily_counts(rng)
        total = sum(map(sum, counts))
        self.next_order = self.writer.next_id(Order)
        self.next_line = self.writer.next_id(OrderLine)
        self.next_allocation = self.writer.next_id(Allocation)
        self.next_payment = self.writer.next_id(Payment)
        plans = self._channel_plans()
        batch = _OrderBatch()
        started = time.monotonic()
        last_day = len(self.days) - 1
        for offset, day in enumerate(self.days):
            hour_starts = [
                int(datetime(day.year, day.month, day.day, hour, tzinfo=ROME).timestamp()) for hour in range(24)
            ]
            moments: list[tuple[int, int]] = []
            for channel_index, plan in enumerate(plans):
                for _ in range(counts[offset][channel_index]):
                    hour = plan.hours[_pick(rng, plan.hour_cumulative)]
                    moments.append((hour_starts[hour] + int(rng.random() * 3600), channel_index))
            moments.sort()  # numbers follow time, as a real order sequence does
            today = _Day(
                stamp=day.strftime("%Y%m%d"),
                age_days=(self.until - day).days,
                discount=self._discount_rules(day),
                receipts=[0] * len(self.stores),
            )
            for epoch, channel_index in moments:
                plan = plans[channel_index]
                plan.sequence += 1
                self._order(rng, batch, today, epoch, plan)
            if len(batch.orders) >= ORDER_CHUNK or offset == last_day:
                self._flush_orders(batch, total, started)
                batch = _OrderBatch()  # the writer owns the old one now

    def _order(self, rng: random.Random, batch: _OrderBatch, day: _Day, epoch: int, plan: _ChannelPlan) -> None:
        order_id = self.next_order
        self.next_order += 1
        location_id = pickup_id = customer_id = None
        endless = False
        if plan.code == "store":
            store_index = _pick(rng, self.store_cumulative)
            store = self.stores[store_index]
            location_id = store.id
            day.receipts[store_index] += 1
            external_id = f"{store.site.code}-{day.stamp}-{day.receipts[store_index]:04d}"
            if rng.random() < IDENTIFIED_STORE_SHARE:
                pool = self.store_pools[store_index] if rng.random() < 0.85 else self.till_pool
                customer_id = pool.pick(rng, epoch)
            fulfilment, source_id, status = CARRY_OUT, store.id, COMPLETED
            if rng.random() < ENDLESS_AISLE_SHARE:
                # Sold out here, ordered here: shipped from the region's warehouse or another store.
                endless = True
                if customer_id is None:
                    customer_id = self.till_pool.pick(rng, epoch)
                source_id = self._ship_from(rng, store, exclude=store.id)
                if rng.random() < 0.6:
                    fulfilment = SHIP_TO_HOME
                    status = COMPLETED if day.age_days > DELIVERY_DAYS else SHIPPED
                else:
                    fulfilment, pickup_id, status = SHIP_TO_STORE, store.id, COLLECTED
        else:
            external_id = f"{plan.prefix}{plan.sequence:09d}"
            if plan.code == "call_center":
                customer_id = (self.phone_pool if rng.random() < 0.8 else self.email_pool).pick(rng, epoch)
            elif plan.code != "marketplace" or rng.random() < 0.5:
                customer_id = self.email_pool.pick(rng, epoch)
            if customer_id is None:
                home = self.stores[_pick(rng, self.store_cumulative)]
            else:
                home = self.stores[self.customer_home[customer_id - self.first_customer_id]]
            fulfilment = plan.fulfilments[_pick(rng, plan.fulfilment_cumulative)]
            if fulfilment == SHIP_TO_HOME:
                source_id = self._ship_from(rng, home)
                status = COMPLETED if day.age_days > DELIVERY_DAYS else SHIPPED
            else:
                pickup = home if home.site.pickup else self.pickup_stores[_pick(rng, self.pickup_cumulative)]
                pickup_id, status = pickup.id, COLLECTED
                source_id = pickup.id if fulfilment == CLICK_AND_COLLECT else pickup.warehouse_id
            if rng.random() < CANCELLED_SHARE:
                status = CANCELLED
        address = self._address(rng, customer_id) if fulfilment == SHIP_TO_HOME else "{}"
        cancelled = status == CANCELLED
        subtotal, discount_total = self._lines(
            rng, batch, day, order_id, plan, source_id, cancelled, fulfilment, location_id
        )
        total = subtotal - discount_total
        total_text = _euros(total)
        if not cancelled:
            self._payments(rng, batch, order_id, plan.code, total, total_text)
        created = self.writer.timestamp(epoch)
        batch.orders.append(
            (order_id, f"OM{order_id:010d}", plan.id, location_id, customer_id, external_id, status, fulfilment,
             pickup_id, address, endless, "EUR", _euros(subtotal) if discount_total else total_text,
             _euros(discount_total) if discount_total else ZERO, total_text, 0, 0, created, created)
        )  # fmt: skip

    def _ship_from(self, rng: random.Random, near: _Store, exclude: int | None = None) -> int:
        """Most parcels leave the region's warehouse; some leave a store that ships (ship from store)."""
        if rng.random() < 0.15:
            candidates = [store.id for store in self.shipping_stores if store.id != exclude]
            if candidates:
                return candidates[int(rng.random() * len(candidates))]
        return near.warehouse_id

    def _address(self, rng: random.Random, customer_id: int | None) -> str:
        """A delivery address in the customer's city (the city of their home store)."""
        if customer_id is None:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            home = self.stores[_pick(rng, self.store_cumulative)]
        else:
            index = customer_id - self.first_customer_id
            first, last = FIRST_NAMES[self.customer_first[index]], LAST_NAMES[self.customer_last[index]]
            home = self.stores[self.customer_home[index]]
        return json.dumps(
            {
                "name": f"{first} {last}",
                "street": f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
                "postcode": home.site.postcode,
                "city": home.site.city,
                "country": "IT",
            },
            ensure_ascii=False,
        )

    def _lines(
        self,
        rng: random.Random,
        batch: _OrderBatch,
        day: _Day,
        order_id: int,
        plan: _ChannelPlan,
        source_id: int,
        cancelled: bool,
        fulfilment: str,
        selling_id: int | None,
    ) -> tuple[int, int]:
        """The lines of one order and their allocations; returns (subtotal, discounts) in cents.

        This loop runs ten million times at scale 140: it avoids function calls and Decimal on purpose.
        """
        random_ = rng.random
        assortment = plan.assortment
        cumulative, prices, price_texts = assortment.cumulative, assortment.prices, assortment.price_texts
        top, last = cumulative[-1], len(cumulative) - 1
        lines_cumulative = plan.lines_cumulative
        wanted = 1 + bisect.bisect(lines_cumulative, random_() * lines_cumulative[-1], 0, len(lines_cumulative) - 1)
        discount_share, discount_rates = day.discount
        # A home delivery may take units from a second place: a store that ships, other than the first source
        # and than the store that took the order (an endless-aisle order is one because that store had none).
        helpers = []
        if fulfilment == SHIP_TO_HOME:
            helpers = [store.id for store in self.shipping_stores if store.id not in (source_id, selling_id)]
        may_split = bool(helpers)
        lines, allocations = batch.lines, batch.allocations
        chosen: list[int] = []
        subtotal = discount_total = 0
        for _ in range(wanted):
            index = bisect.bisect(cumulative, random_() * top, 0, last)
            if index in chosen:  # the same variant twice is one line; draw again once, else drop the line
                index = bisect.bisect(cumulative, random_() * top, 0, last)
                if index in chosen:
                    continue
            chosen.append(index)
            roll = random_()
            quantity = 1 if roll < 0.86 else 2 if roll < 0.97 else 3
            unit = prices[index]
            gross = unit * quantity
            line_id = self.next_line
            self.next_line += 1
            if random_() < discount_share:
                discount = (gross * discount_rates[int(random_() * len(discount_rates))] + 50) // 100
                discount_text, total_text = _euros(discount), _euros(gross - discount)
            else:
                discount, discount_text = 0, ZERO
                total_text = price_texts[index] if quantity == 1 else _euros(gross)
            lines.append(
                (line_id, order_id, assortment.variant_ids[index], quantity, price_texts[index], discount_text,
                 total_text)
            )  # fmt: skip
            subtotal += gross
            discount_total += discount
            if cancelled:
                continue
            allocation_id = self.next_allocation
            if may_split and quantity > 1 and random_() < 0.2:
                allocations.append((allocation_id, line_id, source_id, quantity - 1))
                allocations.append((allocation_id + 1, line_id, helpers[int(random_() * len(helpers))], 1))
                self.next_allocation += 2
            else:
                allocations.append((allocation_id, line_id, source_id, quantity))
                self.next_allocation += 1
        return subtotal, discount_total

    def _payments(
        self, rng: random.Random, batch: _OrderBatch, order_id: int, channel: str, total: int, total_text: str
    ) -> None:
        """Tenders that add up to the total: mostly card, cash at the till, some gift cards and store credit."""
        roll = rng.random()
        if channel == "store":
            if roll < 0.68:
                parts = [(CARD, total)]
            elif roll < 0.93:
                parts = [(CASH, total)]
            elif roll < 0.97:
                parts = self._partial(rng, GIFT_CARD, total, (2500, 5000, 10000))
            else:
                parts = self._partial(rng, CASH, total, (2000, 5000, 10000))
        elif channel in ("marketplace", "call_center") or roll < 0.93:
            parts = [(CARD, total)]
        elif roll < 0.97:
            parts = self._partial(rng, GIFT_CARD, total, (2500, 5000, 10000))
        else:
            parts = self._partial(rng, STORE_CREDIT, total, (1000, 2000, 3000, 5000))
        for tender, amount in parts:
            text = total_text if amount == total else _euros(amount)
            batch.payments.append((self.next_payment, order_id, tender, text))
            self.next_payment += 1

    @staticmethod
    def _partial(rng: random.Random, tender: str, total: int, values: Sequence[int]) -> list[tuple[str, int]]:
        """Part of the total in `tender`, the rest by card (all of it in `tender` if the total is small)."""
        first = min(total, rng.choice(values))
        return [(tender, first), (CARD, total - first)] if first < total else [(tender, total)]

    def _flush_orders(self, batch: _OrderBatch, total: int, started: float) -> None:
        self.writer.insert(
            Order,
            ["id", "number", "channel", "location", "customer", "external_id", "status", "fulfilment_type",
             "pickup_location", "shipping_address", "is_endless_aisle", "currency", "subtotal", "discount_total",
             "total", "points_earned", "points_redeemed", "created_at", "updated_at"],
            batch.orders,
        )  # fmt: skip
        self.writer.insert(
            OrderLine, ["id", "order", "variant", "quantity", "unit_price", "discount", "line_total"], batch.lines
        )
        self.writer.insert(Allocation, ["id", "line", "location", "quantity"], batch.allocations)
        self.writer.insert(Payment, ["id", "order", "tender", "amount"], batch.payments)
        self.result.orders += len(batch.orders)
        self.result.lines += len(batch.lines)
        self.result.payments += len(batch.payments)
        done, seconds = self.result.orders, time.monotonic() - started
        rate = self.result.lines / seconds if seconds else 0.0
        self.say(
            f"orders: {done}/{total} ({done * 100 // max(total, 1)}%), "
            f"{self.result.lines} lines, {seconds:.0f} s, {rate:,.0f} lines/s"
        )


@dataclass
class _ChannelPlan:
    """How one channel sells: what, at which hours, in baskets of which size, delivered how."""

    code: str
    id: int
    prefix: str
    assortment: _Assortment
    hours: list[int]
    hour_cumulative: list[float]
    lines_cumulative: list[float]
    fulfilments: list[str]
    fulfilment_cumulative: list[float]
    sequence: int = 0  # orders so far: the site's order number


@dataclass
class _Day:
    """What every order of one day shares."""

    stamp: str
    age_days: int
    discount: tuple[float, tuple[int, ...]]
    receipts: list[int]  # per store: the till's receipt counter


@dataclass
class _OrderBatch:
    """Rows of the orders generated since the last write."""

    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    allocations: list[tuple[Any, ...]] = field(default_factory=list)
    payments: list[tuple[Any, ...]] = field(default_factory=list)


def _black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return thursday + timedelta(days=22)


# --- Entry points ------------------------------------------------------------------------------------------------


def already_seeded() -> bool:
    """The demo is written once: a database with locations is someone's data (or an earlier run)."""
    return Location.objects.exists()


def seed(*, scale: float = 1.0, seed: int = 42, until: date, progress: Progress | None = None) -> SeedResult:
    """Write the whole demo in one transaction: an interrupted run leaves nothing, so the next run starts over."""
    with transaction.atomic():
        builder = DemoBuilder(scale=scale, seed=seed, until=until, progress=progress)
        result = builder.run()
        result.logins = ensure_demo_logins()
        result.api_key = ensure_demo_api_client()
    return result


def ensure_demo_logins() -> list[tuple[str, str, str]]:
    """An administrator and a store clerk to try the admin with; existing users are left as they are."""
    users = get_user_model()
    logins = []
    if not users.objects.filter(username="admin").exists():
        users.objects.create_superuser("admin", "admin@example.it", DEMO_PASSWORD)
    logins.append(("admin", DEMO_PASSWORD, "superuser"))
    setup_roles()
    if not users.objects.filter(username="negozio").exists():
        clerk = users.objects.create_user("negozio", "negozio@example.it", DEMO_PASSWORD, is_staff=True)
        # A clerk of the first store: sees that store's stock, orders, returns and holds.
        clerk.groups.set(Group.objects.filter(name="Store staff"))
        store = Location.objects.filter(kind=LocationKind.STORE).order_by("pk").first()
        if store is not None:
            StaffAssignment.objects.create(user=clerk, location=store)
    if not users.objects.filter(username="direzione").exists():
        manager = users.objects.create_user("direzione", "direzione@example.it", DEMO_PASSWORD, is_staff=True)
        manager.groups.set(Group.objects.filter(name="Head office"))
    logins.append(("direzione", DEMO_PASSWORD, "head office: every store, dashboards"))
    logins.append(("negozio", DEMO_PASSWORD, "clerk of the first store"))
    return logins


def ensure_demo_api_client() -> str | None:
    """The demo API client's key, shown once: only its hash is kept, so a later run cannot show it again."""
    if ApiClient.objects.filter(name=DEMO_API_CLIENT).exists():
        return None
    _client, key = create_client(name=DEMO_API_CLIENT, scopes=list(ALL_SCOPES))
    return key
