"""Delivery idempotency (SPEC §5.5): what a repeated delivery is answered with, and its key.

A delivery id seen for the same company within :data:`DELIVERY_WINDOW` is a duplicate: the
service answers 200 with the first delivery's alert and incident ids and ``"duplicate": true``,
and stores nothing new. Deliveries are scoped per company, so two companies may use the same
id (a Datadog monitor id, a Zabbix event id) without colliding.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from .errors import ValidationError

__all__ = ["DELIVERY_WINDOW", "MAX_DELIVERY_ID_LENGTH", "DeliveryRecord", "delivery_key"]

DELIVERY_WINDOW = timedelta(hours=24)
"""How long a delivery id is remembered after it was first accepted."""

MAX_DELIVERY_ID_LENGTH = 256
"""Longer ``X-Delivery-ID`` values are refused rather than stored as unbounded keys."""


@attrs.frozen
class DeliveryRecord:
    """What the first accepted delivery produced; a duplicate is answered with it."""

    delivery_id: str
    company_id: str
    alert_ids: tuple[str, ...]
    incident_ids: tuple[str, ...]
    first_seen_at: datetime

    @property
    def expires_at(self) -> datetime:
        """When the record may be forgotten: :data:`DELIVERY_WINDOW` after ``first_seen_at``."""
        return self.first_seen_at + DELIVERY_WINDOW

    def duplicate_response(self) -> dict[str, object]:
        """The body of the 200 answer to a repeat of this delivery."""
        return {
            "alert_ids": list(self.alert_ids),
            "incident_ids": list(self.incident_ids),
            "duplicate": True,
        }


def delivery_key(company_id: str, delivery_id: str) -> str:
    """The store key of one company's delivery id.

    The company id's length is part of the key, so no pair of ids can produce the key of
    another pair whatever characters they hold. Raises
    :class:`~alertwhisperer_core.errors.ValidationError` naming ``X-Delivery-ID`` when the
    delivery id is empty or longer than :data:`MAX_DELIVERY_ID_LENGTH`.
    """
    if not delivery_id or len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
        raise ValidationError.for_field(
            "X-Delivery-ID", f"must be 1 to {MAX_DELIVERY_ID_LENGTH} characters"
        )
    if not company_id:
        raise ValueError("company_id must not be empty")
    return f"delivery:{len(company_id)}:{company_id}:{delivery_id}"
