"""Decoding request bodies into commands: 400 for non-JSON, 422 naming the field otherwise."""

from __future__ import annotations

import pytest

from alertwhisperer_core import MalformedPayload, Role, ValidationError
from alertwhisperer_core.service import (
    UNSET,
    IncidentChanges,
    NewCompany,
    NewUser,
    SettingsChanges,
    decode_command,
)


def _field(body: bytes, command: type) -> str:
    with pytest.raises(ValidationError) as error:
        decode_command(body, command)
    return str(error.value.errors[0]["field"])


def test_a_valid_body_decodes_into_the_command() -> None:
    user = decode_command(
        b'{"email": "a@b.c", "name": "A", "password": "p", "role": "technician",'
        b' "company_ids": ["acme"]}',
        NewUser,
    )
    assert user.role is Role.TECHNICIAN
    assert user.company_ids == ("acme",)


def test_absent_fields_of_a_partial_update_are_unset_and_null_is_kept() -> None:
    changes = decode_command(b'{"assigned_to": null}', IncidentChanges)
    assert changes.assigned_to is None
    assert changes.status is UNSET


@pytest.mark.parametrize("body", [b"", b"   ", b"{not json", b'{"a": 1'])
def test_bytes_that_are_not_json_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        decode_command(body, SettingsChanges)


def test_a_missing_field_is_named() -> None:
    assert _field(b'{"email": "a@b.c", "name": "A", "role": "technician"}', NewUser) == "password"


def test_an_unknown_field_is_named_with_its_path() -> None:
    assert _field(b'{"correlation": {"window": 5}}', SettingsChanges) == "correlation.window"


def test_a_wrong_type_deep_inside_is_named_with_its_path() -> None:
    body = b'{"correlation": {"window_minutes": "five"}}'
    assert _field(body, SettingsChanges) == "correlation.window_minutes"


def test_a_bad_list_element_is_named_with_its_index() -> None:
    body = b'{"name": "X", "assets": [{"name": "a"}, {"name": 7}]}'
    assert _field(body, NewCompany) == "assets[1].name"


def test_a_boolean_is_not_an_integer() -> None:
    body = b'{"rate_limit": {"burst": true}}'
    assert _field(body, SettingsChanges) == "rate_limit.burst"


def test_an_unknown_enum_value_is_named() -> None:
    assert _field(b'{"status": "closed"}', IncidentChanges) == "status"


def test_a_body_that_is_not_an_object_is_blamed_on_the_body() -> None:
    assert _field(b"[1, 2]", SettingsChanges) == "body"


def test_an_empty_name_is_refused() -> None:
    assert _field(b'{"name": ""}', NewCompany) == "name"
