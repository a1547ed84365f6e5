"""Demo data: a believable Italian retailer and the year it went through, generated from a seed.

`seed_demo` (the management command) is a thin shell around :func:`seed`. The
generator lives here so that the data lists, the rules that make the data look
like a real retailer and the writing can be read and tested on their own.

Two kinds of writing, on purpose:

* **The retailer as it stood a year ago** (stores and warehouses, the catalogue
  and its channel prices, the opening stock count, the customers and their
  identifiers) is fixture data, written in bulk through omni.bulk: COPY on
  PostgreSQL beside the generator, ``executemany`` elsewhere. The seeder
  chooses those primary keys itself (after the current maximum).
* **Everything that happened since** goes through the owners' services, on
  the demo's clock (:func:`clock`: the services read `until`-relative moments
  as "now", so each row is dated as it happened): loyalty cards issued by
  loyalty, consents given and withdrawn through customers, a year of till
  receipts through ``orders.record_orders`` (cards identified, baskets priced
  with the promotions of their day, stock taken with sale movements, points
  earned and redeemed), online, endless-aisle and click & collect orders
  through ``record_order`` and their transitions, returns of every kind
  through returns' services, and the nightly jobs (tiers, points expiry,
  replenishment) as they would have run. No rule is copied here.

Deterministic: every value comes from a ``random.Random`` seeded with the seed
and the phase name, and every date from the ``until`` anchor; nothing reads the
clock or the global random generator. Two runs with the same seed, scale and
anchor into empty databases write the same rows (the ids of the rows the
services write follow the database's sequences).

Consistent, because the services are: a balance is what its ledger sums to, a
stock level is its count movement plus the year's movements, an order's points
are its ledger entries.
"""

from __future__ import annotations

import bisect
import random
import time
import unicodedata
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import F, Max
from django.test.utils import override_settings
from django.utils import timezone

from customers import services as customer_services
from customers.models import ConsentPurpose, Customer, Identifier, IdentifierKind, Segment
from inventory import services as inventory
from inventory.models import MovementKind, StockLevel, StockMovement
from kpis import services as kpis
from kpis.demo_events import seed_events
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount, Programme, Promotion, PromotionKind, PromotionTarget
from loyalty.pricing import LineIn, programme, quote_basket
from omni import bulk, outbox
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
from omni.errors import DomainError, InvalidTransition
from omni.models import ALL_SCOPES, ApiClient
from omni.orders import services as orders
from omni.orders.models import FulfilmentType, Order, OrderEventType, OrderLine, OrderStatus, Tender
from omni.roles import setup_roles
from returns import services as returns
from returns.models import RefundTarget, ReturnReason

ROME = ZoneInfo("Europe/Rome")
DAY_SECONDS = 86_400

# Volumes at scale 1; customers and orders grow linearly with --scale.
BASE_PRODUCTS = 300
BASE_CUSTOMERS = 5_000
BASE_ORDERS = 30_000
# Online and endless-aisle orders go one by one through record_order and their transitions: fewer than the
# store sales (which go a day at a time through record_orders), so that `make demo` stays a few minutes.
BASE_ONLINE_ORDERS = 300
MIN_PRODUCTS = 50
MIN_CUSTOMERS = 40
MIN_ORDERS = 100
MIN_ONLINE_ORDERS = 150

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

ENDLESS_AISLE_SHARE = 0.006  # of the identified till sales
IDENTIFIED_STORE_SHARE = 0.55
CANCELLED_SHARE = 0.02
UNITS_PER_STORE_SALE = 2.7  # lines a receipt times units a line, on average: sizes the opening stock

# Loyalty: points last ten months, so a year of history has points expired and points about to expire.
POINTS_VALID_DAYS = 300
REDEEM_SHARE = 0.2  # of the purchases of a customer with enough points
MIN_POINTS_TO_REDEEM = 500
# Consents: asked of most named customers where they joined.
CONSENT_SHARE = 0.7
CONSENT_SOURCES = {"store": "till", "web": "checkout form", "app": "app sign-up"}
SEGMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Newsletter: clienti omnicanale", {"reach": "omnichannel", "consent": "marketing_email",
     "description": "Hanno comprato su almeno due canali e accettano le e-mail."}),
    ("Clienti Gold e Silver", {"tiers": ["gold", "silver"], "consent": "marketing_email",
     "description": "I clienti dei livelli alti del programma fedeltà."}),
    ("SMS: acquisti recenti in negozio", {"channels": ["store"], "last_order_within_days": 60,
     "consent": "marketing_sms", "description": "Hanno comprato in negozio negli ultimi 60 giorni."}),
    ("Da riconquistare", {"no_order_for_days": 120, "min_orders": 2, "consent": "marketing_email",
     "description": "Almeno due ordini, nessuno negli ultimi 120 giorni."}),
)  # fmt: skip
# Pick-ups waiting on `until`, at this many stores (the demo clerk's first).
PICKUP_STORES_TODAY = 3
# Returns: of each kind, at scale 1 (and at least the minimum), from orders handed over in the last weeks.
RETURN_KINDS = ("in store", "asked online", "store credit", "exchange")
RETURNS_OF_A_KIND = 40
MIN_RETURNS_OF_A_KIND = 3
RETURN_WINDOW_SECONDS = 25 * DAY_SECONDS
# The last days of till sales are recorded a day at a time (the weeks replenishment reads), the rest by the week.
DAILY_BATCH_DAYS = 35

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
    orders: int  # the store sales are their CHANNEL_SHARES["store"] part
    online_orders: int

    @classmethod
    def for_scale(cls, scale: float) -> Volumes:
        if scale <= 0:
            raise ValueError("scale must be greater than zero")
        return cls(
            products=max(MIN_PRODUCTS, round(BASE_PRODUCTS * scale**0.25)),
            customers=max(MIN_CUSTOMERS, round(BASE_CUSTOMERS * scale)),
            orders=max(MIN_ORDERS, round(BASE_ORDERS * scale)),
            online_orders=max(MIN_ONLINE_ORDERS, round(BASE_ONLINE_ORDERS * scale)),
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
    store_sales: int = 0
    online_orders: int = 0
    endless_aisle: int = 0
    lines: int = 0
    promotions: int = 0
    accounts: int = 0
    consents: int = 0
    pickups_today: int = 0
    returns: int = 0
    points_expired: int = 0
    proposals: int = 0
    seconds: float = 0.0
    tour: dict[str, str] = field(default_factory=dict)  # what the README's tour points at, found in this demo
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
    """PostgreSQL: ``COPY ... FROM STDIN`` through omni.bulk, an order of magnitude faster than INSERT.

    The COPY runs beside the generator (`bulk.BackgroundCopy`), and the foreign keys and plain indexes of the
    written tables are dropped for the load and put back at the end (`bulk.drop_keys_and_indexes`; measured:
    the per-row way took 2.5 times as long).
    """

    timestamp_suffix = "+00"

    def __init__(self, say: Progress) -> None:
        super().__init__(say)
        self._copy = bulk.BackgroundCopy()
        self._restore: list[str] = []  # DDL that puts back the keys and indexes dropped for the load

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        _table, columns, defaults = _target(model, fields)
        self._copy.copy(model, columns, rows, defaults)

    def wait(self) -> None:
        self._copy.wait()

    def prepare(self, written: Sequence[type[models.Model]]) -> None:
        self._restore = bulk.drop_keys_and_indexes(written)

    def finish(self, written: Sequence[type[models.Model]]) -> None:
        self.wait()
        if self._restore:
            started = time.monotonic()
            self.say(f"indexes and foreign keys: rebuilding {len(self._restore)}")
            bulk.restore_keys_and_indexes(self._restore)
            self.say(f"indexes and foreign keys: rebuilt in {time.monotonic() - started:.0f} s")
        self._restore = []
        super().finish(written)

    def close(self) -> None:
        self._copy.close()


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


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    """The demo's clock: inside, `timezone.now()` answers `at`, so the services write the history as it happened.

    Every service reads the time through `django.utils.timezone.now` (the models' auto_now fields too): a
    sale, its stock movements, its points and its events are dated at the sale. The seeder runs in one
    thread; the clock is put back whatever happens.
    """
    real = timezone.now
    timezone.now = lambda: at  # type: ignore[assignment]
    try:
        yield
    finally:
        timezone.now = real  # type: ignore[assignment]


def _moment(epoch: int | float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _rome_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ROME)


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
        # The network, the catalogue, the opening stock and the customers are the retailer as it stood a year
        # ago: written in bulk. Everything that happened since goes through the services, on the demo's clock.
        written: list[type[models.Model]] = [
            Location, Product, Product.channels.through, Variant, ChannelPrice, StockLevel, StockMovement,
            Customer, Identifier,
        ]  # fmt: skip
        try:
            self.writer.prepare(written)
            self.locations()
            self.catalog()
            self.stock()
            self.customers()
            self.writer.finish(written)
        finally:
            self.writer.close()
        self.settings_of_the_year()
        self.loyalty_cards()
        self.consents()
        self.history()
        self.pickups_today()
        self.returns()
        self.nightly_jobs()
        self.result.tour = self.tour()
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
        """The opening count, a year ago: enough for the year's sales, each level with the movement that explains it.

        The year of sales then takes the stock down through inventory (sale movements), so the levels on
        `until` are what the count left minus what was sold, and the fastest sellers run short: what
        replenishment proposes transfers for.
        """
        rng = self.rng("stock")
        counted_epoch = self.window_start - 2 * 3600  # the night before the first day of sales
        counted = self.writer.timestamp(counted_epoch)
        level_id, movement_id = self.writer.next_id(StockLevel), self.writer.next_id(StockMovement)
        top = max(self.variant_weights)
        in_store = sum(w for w, sold in zip(self.variant_weights, self.variant_in_store, strict=True) if sold) or 1.0
        units_a_year = self.volumes.orders * CHANNEL_SHARES["store"] * UNITS_PER_STORE_SALE
        store_weights = sum(store.site.weight for store in self.stores)
        levels, movements = [], []
        locations = [(pk, None) for pk in self.warehouse_ids] + [(store.id, store) for store in self.stores]
        for location_id, store in locations:
            for index, variant_id in enumerate(self.variant_ids):
                if store is None:
                    on_hand = rng.randint(20, 60) + int(400 * self.variant_weights[index] / top)
                    safety = 5
                elif self.variant_in_store[index] and rng.random() < 0.85:
                    expected = units_a_year * store.site.weight / store_weights * self.variant_weights[index] / in_store
                    on_hand = int(expected * rng.uniform(0.8, 1.4)) + rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
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
        self.say(f"stock: {len(levels)} levels at {len(locations)} locations, counted the night before the year")

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
        self.cards: dict[int, str] = {}  # customer id -> loyalty card number
        self.customer_joined: dict[int, int] = {}  # named customer id -> epoch of joining
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
            # The card number's home is loyalty's Card: it is issued through loyalty once the customers exist.
            body = f"29{_scramble(customer_id, 10**10, 2_718_281_829, 314_159):010d}"
            self.cards[customer_id] = body + _luhn_digit(body)
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
        self.customer_joined[customer_id] = created_epoch
        self.customer_first.append(first_index)
        self.customer_last.append(last_index)
        if has_card:  # the till knows a customer by their loyalty card
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
                if channel == "store":
                    volume = self.volumes.orders * CHANNEL_SHARES["store"]
                else:  # the online channels share the orders that go one by one through record_order
                    volume = self.volumes.online_orders * CHANNEL_SHARES[channel] / (1 - CHANNEL_SHARES["store"])
                expected = volume * weights[offset] / weight_sum
                whole = int(expected)
                row.append(whole + (1 if rng.random() < expected - whole else 0))
            counts.append(row)
        return counts

    # --- The year's settings: the programme, the promotions, the segments ---

    def settings_of_the_year(self) -> None:
        """What the retailer decided before the year: points valid ten months, its sales as promotions (some of
        them on one channel only: what the parity page shows), and the segments marketing exports."""
        Programme.objects.update(points_valid_days=POINTS_VALID_DAYS)
        channels = {channel.code: channel for channel in Channel.objects.all()}
        first, last = self.days[0], self.until
        wanted: list[tuple[str, str, str, int, str, date | None, date | None, tuple[str, ...]]] = []
        for year in range(first.year, last.year + 1):
            friday = _black_friday(year)
            wanted += [
                (f"saldi-invernali-{year}", f"Saldi invernali {year}", PromotionTarget.BASKET, 20, "",
                 date(year, 1, 5), date(year, 2, 28), ()),
                (f"saldi-estivi-{year}", f"Saldi estivi {year}", PromotionTarget.BASKET, 20, "",
                 date(year, 7, 1), date(year, 8, 31), ()),
                (f"black-friday-{year}", f"Black Friday {year}", PromotionTarget.BASKET, 25, "",
                 friday, friday + timedelta(days=3), ()),
                (f"maglieria-online-{year}", f"Maglieria -15% online {year}", PromotionTarget.CATEGORY, 15,
                 "maglieria", date(year, 10, 1), date(year, 11, 30), ("web", "app")),
                (f"settimana-scarpe-{year}", f"Settimana della scarpa {year}", PromotionTarget.CATEGORY, 20,
                 "scarpe", date(year, 4, 6), date(year, 4, 12), ("store",)),
            ]  # fmt: skip
        wanted.append(
            ("app-benvenuto", "Benvenuto nell'app -10%", PromotionTarget.BASKET, 10, "", None, None, ("app",))
        )
        count = 0
        for code, name, target, percent, category, starts, ends, only in wanted:
            if (ends is not None and ends < first) or (starts is not None and starts > last):
                continue
            promotion = Promotion.objects.create(
                code=code,
                name=name,
                kind=PromotionKind.PERCENT,
                value=Decimal(percent),
                target=target,
                category=category,
                starts_at=_rome_midnight(starts) if starts else None,
                ends_at=_rome_midnight(ends + timedelta(days=1)) if ends else None,
            )
            promotion.channels.set([channels[code] for code in only])
            count += 1
        for name, rules in SEGMENTS:
            Segment.objects.get_or_create(name=name, defaults=rules)
        self.result.promotions = count
        self.say(f"programme: points valid {POINTS_VALID_DAYS} days, {count} promotions, {len(SEGMENTS)} segments")

    # --- Loyalty cards and consents ---

    def loyalty_cards(self) -> None:
        """Every card holder gets an account and their card through loyalty, on the day they joined."""
        accounts = loyalty.open_accounts(customer_ids=self.cards)
        for customer_id in sorted(self.cards):
            with clock(_moment(self.customer_joined[customer_id])):
                loyalty.add_card(account=accounts[customer_id], number=self.cards[customer_id])
        self.result.accounts = len(accounts)
        self.say(f"loyalty: {len(accounts)} accounts, each with its card")

    def consents(self) -> None:
        """Consents asked where the customer joined; some withdrawn later, on another channel (customers' bulk
        form of set_consents, each change dated when it was made)."""
        rng = self.rng("consents")
        changes: list[customer_services.ConsentsIn] = []
        withdrawn = 0
        for customer_id, joined in sorted(self.customer_joined.items()):
            if rng.random() > CONSENT_SHARE:
                continue
            where = rng.choice(("store", "store", "web", "web", "app"))
            choices = {
                ConsentPurpose.MARKETING_EMAIL: rng.random() < 0.85,
                ConsentPurpose.MARKETING_SMS: rng.random() < 0.4,
                ConsentPurpose.PROFILING: rng.random() < 0.6,
            }
            changes.append(
                customer_services.ConsentsIn(customer_id, choices, where, CONSENT_SOURCES[where], _moment(joined))
            )
            later = joined + int(rng.uniform(10, 300) * DAY_SECONDS)
            if rng.random() < 0.08 and later < self.until_epoch:
                purpose = rng.choice([p for p, yes in choices.items() if yes] or [ConsentPurpose.MARKETING_EMAIL])
                where = rng.choice(("web", "app", "call_center"))
                changes.append(
                    customer_services.ConsentsIn(
                        customer_id, {purpose: False}, where, "preference centre", _moment(later)
                    )
                )
                withdrawn += 1
        customer_services.set_consents_many(changes)
        self.result.consents = len(changes) - withdrawn
        self.say(f"consents: {len(changes) - withdrawn} customers asked, {withdrawn} withdrew one later")

    # --- A year of sales, through the order services ---

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

    def history(self) -> None:
        """A year of orders, day by day on the demo's clock.

        The day's till receipts go to `record_orders` at once (the bulk form of the order: cards identified,
        baskets priced with the promotions of that day, stock taken with sale movements, points earned and
        redeemed); the online and endless-aisle orders go one by one through `record_order` and move on
        (shipped, ready, collected) through the order's transitions. Tiers are recomputed every month, as the
        nightly job would have.
        """
        rng = self.rng("orders")
        counts = self._daily_counts(rng)
        total = sum(map(sum, counts))
        plans = self._channel_plans()
        self.channel_rows = {channel.code: channel for channel in Channel.objects.all()}
        self.location_rows = Location.objects.in_bulk()
        self.variant_rows = Variant.objects.select_related("product").in_bulk(self.variant_ids)
        self.customer_rows_by_id: dict[int, Customer] = {}
        self.points: dict[int, int] = {}  # customer id -> points they can spend, as the orders so far left them
        self.handed_over: list[tuple[int, int, str]] = []  # (order id, epoch handed over, channel) for the returns
        self.point_value = programme().point_value
        started, done = time.monotonic(), 0
        sales: list[orders.SaleIn] = []
        for offset, day in enumerate(self.days):
            day_start = int(_rome_midnight(day).timestamp())
            if day.day == 1 and offset:  # the nightly jobs, as they ran at each month's start
                if sales:
                    self._record_till_sales(sales)
                    sales = []
                with clock(_moment(day_start + 3 * 3600)):
                    loyalty.expire_due()
                    loyalty.recompute_tiers()
                self.points = dict(LoyaltyAccount.objects.values_list("customer_id", "balance"))
            hour_starts = [day_start + hour * 3600 for hour in range(24)]
            moments: list[tuple[int, int]] = []
            for channel_index, plan in enumerate(plans):
                for _ in range(counts[offset][channel_index]):
                    hour = plan.hours[_pick(rng, plan.hour_cumulative)]
                    moments.append((hour_starts[hour] + int(rng.random() * 3600), channel_index))
            moments.sort()  # numbers follow time, as a real order sequence does
            stamp, receipts = day.strftime("%Y%m%d"), [0] * len(self.stores)
            for epoch, channel_index in moments:
                plan = plans[channel_index]
                plan.sequence += 1
                if plan.code == "store":
                    self._till_sale(rng, sales, receipts, stamp, epoch, plan)
                else:
                    self._online_order(rng, epoch, plan)
            # The till receipts go to record_orders a week at a time, a day at a time in the last weeks (whose
            # sale movements replenishment reads): the batch's movements are dated at its last sale.
            recent = len(self.days) - offset <= DAILY_BATCH_DAYS
            if sales and (recent or day.weekday() == 6 or offset == len(self.days) - 1):
                self._record_till_sales(sales)
                sales = []
            done += len(moments)
            if day.day == 1 or offset == len(self.days) - 1:
                seconds = time.monotonic() - started
                self.say(f"orders: {done}/{total} ({done * 100 // max(total, 1)}%) up to {day}, {seconds:.0f} s")
        self.result.orders = Order.objects.count()
        self.result.lines = OrderLine.objects.count()

    def _record_till_sales(self, sales: list[orders.SaleIn]) -> None:
        with clock(sales[-1].sold_at + timedelta(minutes=1)):
            orders.record_orders(channel=self.channel_rows["store"], sales=sales)
        for sale in sales:
            if sale.customer_id is not None and sale.order is not None:
                self.points[sale.customer_id] = self.points.get(sale.customer_id, 0) + sale.points
                if self.until_epoch - sale.sold_at.timestamp() < RETURN_WINDOW_SECONDS:
                    self.handed_over.append((sale.order.pk, int(sale.sold_at.timestamp()), "store"))
        self.result.store_sales += len(sales)

    def _basket(self, rng: random.Random, plan: _ChannelPlan) -> list[tuple[int, int, int]]:
        """(variant id, units, list price in cents) of each line: popular variants more often, mostly one unit."""
        assortment = plan.assortment
        cumulative, top, last = assortment.cumulative, assortment.cumulative[-1], len(assortment.cumulative) - 1
        wanted = 1 + _pick(rng, plan.lines_cumulative)
        chosen: dict[int, tuple[int, int, int]] = {}
        for _ in range(wanted):
            index = bisect.bisect(cumulative, rng.random() * top, 0, last)
            if index in chosen:  # the same variant twice is one line; draw again once, else drop the line
                index = bisect.bisect(cumulative, rng.random() * top, 0, last)
                if index in chosen:
                    continue
            roll = rng.random()
            units = 1 if roll < 0.86 else 2 if roll < 0.97 else 3
            chosen[index] = (assortment.variant_ids[index], units, assortment.prices[index] * units)
        return list(chosen.values())

    def _points_to_pay_with(self, rng: random.Random, customer_id: int | None, gross_cents: int) -> int:
        """Some customers with points pay part of a basket with them (never more than a third of it)."""
        if customer_id is None:
            return 0
        have = self.points.get(customer_id, 0)
        if have < MIN_POINTS_TO_REDEEM or rng.random() > REDEEM_SHARE:
            return 0
        worth = int(Decimal(100) * self.point_value)  # cents per point
        points = min(have, gross_cents // (3 * max(worth, 1))) // 100 * 100
        if points < 100:
            return 0
        self.points[customer_id] = have - points
        return points

    def _till_sale(
        self,
        rng: random.Random,
        sales: list[orders.SaleIn],
        receipts: list[int],
        stamp: str,
        epoch: int,
        plan: _ChannelPlan,
    ) -> None:
        store_index = _pick(rng, self.store_cumulative)
        store = self.stores[store_index]
        receipts[store_index] += 1
        customer_id = None
        if rng.random() < IDENTIFIED_STORE_SHARE:
            pool = self.store_pools[store_index] if rng.random() < 0.85 else self.till_pool
            customer_id = pool.pick(rng, epoch)
        lines = self._basket(rng, plan)
        number = f"{store.site.code}-{stamp}-{receipts[store_index]:04d}"
        if customer_id is not None and rng.random() < ENDLESS_AISLE_SHARE:
            self._endless_aisle(rng, store, customer_id, lines, epoch, number)
            return
        redeem = self._points_to_pay_with(rng, customer_id, sum(gross for _v, _u, gross in lines))
        sales.append(
            orders.SaleIn(
                number=number,
                location=self.location_rows[store.id],
                sold_at=_moment(epoch),
                tender=CARD if rng.random() < 0.7 else CASH,
                lines=[orders.SaleLineIn(variant=self.variant_rows[v], quantity=units) for v, units, _g in lines],
                card=self.cards[customer_id] if customer_id is not None else "",
                points_to_redeem=redeem,
            )
        )

    def _endless_aisle(
        self,
        rng: random.Random,
        store: _Store,
        customer_id: int,
        lines: list[tuple[int, int, int]],
        epoch: int,
        number: str,
    ) -> None:
        """Sold out here, ordered here: shipped home from the region's warehouse, or to this store."""
        if store.site.pickup and rng.random() < 0.4:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_STORE, pickup_location=self.location_rows[store.id])
        else:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_HOME, address=self._address(rng, customer_id))
        location = self.location_rows[store.id]
        order = self._place(rng, "store", number, lines, epoch, customer_id, fulfilment, location=location)
        if order is not None:
            self.result.endless_aisle += 1
            self._move_on(rng, order, epoch)

    def _online_order(self, rng: random.Random, epoch: int, plan: _ChannelPlan) -> None:
        if plan.code == "call_center":
            customer_id = (self.phone_pool if rng.random() < 0.8 else self.email_pool).pick(rng, epoch)
        elif plan.code != "marketplace" or rng.random() < 0.5:
            customer_id = self.email_pool.pick(rng, epoch)
        else:
            customer_id = None
        if customer_id is None:
            home = self.stores[_pick(rng, self.store_cumulative)]
        else:
            home = self.stores[self.customer_home[customer_id - self.first_customer_id]]
        kind = plan.fulfilments[_pick(rng, plan.fulfilment_cumulative)]
        if kind == SHIP_TO_HOME:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_HOME, address=self._address(rng, customer_id))
        else:
            pickup = home if home.site.pickup else self.pickup_stores[_pick(rng, self.pickup_cumulative)]
            fulfilment = orders.FulfilmentIn(type=kind, pickup_location=self.location_rows[pickup.id])
        number = f"{plan.prefix}{plan.sequence:09d}"  # the site's order number
        order = self._place(rng, plan.code, number, self._basket(rng, plan), epoch, customer_id, fulfilment)
        if order is not None:
            self._move_on(rng, order, epoch)

    def _place(
        self,
        rng: random.Random,
        channel_code: str,
        external_id: str,
        lines: list[tuple[int, int, int]],
        epoch: int,
        customer_id: int | None,
        fulfilment: orders.FulfilmentIn,
        location: Location | None = None,
    ) -> Order | None:
        """One order through `record_order`, paid by card (partly with points); None if the network cannot serve it."""
        channel = self.channel_rows[channel_code]
        at = _moment(epoch)
        line_ins = [LineIn(sku=self.variant_rows[v].sku, quantity=units) for v, units, _g in lines]
        redeem = self._points_to_pay_with(rng, customer_id, sum(gross for _v, _u, gross in lines))
        customer = None
        if customer_id is not None:
            customer = self.customer_rows_by_id.get(customer_id)
            if customer is None:
                customer = self.customer_rows_by_id[customer_id] = Customer.objects.get(pk=customer_id)
        try:
            with clock(at):
                quote = quote_basket(channel=channel, lines=line_ins, at=at)
                due = quote.total - redeem * self.point_value
                order = orders.record_order(
                    channel=channel,
                    lines=line_ins,
                    payments=[orders.PaymentIn(tender=CARD, amount=due)] if due > 0 else [],
                    location=location,
                    customer=customer,
                    external_id=external_id,
                    fulfilment=fulfilment,
                    points_to_redeem=redeem,
                    created_at=at,
                )
        except DomainError:  # out of stock everywhere, a product not sold on the channel: the sale did not happen
            if redeem and customer_id is not None:
                self.points[customer_id] += redeem
            return None
        if customer_id is not None:
            self.points[customer_id] = self.points.get(customer_id, 0) + order.points_earned
        self.result.online_orders += channel_code != "store"
        return order

    def _move_on(self, rng: random.Random, order: Order, epoch: int, *, forgotten: bool | None = None) -> None:
        """The order's life after it was placed, each step at its moment while that moment is before `until`."""
        if rng.random() < CANCELLED_SHARE:
            steps = [(OrderEventType.CANCELLED, int(rng.uniform(0.5, 6) * 3600))]
        elif order.fulfilment_type == SHIP_TO_HOME:
            steps = [(OrderEventType.SHIPPED, int(rng.uniform(0.3, 2) * DAY_SECONDS))]
        elif order.fulfilment_type == CLICK_AND_COLLECT:
            steps = [
                (OrderEventType.READY_FOR_PICKUP, int(rng.uniform(1, 8) * 3600)),
                (OrderEventType.COLLECTED, int(rng.uniform(0.3, 4) * DAY_SECONDS)),
            ]
        else:
            steps = [
                (OrderEventType.SHIPPED, int(rng.uniform(0.3, 1.5) * DAY_SECONDS)),
                (OrderEventType.READY_FOR_PICKUP, int(rng.uniform(1, 3) * DAY_SECONDS)),
                (OrderEventType.COLLECTED, int(rng.uniform(0.3, 4) * DAY_SECONDS)),
            ]
        if forgotten is None:  # a few recent pick-ups wait on the shelf: the overdue ones
            forgotten = self.until_epoch - epoch < 20 * DAY_SECONDS and rng.random() < 0.08
        if forgotten and steps[-1][0] == OrderEventType.COLLECTED:
            steps.pop()
        moment = epoch
        for event, delay in steps:
            moment += delay
            if moment >= self.until_epoch - 60:
                return
            with clock(_moment(moment)):
                order = orders.apply_event(order=order, event=event)
        handed = order.status == OrderStatus.COLLECTED or (
            order.status == OrderStatus.SHIPPED and order.fulfilment_type == SHIP_TO_HOME
        )
        if handed and order.customer_id is not None and self.until_epoch - moment < RETURN_WINDOW_SECONDS:
            self.handed_over.append((order.pk, moment, order.channel.code))

    def _address(self, rng: random.Random, customer_id: int | None) -> dict[str, str]:
        """A delivery address in the customer's city (the city of their home store)."""
        if customer_id is None:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            home = self.stores[_pick(rng, self.store_cumulative)]
        else:
            index = customer_id - self.first_customer_id
            first, last = FIRST_NAMES[self.customer_first[index]], LAST_NAMES[self.customer_last[index]]
            home = self.stores[self.customer_home[index]]
        return {
            "name": f"{first} {last}",
            "street": f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            "postcode": home.site.postcode,
            "city": home.site.city,
            "country": "IT",
        }

    # --- Today: the pick-ups waiting at the stores ---

    def pickups_today(self) -> None:
        """At the first stores (the demo clerk's first), click & collect orders in every state on `until`:
        to prepare, ready, overdue (ready for more than PICKUP_OVERDUE_DAYS) and collected yesterday."""
        rng = self.rng("pickups")
        web = self.channel_rows["web"]
        anchor = self.until_epoch - 15 * 60
        # (state, hours before `until` it was placed, then the hours before `until` of each step taken)
        plan = [
            ("to prepare", 5, ()), ("to prepare", 2, ()),
            ("ready", 30, ((OrderEventType.READY_FOR_PICKUP, 26),)),
            ("ready", 20, ((OrderEventType.READY_FOR_PICKUP, 16),)),
            ("overdue", 12 * 24, ((OrderEventType.READY_FOR_PICKUP, 11 * 24),)),
            ("overdue", 10 * 24, ((OrderEventType.READY_FOR_PICKUP, 9 * 24),)),
            ("collected", 60, ((OrderEventType.READY_FOR_PICKUP, 55), (OrderEventType.COLLECTED, 20))),
        ]  # fmt: skip
        made = 0
        for store in self.pickup_stores[:PICKUP_STORES_TODAY]:
            shelf = list(
                StockLevel.objects.filter(location_id=store.id, on_hand__gte=F("reserved") + F("safety_stock") + 2)
                .order_by("variant_id")
                .values_list("variant_id", flat=True)
            )
            sold_online = set(self.assortments["web"].variant_ids)
            shelf = [pk for pk in shelf if pk in sold_online]
            for _state, placed, steps in plan:
                if not shelf:
                    break
                customer_id = self.email_pool.pick(rng, anchor)
                lines = [(v, 1, 0) for v in rng.sample(shelf, min(len(shelf), rng.choice((1, 1, 2))))]
                fulfilment = orders.FulfilmentIn(type=CLICK_AND_COLLECT, pickup_location=self.location_rows[store.id])
                made += 1
                number = f"W-{store.site.code}-{made:03d}"
                order = self._place(rng, web.code, number, lines, anchor - placed * 3600, customer_id, fulfilment)
                if order is None:
                    continue
                for event, hours_before in steps:
                    with clock(_moment(anchor - hours_before * 3600)):
                        order = orders.apply_event(order=order, event=event)
        self.result.pickups_today = made
        self.say(f"pick-ups: {made} click & collect orders at {PICKUP_STORES_TODAY} stores, in every state")

    # --- Returns of every kind ---

    def returns(self) -> None:
        """Returns of the last weeks, through the returns services on the demo's clock: online orders brought back
        to a store, returns asked for online and received later at the warehouse (or still on their way),
        refunds to store credit, and exchanges at the till."""
        rng = self.rng("returns")
        reasons = list(ReturnReason.objects.filter(is_active=True).order_by("position").values_list("code", flat=True))
        candidates = sorted(self.handed_over)
        rng.shuffle(candidates)
        online = [c for c in candidates if c[2] != "store"]
        store = [c for c in candidates if c[2] == "store"]
        wanted = max(MIN_RETURNS_OF_A_KIND, round(RETURNS_OF_A_KIND * self.volumes.orders / BASE_ORDERS))
        done: dict[str, int] = {kind: 0 for kind in RETURN_KINDS}
        pools = {"in store": online, "asked online": online, "store credit": store, "exchange": store}
        for _round in range(wanted):  # a kind at a time, so that every kind gets its share of a small pool
            for kind in RETURN_KINDS:
                pool = pools[kind]
                while pool:
                    order_id, handed, _channel = pool.pop()
                    when = handed + int(rng.uniform(0.5, 4) * DAY_SECONDS)
                    if when >= self.until_epoch - 60:
                        continue
                    order = Order.objects.select_related("channel", "customer", "pickup_location").get(pk=order_id)
                    line = rng.choice(list(order.lines.select_related("variant__product")))
                    asked = [returns.ReturnLineIn(sku=line.variant.sku, quantity=1, reason=rng.choice(reasons))]
                    try:
                        with clock(_moment(when)):
                            self._return(rng, kind, order, line, asked, when, done[kind])
                    except DomainError:
                        continue
                    done[kind] += 1
                    break
        self.result.returns = sum(done.values())
        self.say("returns: " + ", ".join(f"{count} {kind}" for kind, count in done.items()))

    def _return(
        self,
        rng: random.Random,
        kind: str,
        order: Order,
        line: OrderLine,
        asked: list[returns.ReturnLineIn],
        when: int,
        earlier: int,
    ) -> None:
        home = (
            self.stores[self.customer_home[order.customer_id - self.first_customer_id]] if order.customer_id else None
        )
        store = self.location_rows[(home or self.stores[0]).id]
        if kind == "in store":
            returns.accept_return(order=order, lines=asked, location=order.pickup_location or store)
        elif kind == "asked online":
            # Every other one is announced to a store and still on its way; the others reach the warehouse.
            announced_to = store if earlier % 2 == 0 else None
            ret = returns.accept_return(order=order, lines=asked, location=announced_to, receive=False)
            later = when + int(rng.uniform(2, 5) * DAY_SECONDS)
            if announced_to is None and later < self.until_epoch - 60:
                warehouse = self.location_rows[(home or self.stores[0]).warehouse_id]
                with clock(_moment(later)):
                    returns.receive_return(ret=ret, location=warehouse)
        elif kind == "store credit":
            returns.accept_return(
                order=order, lines=asked, location=order.location, refund_to=RefundTarget.STORE_CREDIT
            )
        else:
            variant = line.variant
            sizes = [
                v
                for v in Variant.objects.filter(product_id=variant.product_id, color=variant.color).exclude(
                    pk=variant.pk
                )
                if StockLevel.objects.filter(
                    location_id=order.location_id, variant=v, on_hand__gte=F("reserved") + F("safety_stock") + 1
                ).exists()
            ]
            if not sizes:
                raise InvalidTransition("no other size on the shelf")
            new = rng.choice(sizes)
            returns.exchange(
                order=order,
                lines=asked,
                new_lines=[LineIn(sku=new.sku, quantity=1)],
                location=order.location,
            )

    def tour(self) -> dict[str, str]:
        """The card of the customer with the most points, the clerk's store and a SKU on its shelves."""
        account = LoyaltyAccount.objects.filter(cards__is_active=True).order_by("-balance", "pk").first()
        store = self.stores[0]
        sku = (
            StockLevel.objects.filter(location_id=store.id, on_hand__gt=F("reserved") + F("safety_stock"))
            .order_by("-on_hand", "variant_id")
            .values_list("variant__sku", flat=True)
            .first()
        )
        found = {"store": store.site.code, "sku": sku or ""}
        if account is not None:
            found["card"] = account.cards.filter(is_active=True).values_list("number", flat=True)[0]
            found["customer"] = str(account.customer_id)
            found["points"] = str(account.balance)
        return found

    # --- The night before `until`: what the scheduled jobs do ---

    def nightly_jobs(self) -> None:
        """Points past their date expire, tiers follow the year's spend, replenishment reads the sales, and the
        segments are counted."""
        with clock(_moment(self.until_epoch - 30 * 60)):
            expired = loyalty.expire_due()
            loyalty.recompute_tiers()
            run = inventory.propose_replenishment(today=self.until)
            for segment in Segment.objects.order_by("pk"):
                customer_services.count_members(segment=segment)
        self.result.points_expired = expired
        self.result.proposals = run.proposals
        self.say(f"nightly jobs: {expired} points expired, tiers computed, {run.proposals} replenishment proposals")


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


def _black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return thursday + timedelta(days=22)


# --- Entry points ------------------------------------------------------------------------------------------------


def already_seeded() -> bool:
    """The demo is written once: a database with locations is someone's data (or an earlier run)."""
    return Location.objects.exists()


def seed(
    *, scale: float = 1.0, seed: int = 42, until: date, progress: Progress | None = None, traffic: bool = False
) -> SeedResult:
    """Write the whole demo in one transaction: an interrupted run leaves nothing, so the next run starts over.

    The year's messages to customers (receipts, ready for pick-up) are written as the services write them and
    sent to nobody: the demo must never e-mail anyone, nor fill the console with a year of receipts.

    The services ask for a KPI refresh of the day after each sale: thousands for a year. With `traffic` (what
    `make demo` asks for) the demo writes the year's web and app events and social figures, then rolls up
    every day of the year once, which does that work; otherwise the refreshes are left to the outbox relay.
    """
    say: Progress = progress or (lambda message: None)
    with override_settings(EMAIL_BACKEND=SILENT_EMAIL, SMS_BACKEND=SILENT_SMS), transaction.atomic():
        builder = DemoBuilder(scale=scale, seed=seed, until=until, progress=progress)
        with outbox.held() as messages:
            result = builder.run()
        if traffic:
            started = time.monotonic()
            events = seed_events(seed=seed, days=365, say=say)
            say(f"traffic: {events.events} web, app and store events, {events.social_rows} social figures")
            kpis.rebuild(start=builder.days[0], end=builder.days[-1])
            outbox.supersede(messages, task="kpis.refresh_day")
            say(f"KPIs: the year rolled up in {time.monotonic() - started:.0f} s")
        outbox.send_after_commit(messages)
        result.logins = ensure_demo_logins()
        result.api_key = ensure_demo_api_client()
    return result


SILENT_EMAIL = "django.core.mail.backends.dummy.EmailBackend"
SILENT_SMS = "customers.sms.backends.LocmemBackend"


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
