"""The ``Idempotency-Key`` behaviour of every POST under /api/.

- same key, same body, within the TTL: the first answer again, nothing new;
- same key, another body: 422 ``idempotency_key_reused``;
- same key while the first request still runs: 409 ``request_in_progress``.

Keys belong to the caller (the API key's hash or the staff user), so two
clients cannot see each other's answers.

How it survives crashes:

- The key is claimed with an INSERT in its own autocommitted statement
  before the view runs (``ON CONFLICT DO NOTHING``: no transaction around
  it, nothing to roll back), so the unique constraint decides which of two
  racing requests goes ahead. The claim is a lease: it lapses after
  ``IDEMPOTENCY_LEASE_SECONDS``.
- The view then runs inside one transaction that first locks the claim's
  row and, for a successful answer, stores the answer in that row before
  committing. A committed request therefore always has its answer to
  replay, even if the worker dies before it could send it.
- An answer that is a refusal (4xx) rolls back whatever the request did and
  is kept on its own; answers that say nothing about the request itself
  (401, 403, 429, 409 ``busy``, 5xx) and exceptions roll back and drop the
  claim, so the key can be used again.
- A worker killed before its commit leaves only the claim. Once the lease
  has lapsed and nobody holds the claim's row lock (PostgreSQL releases it
  with the dead session), a retry takes the claim over and runs again.
  While the first request is alive its lock holds, and a retry answers 409
  ``request_in_progress`` however long it runs.
- A deadlock victim (a ``busy`` answer, or a retryable error at COMMIT) is
  run again here, in a fresh transaction, as ``omni.concurrency`` says.
  Since this transaction is run again as a whole, the services the view
  calls take no savepoints of their own in it (``retried_as_whole``): what
  one raises rolls the whole transaction back before the answer is kept.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from omni import versions
from omni.api.errors import error_body, is_api_path
from omni.concurrency import is_retryable, pause, retried_as_whole
from omni.models import IdempotencyRecord, IdempotencyState

HEADER = "HTTP_IDEMPOTENCY_KEY"
_STORE_SQL = (
    "UPDATE {table} SET state = %s, status_code = %s, content_type = %s, body = %s, expires_at = %s WHERE id = %s"
)
NOT_KEPT = {401, 403, 429}
MAX_KEY_LENGTH = 255


def owner_of(request: HttpRequest) -> str | None:
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        return "key:" + hashlib.sha256(auth[7:].strip().encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def fingerprint_of(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.get_full_path().encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def is_kept(response: HttpResponse) -> bool:
    return not (response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming)


def is_busy(response: HttpResponse) -> bool:
    data = getattr(response, "data", None)
    return response.status_code == 409 and isinstance(data, dict) and data.get("code") == "busy"


def in_progress() -> JsonResponse:
    return JsonResponse(
        error_body("request_in_progress", "A request with this Idempotency-Key is still running."), status=409
    )


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if request.method != "POST" or not key or not is_api_path(request.path):
            return self.get_response(request)
        if len(key) > MAX_KEY_LENGTH:
            return JsonResponse(
                error_body(
                    "invalid",
                    "The Idempotency-Key header is too long.",
                    {"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} characters."]},
                ),
                status=400,
            )
        owner = owner_of(request)
        if owner is None:
            return self.get_response(request)  # the view answers 401

        fingerprint = fingerprint_of(request)
        record, replay = self.claim(owner, key, fingerprint)
        if replay is not None:
            return replay
        try:
            return self.run(request, record)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise

    def run(self, request: HttpRequest, record: IdempotencyRecord) -> HttpResponse:
        """The view in one transaction with its stored answer; deadlock victims run again."""
        attempts = max(1, settings.DB_RETRY_ATTEMPTS)
        for attempt in range(attempts):
            try:
                response, committed = self.attempt(request, record)
            except DatabaseError as error:  # e.g. a deadlock found while checking foreign keys at COMMIT
                if not is_retryable(error) or attempt == attempts - 1:
                    raise
                pause(attempt)
                continue
            if committed:
                return response
            if is_busy(response) and attempt < attempts - 1:
                pause(attempt)
                continue
            if is_kept(response) and not is_busy(response):  # a refusal: the work rolled back, the answer kept
                self.store(record, response)
            else:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def attempt(self, request: HttpRequest, record: IdempotencyRecord) -> tuple[HttpResponse, bool]:
        # One read of the version tokens for the whole attempt, carried by the claim's lock: the view's kept
        # things (an order's channel, places and rules) are checked against it without a query of their own.
        with retried_as_whole(), versions.one_read(), transaction.atomic():
            if not self.lock_claim(record):
                return in_progress(), True  # the lease lapsed and a retry took the key over
            response = self.get_response(request)
            if is_kept(response) and response.status_code < 400:
                self.store(record, response)
                return response, True
            transaction.set_rollback(True)  # a request that fails writes nothing
        return response, False

    @staticmethod
    def lock_claim(record: IdempotencyRecord) -> bool:
        """Lock the claim's row for the rest of the transaction; False when it is gone (taken over).

        The first statement of the attempt's `versions.one_read()` block, so it carries the block's read of
        the version tokens."""
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
        return bool(versions.read_with_tokens(f"SELECT 1 AS held FROM {table} WHERE id = %s{lock}", [record.pk]))

    @staticmethod
    def store(record: IdempotencyRecord, response: HttpResponse) -> None:
        """Keep the answer in the claim's row: one plain UPDATE, as every answered POST makes it (the ORM's
        update built the same statement again each time, about a third of a millisecond)."""
        expires_at = timezone.now() + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)
        with connection.cursor() as cursor:
            cursor.execute(
                _STORE_SQL.format(table=connection.ops.quote_name(IdempotencyRecord._meta.db_table)),
                [
                    IdempotencyState.DONE.value,
                    response.status_code,
                    response.get("Content-Type", ""),
                    bytes(response.content),
                    connection.ops.adapt_datetimefield_value(expires_at),
                    record.pk,
                ],
            )

    def claim(self, owner: str, key: str, fingerprint: str) -> tuple[IdempotencyRecord, HttpResponse | None]:
        now = timezone.now()
        lease_until = now + timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)
        existing = None
        for _attempt in range(3):
            record = self.insert_claim(owner, key, fingerprint, now, lease_until)
            if record is not None:
                return record, None
            existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
            if existing is None:
                continue  # dropped in between: try again
            if existing.expires_at <= now:
                self.drop_lapsed(existing, now)
                continue
            return existing, self.answer_for(existing, fingerprint)
        if existing is not None and existing.expires_at > now:  # pragma: no cover - three lost races in a row
            return existing, self.answer_for(existing, fingerprint)
        return existing, in_progress()  # a lapsed claim whose request is still alive

    @staticmethod
    def insert_claim(owner: str, key: str, fingerprint: str, now, lease_until) -> IdempotencyRecord | None:
        """The claim's row, or None when the key is held already: one autocommitted statement, the unique
        constraint deciding (ON CONFLICT DO NOTHING), so no transaction is opened around it and nothing fails."""
        record = IdempotencyRecord(
            owner=owner,
            key=key,
            fingerprint=fingerprint,
            state=IdempotencyState.IN_PROGRESS,
            created_at=now,
            expires_at=lease_until,
        )
        quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
        names = ", ".join(quote(name) for name in ("owner", "key", "fingerprint", "state", "content_type"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(IdempotencyRecord._meta.db_table)} ({names}, created_at, expires_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT ({quote('owner')}, {quote('key')}) DO NOTHING "
                "RETURNING id",
                [owner, key, fingerprint, record.state, record.content_type, adapt(now), adapt(lease_until)],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        record.pk = row[0]
        record._state.adding, record._state.db = False, connection.alias
        return record

    @staticmethod
    def drop_lapsed(record: IdempotencyRecord, now) -> None:
        """Drop an expired answer or a lapsed claim, unless its request still holds the row (it is alive)."""
        with transaction.atomic():
            rows = IdempotencyRecord.objects.filter(pk=record.pk, expires_at__lte=now)
            if connection.features.has_select_for_update_skip_locked:
                rows = IdempotencyRecord.objects.filter(
                    pk__in=list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True))
                )
            rows.delete()

    @staticmethod
    def answer_for(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
        if record.fingerprint != fingerprint:
            return JsonResponse(
                error_body(
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with another request body.",
                ),
                status=422,
            )
        if record.state == IdempotencyState.IN_PROGRESS:
            return in_progress()
        response = HttpResponse(bytes(record.body or b""), status=record.status_code, content_type=record.content_type)
        response["Idempotent-Replayed"] = "true"
        return response
