"""AWS CloudWatch alarms delivered by SNS over HTTPS.

Recognised by the SNS envelope keys ``Type``, ``TopicArn`` and ``Message``. By ``Type``:

- ``SubscriptionConfirmation`` / ``UnsubscribeConfirmation``: no alert; the message is returned
  as an :class:`SnsSubscription` (``SubscribeURL`` is required) to be shown to the company
  admin. Its URL is never fetched here.
- ``Notification``: ``Message`` is a JSON string holding the alarm; it is decoded and errors in
  it are named ``Message.<path>`` (``Message.StateChangeTime``). Mapping:

  - status/severity from ``NewStateValue``: ``ALARM`` → firing critical, ``OK`` → resolved
    low (the guide's rule: critical when in alarm, else low), ``INSUFFICIENT_DATA`` → firing
    low; anything else, or missing, is a 422.
  - signature: ``AlarmName`` (required).
  - asset: the first dimension value of ``Trigger.Dimensions``; for metric-math alarms
    (``Trigger.Metrics[]`` instead of dimensions) the first dimension value of the first
    entry whose ``MetricStat.Metric`` has one (expression entries have none). Dimensions are
    read as ``value``/``name`` or ``Value``/``Name``. An alarm with no dimension anywhere (a
    math expression over metrics without dimensions) uses ``AlarmName`` as its asset.
  - event time: ``StateChangeTime`` (``2026-05-04T10:15:30.123+0000``), else the SNS
    ``Timestamp``, else the moment of receipt.
  - message: ``NewStateReason``, else ``AlarmDescription``, else ``AlarmName``.
  - labels: the dimensions used for the asset (name → value) plus ``region`` (``Region`` as
    sent) and ``aws_account_id`` (``AWSAccountId``) when present.
  - fingerprint: ``AlarmArn``, else ``AlarmName``.

Delivery id without a header: ``cloudwatch:<MessageId>``. CloudWatch writes ``null`` for unset
fields; ``null`` counts as missing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from .._models import Alert, AlertStatus, Severity
from ..errors import NormalizationError
from ._delivery import Delivery, SnsSubscription
from ._times import clamp, parse_iso, with_clamp_flag
from ._wire import DECODE_FAILURES, body_error, echo, part_error

__all__ = ["normalize_cloudwatch"]


class _SnsWire(msgspec.Struct, frozen=True, gc=False):
    Type: str | None = None
    TopicArn: str | None = None
    Message: str | None = None
    MessageId: str | None = None
    Token: str | None = None
    SubscribeURL: str | None = None
    Timestamp: str | None = None


class _Dimension(msgspec.Struct, frozen=True, gc=False):
    name: str | None = None
    value: str | None = None
    Name: str | None = None
    Value: str | None = None


class _Metric(msgspec.Struct, frozen=True, gc=False):
    Dimensions: list[_Dimension] | None = None


class _MetricStat(msgspec.Struct, frozen=True, gc=False):
    Metric: _Metric | None = None


class _MetricQuery(msgspec.Struct, frozen=True, gc=False):
    MetricStat: _MetricStat | None = None


class _Trigger(msgspec.Struct, frozen=True, gc=False):
    Dimensions: list[_Dimension] | None = None
    Metrics: list[_MetricQuery] | None = None


class _AlarmWire(msgspec.Struct, frozen=True, gc=False):
    AlarmName: str | None = None
    AlarmDescription: str | None = None
    AWSAccountId: str | None = None
    NewStateValue: str | None = None
    NewStateReason: str | None = None
    StateChangeTime: str | None = None
    Region: str | None = None
    AlarmArn: str | None = None
    Trigger: _Trigger | None = None


_SNS_DECODER = msgspec.json.Decoder(_SnsWire)
_ALARM_DECODER = msgspec.json.Decoder(_AlarmWire)
_SUBSCRIPTION_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
_STATES = {
    "ALARM": (AlertStatus.FIRING, Severity.CRITICAL),
    "OK": (AlertStatus.RESOLVED, Severity.LOW),
    "INSUFFICIENT_DATA": (AlertStatus.FIRING, Severity.LOW),
}


def normalize_cloudwatch(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """Normalize an SNS message: an alarm notification or a subscription message."""
    try:
        sns = _SNS_DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None
    if not delivery_id:
        delivery_id = f"cloudwatch:{sns.MessageId}" if sns.MessageId else ""

    if sns.Type in _SUBSCRIPTION_TYPES:
        if not sns.SubscribeURL:
            raise NormalizationError("SubscribeURL", "missing; the admin confirms with it")
        subscription = SnsSubscription(
            type=sns.Type,
            topic_arn=sns.TopicArn or "",
            subscribe_url=sns.SubscribeURL,
            message_id=sns.MessageId or "",
            token=sns.Token or "",
        )
        return Delivery("cloudwatch", (), delivery_id, subscription)
    if sns.Type is None:
        raise NormalizationError("Type", "missing")
    if sns.Type != "Notification":
        raise NormalizationError(
            "Type",
            f"unsupported SNS message type {echo(sns.Type)}; expected Notification, "
            "SubscriptionConfirmation or UnsubscribeConfirmation",
        )
    if sns.Message is None:
        raise NormalizationError("Message", "missing")
    try:
        alarm = _ALARM_DECODER.decode(sns.Message)
    except DECODE_FAILURES as exc:
        raise part_error(exc, sns.Message, "Message") from None

    name = alarm.AlarmName
    if not name:
        raise NormalizationError("Message.AlarmName", "missing")
    if alarm.NewStateValue is None:
        raise NormalizationError("Message.NewStateValue", "missing")
    state = _STATES.get(alarm.NewStateValue.strip().upper())
    if state is None:
        raise NormalizationError(
            "Message.NewStateValue",
            f"unknown alarm state {echo(alarm.NewStateValue)}; "
            "expected ALARM, OK or INSUFFICIENT_DATA",
        )
    status, severity = state

    clamped = False
    if alarm.StateChangeTime:
        event_time, clamped = clamp(
            parse_iso(alarm.StateChangeTime, "Message.StateChangeTime"), received_at
        )
    elif sns.Timestamp:
        event_time, clamped = clamp(parse_iso(sns.Timestamp, "Timestamp"), received_at)
    else:
        event_time = received_at

    asset, labels = _dimensions(alarm.Trigger)
    if alarm.Region:
        labels["region"] = alarm.Region
    if alarm.AWSAccountId:
        labels["aws_account_id"] = alarm.AWSAccountId

    alert = Alert(
        id=new_id(),
        company_id=company_id,
        asset_name=asset or name,
        signature=name,
        severity=severity,
        status=status,
        message=alarm.NewStateReason or alarm.AlarmDescription or name,
        tool_source="CloudWatch",
        event_time=event_time,
        received_at=received_at,
        labels=labels,
        delivery_id=delivery_id,
        fingerprint=alarm.AlarmArn or name,
        source="cloudwatch",
        raw=body,
    )
    if clamped:
        alert = with_clamp_flag(alert)
    return Delivery("cloudwatch", (alert,), delivery_id)


def _dimensions(trigger: _Trigger | None) -> tuple[str | None, dict[str, str]]:
    """The first dimension value and name → value of its dimension list, or (None, {})."""
    if trigger is None:
        return None, {}
    candidates: list[list[_Dimension]] = []
    if trigger.Dimensions:
        candidates.append(trigger.Dimensions)
    for query in trigger.Metrics or ():
        stat = query.MetricStat
        if stat is not None and stat.Metric is not None and stat.Metric.Dimensions:
            candidates.append(stat.Metric.Dimensions)
    for dimensions in candidates:
        first: str | None = None
        labels: dict[str, str] = {}
        for dimension in dimensions:
            value = dimension.value or dimension.Value
            if not value:
                continue
            first = first or value
            key = dimension.name or dimension.Name
            if key:
                labels[key] = value
        if first is not None:
            return first, labels
    return None, {}
