"""Company repository contract: a company's own AWS credentials (stored sealed, per company)."""

from __future__ import annotations

from alertwhisperer_core import AwsCredentials
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import at, company

KEYS = AwsCredentials(
    region="eu-west-1",
    updated_at=at(3, micro=17),
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token=None,
)
ROLE = AwsCredentials(
    region="us-east-2",
    updated_at=at(9),
    role_arn="arn:aws:iam::123456789012:role/AlertWhisperer",
    external_id="acme-7f3c",
)


async def _companies(store: UnitOfWorkFactory, *ids: str) -> None:
    async with store() as uow:
        for company_id in ids:
            await uow.companies.add(company(company_id))
        await uow.commit()


async def test_a_company_without_aws_credentials_has_none(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme")
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") is None
        assert await uow.companies.aws_credentials("nope") is None


async def test_access_keys_round_trip(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") == KEYS


async def test_a_role_replaces_the_keys(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.commit()
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", ROLE)
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") == ROLE


async def test_setting_none_forgets_them(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.commit()
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", None)
        await uow.companies.set_aws_credentials("acme", None)  # forgetting twice is fine
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") is None


async def test_aws_credentials_are_per_company(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme", "globex")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.companies.set_aws_credentials("globex", ROLE)
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") == KEYS
        assert await uow.companies.aws_credentials("globex") == ROLE


async def test_a_rolled_back_change_leaves_them_as_they_were(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.commit()
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", ROLE)
        # left without commit
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") == KEYS


async def test_deleting_the_company_forgets_its_aws_credentials(store: UnitOfWorkFactory) -> None:
    await _companies(store, "acme", "globex")
    async with store() as uow:
        await uow.companies.set_aws_credentials("acme", KEYS)
        await uow.companies.set_aws_credentials("globex", ROLE)
        await uow.commit()
    async with store() as uow:
        await uow.companies.delete("acme")
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") is None
        assert await uow.companies.aws_credentials("globex") == ROLE
