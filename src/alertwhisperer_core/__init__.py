"""Alert Whisperer core: pure, storage-agnostic alert correlation and remediation decisions."""

from ._models import *  # noqa: F403  (curated list assembled below)
from ._settings import *  # noqa: F403
from .errors import *  # noqa: F403
