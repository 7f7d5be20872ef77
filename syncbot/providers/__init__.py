"""Provider clients: one file each, one pagination interface."""

from __future__ import annotations

from syncbot.providers.base import PageInfo, Paginator, Provider
from syncbot.providers.dialnexa import DialnexaProvider
from syncbot.providers.fetch import Deadline, fetch_numbers
from syncbot.providers.orgapi import OrgapiProvider
from syncbot.settings import Account

_BY_SOURCE: dict[str, type[Provider]] = {
    OrgapiProvider.name: OrgapiProvider,
    DialnexaProvider.name: DialnexaProvider,
}


def provider_for(account: Account) -> Provider:
    """The client for one configured account."""
    return _BY_SOURCE[account.source](account)


__all__ = [
    "Deadline",
    "DialnexaProvider",
    "OrgapiProvider",
    "PageInfo",
    "Paginator",
    "Provider",
    "fetch_numbers",
    "provider_for",
]
