"""omni.versions: what a process keeps is read again when its token changes; one query reads every token, once
per `one_read()` block until the block changes one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from omni import versions
from omni.models import Version

pytestmark = pytest.mark.django_db


class Loads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def token_reads(queries: CaptureQueriesContext) -> int:
    return len([q for q in queries.captured_queries if "FROM omni_version" in q["sql"]])


def test_a_thing_is_read_once_then_again_only_after_its_token_changed():
    loads = Loads()
    assert versions.kept("test.thing", loads) == 1
    assert versions.kept("test.thing", loads) == 1
    versions.changed("test.other")
    assert versions.kept("test.thing", loads) == 1  # another thing's token: nothing read again
    versions.changed("test.thing")
    assert versions.kept("test.thing", loads) == 2


def test_a_flushed_table_gives_a_new_token_and_the_thing_is_read_again():
    loads = Loads()
    versions.kept("test.thing", loads)
    Version.objects.all().delete()
    assert versions.kept("test.thing", loads) == 2
    assert Version.objects.get(name="test.thing").value != 0


def test_inside_one_read_every_token_is_read_by_one_query():
    versions.kept("test.a", Loads())
    versions.kept("test.b", Loads())
    with CaptureQueriesContext(connection) as queries, versions.one_read():
        versions.kept("test.a", Loads())
        versions.kept("test.b", Loads())
        versions.kept("test.a", Loads())
    assert token_reads(queries) == 1
    assert len(queries.captured_queries) == 1


def test_a_change_inside_one_read_is_seen_by_the_rest_of_the_block():
    loads = Loads()
    with versions.one_read():
        assert versions.kept("test.thing", loads) == 1
        versions.changed("test.thing")
        assert versions.kept("test.thing", loads) == 2
        with CaptureQueriesContext(connection) as queries:
            versions.kept("test.thing", loads)
            versions.kept("test.thing", loads)
        assert token_reads(queries) == 2  # the block changed a token: it shares no read from then on
