"""Headless Chromium (Debian's package) driven by Playwright against a live server.

Besides the browser, the fixtures here build a small shop like the demo's (two
stores and a warehouse, a shirt sold out in one store, a customer with a card,
points and an online order) and open pages as its staff, in Italian or English.
"""

import os
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The browser's language: what a member of staff would have set on the till's PC.
BROWSER_LOCALES = {"it": "it-IT", "en": "en-GB"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        pytest.skip("needs Chromium: `make test` installs Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; the tests' own
    # ORM calls stay synchronous and safe, so Django's guard is lifted meanwhile.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="it-IT", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def open_as(chromium, live_server):
    """open_as(user, lang) -> a page of a browser in that language, already logged in as `user`, on a screen of
    1280x800 (`width` and `height` for another: a till's 1366x768 laptop)."""
    contexts = []

    def open_page(user: User, lang: str, *, width: int = 1280, height: int = 800):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(locale=BROWSER_LOCALES[lang], viewport={"width": width, "height": height})
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.base = live_server.url
        return page

    yield open_page
    for context in contexts:
        context.close()


def ids_in_the_thousands() -> None:
    """The next ids of the tables the flows show are in the thousands, as on a store's database after some
    months: an id printed with a thousands separator ("5.001") in a link or a form breaks the flow."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (
            "orders_order",
            "orders_orderevent",
            "customers_customer",
            "returns_return",
            "inventory_transfer",
            "inventory_stocklevel",
            "loyalty_loyaltyaccount",
        ):
            # Never below a row already there: a test that committed rows (the live server's) keeps them.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"GREATEST(5000 + (random() * 900)::int, (SELECT COALESCE(MAX(id), 0) + 1 FROM {table})))",
                [table],
            )


def screenshot(page, name: str) -> None:
    """The flow's last page, for the README (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def choose(page, name: str, text: str) -> None:
    """Pick the option showing `text` in the field `name`: a plain select or the admin's autocomplete."""
    select = page.locator(f"select[name='{name}']")
    widget = page.locator(f"select[name='{name}'] ~ .select2-container")
    if widget.count() and widget.first.is_visible():
        widget.first.click()
        page.locator(".select2-container--open .select2-search__field").fill(text)
        page.locator(".select2-results__option", has_text=text).first.click()
    elif select.count():
        select.select_option(select.locator("option", has_text=text).first.get_attribute("value"))
    else:  # a text field
        page.fill(f"[name='{name}']", text)


@dataclass
class Shop:
    milano: object
    roma: object
    warehouse: object
    shirt_m: object
    shirt_l: object
    customer: object
    card: str
    order: object
    clerk: User
    logistics: User
    manager: User


def staff(username: str, role: str, location=None) -> User:
    user = User.objects.create_user(username, f"{username}@example.it", "omni-Demo-2026", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    if location is not None:
        from omni.catalog.models import StaffAssignment

        StaffAssignment.objects.create(user=user, location=location)
    return user


@pytest.fixture
def shop(transactional_db) -> Shop:
    """A small shop like the demo's, and its staff: a clerk at Milano, logistics, a marketing manager."""
    from customers import services as customers
    from inventory import services as inventory
    from loyalty import services as loyalty
    from loyalty.pricing import LineIn
    from omni.actor import SYSTEM
    from omni.catalog.models import LocationKind
    from omni.orders import services as orders
    from omni.roles import setup_roles
    from tests.factories import LocationFactory, ProductFactory, VariantFactory, channel

    setup_roles()
    milano = LocationFactory(code="MI01", name="Milano Duomo", latitude=Decimal("45.4642"), longitude=Decimal("9.1900"))
    roma = LocationFactory(
        code="RM01", name="Roma Corso", city="Roma", latitude=Decimal("41.9028"), longitude=Decimal("12.4964")
    )
    warehouse = LocationFactory(
        code="WH-PC",
        name="Magazzino Piacenza",
        kind=LocationKind.WAREHOUSE,
        city="Piacenza",
        latitude=Decimal("45.0526"),
        longitude=Decimal("9.6930"),
        is_pickup_point=False,
        ships_to_customers=True,
    )
    shirt = ProductFactory(code="CAM-ROSSA", name="Camicia rossa")
    shirt_m = VariantFactory(sku="CAM-ROSSA-M", size="M", price=Decimal("1249.00"), product=shirt)
    shirt_l = VariantFactory(sku="CAM-ROSSA-L", size="L", price=Decimal("39.90"), product=shirt)
    for place, units in ((milano, 0), (roma, 3), (warehouse, 7)):
        inventory.count(location=place, variant=shirt_m, on_hand=units, reason="opening count")
        inventory.count(location=place, variant=shirt_l, on_hand=5, reason="opening count")

    card = "0420000123456"
    found = customers.identify(
        identifiers=[
            {"kind": "email", "value": "giulia.bianchi@example.it"},
            {"kind": "phone", "value": "+39 333 123 4567"},
            {"kind": "card", "value": card},
        ],
        profile={"first_name": "Giulia", "last_name": "Bianchi"},
    )
    customer = found.customer
    customers.set_consents(customer=customer, choices={"marketing_email": True}, channel="web", source="checkout")
    account = loyalty.open_account(customer=customer)
    loyalty.adjust(account=account, points=1500, reason="welcome", actor=SYSTEM)
    order = orders.record_order(
        channel=channel("web"),
        customer=customer,
        lines=[LineIn("CAM-ROSSA-L", 2)],
        payments=[orders.PaymentIn("card", Decimal("79.80"))],
        fulfilment=orders.FulfilmentIn(type="ship_to_home", address={"line1": "Via Roma 1", "city": "Torino"}),
    )
    order = orders.apply_event(order=order, event="shipped")
    return Shop(
        milano=milano,
        roma=roma,
        warehouse=warehouse,
        shirt_m=shirt_m,
        shirt_l=shirt_l,
        customer=customer,
        card=card,
        order=order,
        clerk=staff("negozio", "Store staff", milano),
        logistics=staff("logistica", "Logistics"),
        manager=staff("direzione", "Head office"),
    )
