"""What the demo is made of: the network, the catalogue, the people, how they buy, and how much of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from omni.catalog.models import (
    ChannelCode,
)
from omni.orders.models import FulfilmentType, OrderStatus, Tender

ROME = ZoneInfo("Europe/Rome")
DAY_SECONDS = 86_400

# Volumes at scale 1; customers and orders grow linearly with --scale.
BASE_PRODUCTS = 300
BASE_CUSTOMERS = 5_000
# Every sale goes through the order services (a till receipt costs about 20 ms of CPU on SQLite), so scale 1 is
# a year of some 7,400 till receipts, not the 18,600 of the demo that wrote its rows directly: `make demo` stays
# a few minutes. Online and endless-aisle orders go one by one through record_order and their transitions:
# fewer still.
BASE_ORDERS = 12_000
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
# Gift cards: sold at the tills over the year (at scale 1, and at least the minimum), some given away and
# spent later as a tender of online and endless-aisle orders, part or all of their balance.
BASE_GIFT_CARDS = 80
MIN_GIFT_CARDS = 12
GIFT_CARD_AMOUNTS = (25, 50, 50, 50, 100, 100, 150, 200)  # euros, the counter's usual cuts
GIFT_CARD_PAY_SHARE = 0.15  # of the orders placed while a card given away still holds money
GIFT_CARD_USES = (0, 1, 1, 1, 2)  # orders a card pays for (0: it stays in a drawer)
GIFT_CARD_KEEP_SHARE = 0.3  # of the holders whose basket would take the whole card: they spend about half
GIFT_CARD_GIVEN_AFTER_SECONDS = 2 * DAY_SECONDS  # a card is bought, then given: spent from then on
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
    gift_cards: int = 0
    gift_card_payments: int = 0
    points_expired: int = 0
    proposals: int = 0
    seconds: float = 0.0
    tour: dict[str, str] = field(default_factory=dict)  # what the README's tour points at, found in this demo
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    api_key: str | None = None
