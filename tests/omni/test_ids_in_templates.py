"""Ids written into forms and links are plain digits: with thousands separators on, 5994 would read "5.994"."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A variable ending in pk or id, printed into an attribute without |unlocalize.
LOCALISED_ID = re.compile(r'(?:value|href|data-[\w-]+)="[^"]*\{\{\s*[\w.]*(?:\.pk|\.id|_id)\s*\}\}')


def test_no_template_prints_an_id_into_an_attribute_with_the_locales_separators():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if LOCALISED_ID.search(line)
    ]
    assert offenders == []
