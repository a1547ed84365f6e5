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


RIDER = "SELECT name FROM omni_version WHERE name = %s"  # any query of the caller's


def test_the_first_query_of_a_block_carries_the_token_read():
    versions.changed("test.a")
    with CaptureQueriesContext(connection) as queries, versions.one_read():
        assert versions.read_with_tokens(RIDER, ["test.a"]) == [("test.a",)]
        assert versions.read_with_tokens(RIDER, ["test.none"]) == []  # the tokens are read: the query runs alone
        versions.kept("test.a", Loads())
    assert len(queries.captured_queries) == 2, queries.captured_queries
    assert queries.captured_queries[1]["sql"].startswith("SELECT name FROM omni_version WHERE")


def test_a_query_finding_nothing_still_brings_the_tokens_and_no_tokens_still_bring_its_rows():
    versions.changed("test.a")
    loads = Loads()
    versions.kept("test.a", loads)
    with CaptureQueriesContext(connection) as queries, versions.one_read():
        assert versions.read_with_tokens(RIDER, ["test.none"]) == []
        assert versions.kept("test.a", loads) == 1  # the token read along: nothing loaded, nothing asked
    assert len(queries.captured_queries) == 1

    Version.objects.all().delete()
    with versions.one_read():
        assert versions.read_with_tokens("SELECT 7, NULL", []) == [(7, None)]
        assert versions.kept("test.a", loads) == 2  # no token at all: one is given, the thing read again


def test_outside_a_block_or_after_a_change_the_query_runs_alone():
    with CaptureQueriesContext(connection) as queries:
        assert versions.read_with_tokens("SELECT 1", []) == [(1,)]
        with versions.one_read():
            versions.changed("test.a")
            assert versions.read_with_tokens("SELECT 2", []) == [(2,)]
    assert [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")] == ["SELECT 1", "SELECT 2"]
