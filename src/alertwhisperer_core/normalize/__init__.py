"""Alert normalization: every supported sender's payload into :class:`~alertwhisperer_core.Alert`.

``normalize(body, ...)`` detects the format (SPEC §2) or takes it from ``source=``, and
returns a :class:`Delivery`: the alerts, the delivery id used for idempotency (SPEC §5.5), and
for an SNS subscription message the subscription to show the admin. ``sniff_sender`` is the
cheap guess the rate limiter uses before anything is parsed (SPEC §5.3). The mapping of each
source is documented in its module: ``_generic``, ``_alertmanager``, ``_datadog``, ``_zabbix``,
``_cloudwatch``.
"""

from ._delivery import SOURCES, Delivery, SnsSubscription
from ._detect import detect_source, sniff_sender
from ._normalize import normalize
from ._severity import SEVERITY_SYNONYMS, parse_severity
from ._times import FUTURE_TOLERANCE

__all__ = [
    "FUTURE_TOLERANCE",
    "SEVERITY_SYNONYMS",
    "SOURCES",
    "Delivery",
    "SnsSubscription",
    "detect_source",
    "normalize",
    "parse_severity",
    "sniff_sender",
]
