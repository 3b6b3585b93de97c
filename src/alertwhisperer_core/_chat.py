"""Chat per company (SPEC §10): the message record and what a message body may be.

A body is plain text, stored exactly as written apart from surrounding whitespace: no markup
is interpreted or removed here, so ``<script>`` in a message is stored as those characters and
every client escapes bodies when it shows them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .errors import ValidationError

__all__ = ["MAX_CHAT_BODY", "ChatMessage", "chat_body"]

MAX_CHAT_BODY = 2000
"""The most characters a message may have once surrounding whitespace is stripped."""


@attrs.frozen
class ChatMessage:
    """One message in a company's chat; ``user_name`` is the author's name when it was sent."""

    id: str
    company_id: str
    user_id: str
    user_name: str
    body: str
    created_at: datetime


def chat_body(text: str) -> str:
    """``text`` without surrounding whitespace; a 422 naming ``body`` unless 1 to 2000 characters
    remain."""
    body = text.strip()
    if not body:
        raise ValidationError.for_field("body", "must not be blank")
    if len(body) > MAX_CHAT_BODY:
        raise ValidationError.for_field("body", f"must be at most {MAX_CHAT_BODY} characters")
    return body
