"""The admin services' errors as HTTP answers: each domain error becomes a 4xx/5xx with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from assistant.admin.ab_tests import AbTestConflict, AbTestNotFound
from assistant.admin.catalogue import ItemConflict, ItemNotFound
from assistant.admin.faq_bulk import ImportRefused
from assistant.admin.faq_service import FaqNotFound, IndexWriteFailed, StoreWriteFailed
from assistant.cluster.jobs import JobBusy

STATUS: dict[type[Exception], int] = {
    AbTestNotFound: 404,
    AbTestConflict: 409,
    FaqNotFound: 404,
    ItemNotFound: 404,
    ItemConflict: 409,
    JobBusy: 409,
    StoreWriteFailed: 409,
    IndexWriteFailed: 503,
}


@contextmanager
def admin_errors() -> Iterator[None]:
    try:
        yield
    except ImportRefused as e:
        raise HTTPException(422, {"error": "the file was refused; nothing was changed",
                                  "problems": e.problems}) from e
    except tuple(STATUS) as e:
        status = next(code for kind, code in STATUS.items() if isinstance(e, kind))
        raise HTTPException(status, str(e)) from e
