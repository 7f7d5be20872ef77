"""orgapi: "List Phone Numbers", cursor pagination, ``X-API-Key`` + ``X-Organization-Id``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from syncbot.errors import ProviderError
from syncbot.http import message_in
from syncbot.models import PhoneNumber
from syncbot.normalize import PhoneParser, build
from syncbot.providers._records import (
    OptionalId,
    OptionalText,
    PhoneText,
    RecordId,
    Timestamp,
    clean,
)
from syncbot.providers.base import PageInfo, Paginator, Provider, Relisting
from syncbot.providers.paginators import CursorPaginator


class OrgapiRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    phone_number_id: RecordId
    phone_number: PhoneText
    provider: OptionalText = None
    status: OptionalText = None
    supports_inbound: bool | None = None
    supports_outbound: bool | None = None
    assigned_agent_id: OptionalId = None
    created_at: Timestamp = None


@dataclass(slots=True)
class OrgapiProvider(Provider):
    name: ClassVar[str] = "orgapi"
    # The status chains and the unfiltered first page that checks them, side by side.
    concurrency: ClassVar[int] = 3
    # The docs set no maximum and let the server clamp page_size, so ask for large pages:
    # each page saved is a round trip off the sequential cursor chain.
    default_page_size: ClassVar[int] = 1000

    # Cursor pages must come one after another; the documented status filter splits the
    # listing into chains that can come side by side (the paginator checks they add up).
    partitions: list[dict[str, str]] = field(
        default_factory=lambda: [{"status": "free"}, {"status": "assigned"}]
    )

    @property
    def url(self) -> str:
        return f"{self.account.base_url}/api/phone-numbers"

    def headers(self) -> dict[str, str]:
        return {
            "X-API-Key": self.account.api_key.get_secret_value(),
            "X-Organization-Id": self.account.organization_id or "",
            "Accept": "application/json",
        }

    def auth_hint(self) -> str:
        variable = "ORGAPI_API_KEY" if self.account.name == "default" else "ORGAPI_ACCOUNTS"
        return (
            f"the API key was refused for organization {self.account.organization_id!r}; it "
            f"needs the phone_numbers:read permission. Check {variable} "
            f"(account {self.account.name!r}) and the key's permissions in orgapi."
        )

    def paginator(self) -> Paginator:
        return CursorPaginator(
            base={"page_size": str(self.effective_page_size), **self.extra_params},
            partitions=self.partitions,
            what=self.key,
        )

    def relistings(self, grown: Sequence[str]) -> list[Relisting]:
        # A number whose status flipped while the chains were listed may have been passed by
        # both: it is in the chain that grew, so that one chain is listed again first.
        chains = [p for p in self.partitions if "&".join(f"{k}={v}" for k, v in p.items()) in grown]
        cheap = [self._chains(chains)] if chains and len(chains) < len(self.partitions) else []
        return [*cheap, Relisting(self.paginator(), union=False)]

    def _chains(self, partitions: list[dict[str, str]]) -> Relisting:
        paginator = CursorPaginator(
            base={"page_size": str(self.effective_page_size), **self.extra_params},
            partitions=partitions,
            what=self.key,
            check=False,
        )
        return Relisting(paginator, union=True)

    def probe(self) -> dict[str, str]:
        return {"page_size": "1"}

    def read_page(self, body: object) -> PageInfo:
        if not isinstance(body, dict):
            raise ProviderError(f"{self.key}: expected a JSON object, got {type(body).__name__}")
        if body.get("success") is not True:
            detail = message_in(body) or "no error message"
            raise ProviderError(f"{self.key}: the API answered success=false: {detail}")
        data = body.get("data")
        if not isinstance(data, list):
            raise ProviderError(f"{self.key}: the answer has no 'data' list")
        pagination = body.get("pagination")
        if not isinstance(pagination, dict):
            pagination = {}
        cursor = pagination.get("next_cursor")
        total = pagination.get("total_count")
        return PageInfo(
            records=data,
            next_cursor=str(cursor) if cursor not in (None, "") else None,
            has_more=bool(pagination.get("has_more")),
            total=total if isinstance(total, int) else None,
        )

    def record_model(self) -> type[BaseModel]:
        return OrgapiRecord

    def record_id(self, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("phone_number_id")
        return None if value is None else clean(str(value))

    def normalize(self, record: Any, parse: PhoneParser) -> PhoneNumber:
        assert isinstance(record, OrgapiRecord)
        unassigned = record.status == "free" or record.assigned_agent_id is None
        return build(
            source=self.name,
            account=self.account.name,
            number_id=record.phone_number_id,
            phone_text=record.phone_number,
            parsed=parse(record.phone_number, None),
            country_code=None,
            number_type=None,
            carrier=record.provider,
            status="unassigned" if unassigned else "assigned",
            provider_status=record.status,
            agent_id=record.assigned_agent_id,
            label=None,
            inbound=record.supports_inbound,
            outbound=record.supports_outbound,
            created_at=record.created_at,
        )
