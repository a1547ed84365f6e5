"""Where a consent was collected (`ConsentChange.source`), as staff read it.

The source is stored as it was given, and the API and the personal-data
export give it back so. The sources Omni writes itself ("import",
"erasure", "counter <store>" from the loyalty enrolment at the counter)
and the ones its channels send by convention (the till, the site's
checkout form, the app's sign-up, the preference centre of the e-mails)
are shown in the staff's language; any other source as it was given.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

IMPORTED = "import"
ERASED = "erasure"

SOURCE_LABELS = {
    "till": _("till"),
    "checkout form": _("checkout form"),
    "app sign-up": _("app sign-up"),
    "preference centre": _("preference centre"),
    IMPORTED: _("customer import"),
    ERASED: _("erasure of the personal data"),
}
AT_THE_COUNTER = re.compile(r"counter (?P<store>\S+)")


def source_label(source: str) -> str:
    """A consent's source in the staff's language; a source nobody agreed on is shown as it was given."""
    label = SOURCE_LABELS.get(source)
    if label is not None:
        return str(label)
    found = AT_THE_COUNTER.fullmatch(source)
    if found is not None:
        return str(_("counter %(store)s")) % found.groupdict()
    return source
