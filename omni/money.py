"""Money helpers: one place where amounts are rounded (half-up to the cent)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal | int | str) -> Decimal:
    """Round an amount half-up to two decimal places."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
