"""DialNexa: "List your phone numbers", page/limit pagination, Bearer key.

Records come in the two shapes the docs show; one model with every field optional reads both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from syncbot.errors import ProviderError
from syncbot.models import PhoneNumber
from syncbot.normalize import PhoneParser, build
from syncbot.providers._records import (
    Country,
    OptionalId,
    OptionalText,
    PhoneText,
    RecordId,
    Timestamp,
    clean,
)
from syncbot.providers.base import PageInfo, Paginator, Provider
from syncbot.providers.paginators import PageNumberPaginator

MAX_LIMIT = 100


class DialnexaRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: RecordId
    phone_number: PhoneText
    # Shape A: label, agent_id, status, provider.
    label: OptionalText = None
    agent_id: OptionalId = None
    status: OptionalText = None
    provider: OptionalText = None
    # Shape B: country_code, type, inbound_agent_id.
    country_code: Country = None
    type: OptionalText = None
    inbound_agent_id: OptionalId = None
    nickname: OptionalText = None
    created_at: Timestamp = None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(slots=True)
class DialnexaProvider(Provider):
    name: ClassVar[str] = "dialnexa"
    concurrency: ClassVar[int] = 8
    default_page_size: ClassVar[int] = MAX_LIMIT

    @property
    def url(self) -> str:
        return f"{self.account.base_url}/organization-phone-numbers"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.account.api_key.get_secret_value()}",
            "Accept": "application/json",
        }

    def auth_hint(self) -> str:
        variable = "DIALNEXA_API_KEY" if self.account.name == "default" else "DIALNEXA_ACCOUNTS"
        return (
            "the API key was refused or cannot read phone numbers. Check "
            f"{variable} (account {self.account.name!r}) and that the key may list "
            "organization phone numbers in DialNexa."
        )

    def paginator(self) -> Paginator:
        return PageNumberPaginator(
            base=dict(self.extra_params), limit=min(self.effective_page_size, MAX_LIMIT)
        )

    def probe(self) -> dict[str, str]:
        return {"page": "1", "limit": "1"}

    def read_page(self, body: object) -> PageInfo:
        if not isinstance(body, dict):
            raise ProviderError(f"{self.key}: expected a JSON object, got {type(body).__name__}")
        data = body.get("data")
        if not isinstance(data, list):
            raise ProviderError(f"{self.key}: the answer has no 'data' list")
        meta = body.get("meta")
        if not isinstance(meta, dict):
            meta = {}
        return PageInfo(
            records=data,
            total=_int(meta.get("total")),
            total_pages=_int(meta.get("totalPages")),
            page=_int(meta.get("page")),
            limit=_int(meta.get("limit")),
        )

    def record_model(self) -> type[BaseModel]:
        return DialnexaRecord

    def record_id(self, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("id")
        return None if value is None else clean(str(value))

    def normalize(self, record: Any, parse: PhoneParser) -> PhoneNumber:
        assert isinstance(record, DialnexaRecord)
        agent = record.inbound_agent_id or record.agent_id
        return build(
            source=self.name,
            account=self.account.name,
            number_id=record.id,
            phone_text=record.phone_number,
            parsed=parse(record.phone_number, record.country_code),
            country_code=record.country_code,
            number_type=record.type,
            carrier=record.provider,
            status="assigned" if agent else "unassigned",
            provider_status=record.status,
            agent_id=agent,
            label=record.nickname or record.label,
            inbound=None,
            outbound=None,
            created_at=record.created_at,
        )
