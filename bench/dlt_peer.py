"""The dlt peer: dlt's ``rest_api`` source, its cursor and page-number paginators pointed at the
sandbox provider APIs, through dlt's extract and normalize stages.

dlt has no Google Sheets destination, so nothing is loaded: it fetches, infers the schema and
writes load packages, which is less work than a sync (no E.164 parsing, no history, no store,
no sheet). The two sources are extracted side by side (``parallelized``), as dlt's docs advise
for independent resources; each one's pages come one after another, as dlt paginates.

Run as a child process by the benchmark, with the same settings as ``syncbot sync``; prints
``{"rows": {table: count}}``. Needs the optional ``dlt`` package.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping

import dlt
from dlt.sources import DltSource
from dlt.sources.rest_api import rest_api_source

PAGE_SIZE = 100


def _orgapi(env: Mapping[str, str]) -> DltSource:
    return rest_api_source(
        {
            "client": {
                "base_url": env["ORGAPI_BASE_URL"],
                "headers": {
                    "X-API-Key": env["ORGAPI_API_KEY"],
                    "X-Organization-Id": env["ORGAPI_ORGANIZATION_ID"],
                },
            },
            "resources": [
                {
                    "name": "orgapi_numbers",
                    "primary_key": "phone_number_id",
                    "endpoint": {
                        "path": "api/phone-numbers",
                        "params": {"page_size": PAGE_SIZE},
                        "data_selector": "data",
                        "paginator": {
                            "type": "cursor",
                            "cursor_path": "pagination.next_cursor",
                            "cursor_param": "cursor",
                        },
                    },
                }
            ],
        },
        name="orgapi",
        parallelized=True,
    )


def _dialnexa(env: Mapping[str, str]) -> DltSource:
    return rest_api_source(
        {
            "client": {
                "base_url": env["DIALNEXA_BASE_URL"],
                "auth": {"type": "bearer", "token": env["DIALNEXA_API_KEY"]},
            },
            "resources": [
                {
                    "name": "dialnexa_numbers",
                    "primary_key": "id",
                    "endpoint": {
                        "path": "organization-phone-numbers",
                        "params": {"limit": PAGE_SIZE},
                        "data_selector": "data",
                        "paginator": {
                            "type": "page_number",
                            "base_page": 1,
                            "page_param": "page",
                            "total_path": "meta.totalPages",
                        },
                    },
                }
            ],
        },
        name="dialnexa",
        parallelized=True,
    )


def main() -> int:
    env = os.environ
    # A benchmark run is nobody's usage to report.
    env.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    sources = []
    if "ORGAPI_API_KEY" in env:
        sources.append(_orgapi(env))
    if "DIALNEXA_API_KEY" in env:
        sources.append(_dialnexa(env))
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as work:
        pipeline = dlt.pipeline(
            pipeline_name="bench_peer",
            pipelines_dir=work,
            # Only its capabilities are used: normalize needs to know the file format.
            destination=dlt.destinations.filesystem(bucket_url=f"file://{work}/out"),
            dataset_name="numbers",
        )
        pipeline.extract(sources)
        info = pipeline.normalize()
        counts = info.row_counts if info is not None else {}
    print(json.dumps({"rows": {t: n for t, n in counts.items() if not t.startswith("_dlt")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
