"""The year's settings: the loyalty programme, the promotions (some on one channel only) and the segments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from customers.models import Segment
from loyalty.models import Programme, Promotion, PromotionKind, PromotionTarget
from omni.catalog.models import (
    Channel,
)
from omni.demo.clock import (
    _rome_midnight,
)
from omni.demo.data import (
    POINTS_VALID_DAYS,
    SEGMENTS,
)
from omni.demo.pieces import (
    _black_friday,
)


class OffersStory:
    """The year's settings: the loyalty programme, the promotions (some on one channel only) and the segments."""

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
