"""Background work of orders: large POS receipt files."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection, connections
from django.utils import timezone

from omni.actor import Actor
from omni.errors import Invalid
from omni.orders.models import ImportStatus, ReceiptImport
from omni.orders.receipts import ReceiptFileInvalid, record_receipts, rows_from_bytes

logger = logging.getLogger(__name__)
MAX_STORED_ERRORS = 1000


class _ProgressWriter:
    """Writes lines done on the import's row where the progress page can see it.

    The import itself runs in one transaction, whose writes nobody sees until
    it commits; on PostgreSQL the progress goes through a second connection
    of its own. On SQLite (one writer at a time) progress inside the
    transaction is not written: the page shows it at the end.
    """

    def __init__(self, import_id: int):
        self.import_id = import_id
        self.side = None
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if done == self.last:
            return
        self.last = done
        if not connection.in_atomic_block:
            ReceiptImport.objects.filter(pk=self.import_id).update(lines_done=done, total_lines=total)
            return
        if connection.vendor != "postgresql":
            return
        if self.side is None:
            self.side = connections.create_connection("default")
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ReceiptImport._meta.db_table} SET lines_done = %s, total_lines = %s WHERE id = %s",
                [done, total, self.import_id],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


@shared_task(name="orders.import_receipts")
def import_receipts(import_id: int) -> str:
    """Run a stored receipt file through record_receipts and record the outcome on its ReceiptImport.

    Safe to run twice: a finished import is left alone, and receipts already
    recorded are skipped by the service.
    """
    job = ReceiptImport.objects.select_related("user", "location").filter(pk=import_id).first()
    if job is None or job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return "nothing to do"
    ReceiptImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, lines_done=0)
    writer = _ProgressWriter(job.pk)
    outcome: dict = {"finished_at": timezone.now()}
    try:
        rows = rows_from_bytes(bytes(job.content), job.file_format)
        ReceiptImport.objects.filter(pk=job.pk).update(total_lines=len(rows))
        result = record_receipts(
            rows,
            actor=Actor.of(job.user),
            progress=writer,
            allowed_locations=[job.location_id] if job.location_id else None,
        )
    except ReceiptFileInvalid as exc:
        outcome.update(
            status=ImportStatus.FAILED,
            message=exc.detail,
            row_errors=[
                {"line": line, "field": name, "messages": messages}
                for line, fields in sorted(exc.row_errors.items())
                for name, messages in fields.items()
            ][:MAX_STORED_ERRORS],
        )
    except Invalid as exc:
        outcome.update(status=ImportStatus.FAILED, message=exc.detail)
    except Exception as exc:
        logger.exception("receipt import %s failed", job.pk)
        outcome.update(status=ImportStatus.FAILED, message=f"The import stopped: {exc}"[:2000])
    else:
        outcome.update(
            status=ImportStatus.DONE,
            lines_done=len(rows),
            orders_created=len(result.imported),
            receipts_skipped=len(result.skipped),
            shortfalls=[
                {"line": s.line, "store": s.store, "sku": s.sku, "units": s.units, "beyond_on_hand": s.beyond_on_hand}
                for s in result.shortfalls
            ][:MAX_STORED_ERRORS],
            message=f"{len(result.imported)} receipt(s) recorded, {len(result.skipped)} already imported.",
        )
    finally:
        writer.close()
    outcome["finished_at"] = timezone.now()
    ReceiptImport.objects.filter(pk=job.pk).update(**outcome)
    return outcome["status"]
