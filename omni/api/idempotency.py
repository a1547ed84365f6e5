"""The ``Idempotency-Key`` behaviour of every POST under /api/.

- same key, same body, within the TTL: the first answer again, nothing new;
- same key, another body: 422 ``idempotency_key_reused``;
- same key while the first request still runs: 409 ``request_in_progress``.

Keys belong to the caller (the API key's hash or the staff user), so two
clients cannot see each other's answers. The record is claimed with an
INSERT in its own autocommitted statement before the view runs, so the
unique constraint decides which of two racing requests goes ahead. Answers
that say nothing about the request itself (401, 403, 429, 5xx) are not kept:
the record is dropped and the key can be used again.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from omni.api.errors import error_body, is_api_path
from omni.models import IdempotencyRecord, IdempotencyState

HEADER = "HTTP_IDEMPOTENCY_KEY"
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
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyState.DONE,
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=bytes(response.content),
        )
        return response

    def claim(self, owner: str, key: str, fingerprint: str) -> tuple[IdempotencyRecord, HttpResponse | None]:
        now = timezone.now()
        expires_at = now + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        state=IdempotencyState.IN_PROGRESS,
                        expires_at=expires_at,
                    )
                return record, None
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
                if existing is None:
                    continue  # dropped in between: try again
                if existing.expires_at <= now:
                    IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
                    continue
                return existing, self.answer_for(existing, fingerprint)
        return existing, JsonResponse(  # pragma: no cover - three lost races in a row
            error_body("request_in_progress", "A request with this Idempotency-Key is still running."), status=409
        )

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
            return JsonResponse(
                error_body("request_in_progress", "A request with this Idempotency-Key is still running."),
                status=409,
            )
        response = HttpResponse(bytes(record.body or b""), status=record.status_code, content_type=record.content_type)
        response["Idempotent-Replayed"] = "true"
        return response
