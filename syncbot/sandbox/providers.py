"""Sandbox copies of both provider APIs on loopback, for tests, `syncbot demo` and benchmarks.

Usage::

    async with Sandbox(numbers=50, dialnexa=ProviderOptions(latency_ms=20)) as sb:
        settings = sb.env()
        sb.orgapi.options.always = Fault.status(503)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType

from syncbot.sandbox import dialnexa as dialnexa_api
from syncbot.sandbox import orgapi as orgapi_api
from syncbot.sandbox._server import serve
from syncbot.sandbox.data import Dataset, generate_dataset, inserted_records
from syncbot.sandbox.dialnexa import DIALNEXA_API_KEY
from syncbot.sandbox.faults import Fault, Provider, ProviderOptions, RecordedRequest
from syncbot.sandbox.orgapi import ORGAPI_API_KEY, ORGAPI_ORGANIZATION_ID

__all__ = [
    "DIALNEXA_API_KEY",
    "ORGAPI_API_KEY",
    "ORGAPI_ORGANIZATION_ID",
    "Fault",
    "Provider",
    "ProviderOptions",
    "RecordedRequest",
    "Sandbox",
    "serve_forever",
]


class Sandbox:
    """Both fake providers, serving ``dataset`` (or a generated one) while the block runs.

    The providers exist before the block starts, so options and records can be set up first.
    """

    def __init__(
        self,
        *,
        dataset: Dataset | None = None,
        numbers: int = 200,
        seed: int = 7,
        orgapi: ProviderOptions | None = None,
        dialnexa: ProviderOptions | None = None,
        orgapi_port: int = 0,
        dialnexa_port: int = 0,
    ) -> None:
        data = dataset if dataset is not None else generate_dataset(numbers=numbers, seed=seed)
        # Copies, so that tests mutating records or drift inserting some leave a shared dataset
        # intact for the next sandbox.
        self.orgapi = orgapi_api.provider(
            [dict(record) for record in data.orgapi],
            orgapi or ProviderOptions(),
            inserted=lambda count: inserted_records("orgapi", count, seed=seed),
        )
        self.dialnexa = dialnexa_api.provider(
            [dict(record) for record in data.dialnexa],
            dialnexa or ProviderOptions(),
            inserted=lambda count: inserted_records("dialnexa", count, seed=seed),
        )
        self._ports = (orgapi_port, dialnexa_port)
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Sandbox:
        async with contextlib.AsyncExitStack() as stack:
            apps = ((self.orgapi, orgapi_api.app), (self.dialnexa, dialnexa_api.app))
            for (source, make_app), port in zip(apps, self._ports, strict=True):
                running = await stack.enter_async_context(serve(make_app(source), port=port))
                source.bind(running.url)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.orgapi.close()
        self.dialnexa.close()
        await self._stack.aclose()

    def env(self) -> dict[str, str]:
        """The settings (CONTRACT.md section 4) that point syncbot at this sandbox."""
        return {
            "ORGAPI_BASE_URL": self.orgapi.url,
            "ORGAPI_API_KEY": ORGAPI_API_KEY,
            "ORGAPI_ORGANIZATION_ID": ORGAPI_ORGANIZATION_ID,
            "DIALNEXA_BASE_URL": self.dialnexa.url,
            "DIALNEXA_API_KEY": DIALNEXA_API_KEY,
        }


async def serve_forever(
    *,
    numbers: int = 200,
    latency_ms: float = 0,
    orgapi_port: int = 0,
    dialnexa_port: int = 0,
    on_ready: Callable[[Sandbox], None],
) -> None:
    """Run a sandbox until cancelled; ``on_ready`` gets it once both providers listen."""
    async with Sandbox(
        numbers=numbers,
        orgapi=ProviderOptions(latency_ms=latency_ms),
        dialnexa=ProviderOptions(latency_ms=latency_ms),
        orgapi_port=orgapi_port,
        dialnexa_port=dialnexa_port,
    ) as sandbox:
        on_ready(sandbox)
        await asyncio.Event().wait()
