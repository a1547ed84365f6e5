"""Money helpers: one place where amounts are rounded (half-up to the cent)."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Expression
from django.db.models.functions import Round

CENT = Decimal("0.01")


def to_cents(amount: Decimal | int | str) -> Decimal:
    """Round an amount half-up to two decimal places."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def summed_cents(total: Decimal | None) -> Decimal:
    """A database SUM of amounts, in cents (0.00 for no rows). SQLite adds decimals as floats and Django does
    not round an aggregate back: 2.01 + 22.99 - 25.00 comes back as 3.55e-15, which is not zero."""
    return to_cents(total) if total is not None else Decimal("0.00")


def in_cents(expression: Expression) -> Round:
    """An amount computed in the database (`F("balance") - amount`), rounded to the cent where it is computed.

    SQLite computes with decimals as floats: 25.00 - 2.24 would be stored as 22.759999999999998, and a card
    holding 22.76 could not pay 22.76. PostgreSQL's numeric needs no rounding; there it changes nothing.
    """
    return Round(expression, 2)


def format_money(amount: Decimal | int | str | None, currency: str = "EUR") -> str:
    """An amount as staff read it, in the active language: "€ 1.249,00" in Italian, "€ 1,249.00" in English.

    The one place money is written for people (pages, panels, messages); the API and CSV exports keep
    plain decimals.
    """
    from django.utils.formats import number_format

    if amount is None or amount == "":
        return ""
    figure = number_format(to_cents(amount), 2, use_l10n=True, force_grouping=True)
    return f"€ {figure}" if currency == "EUR" else f"{figure} {currency}"


def format_moment(moment) -> str:
    """A date and time in the project's time zone, written the active language's way (SHORT_DATETIME_FORMAT)."""
    from django.utils.formats import date_format
    from django.utils.timezone import localtime

    return date_format(localtime(moment), "SHORT_DATETIME_FORMAT") if moment is not None else ""
