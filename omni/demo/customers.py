"""The customers and what they agreed to: identifiers in bulk, cards through loyalty, consents through customers."""

from __future__ import annotations

import random
import time
import uuid
from array import array
from datetime import date, timedelta
from typing import Any

from customers import services as customer_services
from customers.models import ConsentPurpose, Customer, Identifier, IdentifierKind
from loyalty import services as loyalty
from omni.demo.clock import (
    _moment,
    clock,
)
from omni.demo.data import (
    CONSENT_SHARE,
    CONSENT_SOURCES,
    CUSTOMER_CHUNK,
    DAY_SECONDS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    MOBILE_PREFIXES,
)
from omni.demo.pieces import (
    _ascii,
    _luhn_digit,
    _pick,
    _Pool,
    _scramble,
)


class CustomersStory:
    """A part of DemoBuilder: see the module."""

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
