"""The store's schema, as numbered migrations shared by every SQL backend.

A migration is never edited once released: a change of schema is a new entry at the end,
which ``syncbot migrate`` applies once, recording it in ``schema_version``.
"""

from __future__ import annotations

# Each migration is a list of statements; {ts}, {bool}, {bigint} and {serial} take the
# backend's types.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            run_id {serial} PRIMARY KEY,
            status TEXT NOT NULL,
            started_at {ts} NOT NULL,
            finished_at {ts} NOT NULL,
            result TEXT NOT NULL
        )""",
        """CREATE TABLE numbers (
            source TEXT NOT NULL,
            account TEXT NOT NULL,
            number_id TEXT NOT NULL,
            phone_number TEXT NOT NULL,
            valid {bool} NOT NULL,
            country_code TEXT,
            number_type TEXT,
            carrier TEXT,
            status TEXT NOT NULL,
            provider_status TEXT,
            agent_id TEXT,
            label TEXT,
            inbound {bool},
            outbound {bool},
            created_at {ts},
            first_seen_at {ts} NOT NULL,
            unassigned_since {ts},
            phone_text TEXT NOT NULL,
            phone_region TEXT,
            parsed_e164 TEXT,
            parsed_country TEXT,
            parsed_type TEXT,
            PRIMARY KEY (source, account, number_id)
        )""",
        "CREATE INDEX numbers_phone ON numbers (phone_number)",
        """CREATE TABLE source_states (
            source TEXT NOT NULL,
            account TEXT NOT NULL,
            status TEXT NOT NULL,
            last_ok_at {ts},
            last_attempt_at {ts} NOT NULL,
            error TEXT,
            PRIMARY KEY (source, account)
        )""",
        """CREATE TABLE changes (
            change_id {serial} PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs (run_id),
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            account TEXT NOT NULL,
            number_id TEXT NOT NULL,
            phone_number TEXT NOT NULL,
            agent_before TEXT,
            agent_after TEXT,
            label TEXT,
            at {ts} NOT NULL
        )""",
        "CREATE INDEX changes_run ON changes (run_id)",
    ),
    (
        # A digest of each number's raw record as last listed: a record that comes back
        # unchanged skips validation and normalization (syncbot/store/staging.py).
        "ALTER TABLE numbers ADD COLUMN digest {bigint}",
    ),
    (
        # How each phone text was read, a cache the digest made useless: an unchanged record
        # is no longer normalized at all, and a changed one is read again.
        "ALTER TABLE numbers DROP COLUMN phone_text",
        "ALTER TABLE numbers DROP COLUMN phone_region",
        "ALTER TABLE numbers DROP COLUMN parsed_e164",
        "ALTER TABLE numbers DROP COLUMN parsed_country",
        "ALTER TABLE numbers DROP COLUMN parsed_type",
    ),
    (
        # Follow-ups (syncbot/followups.py): the current one of each number, for the unassigned
        # period that began at `since`, and the append-only history of what people did.
        """CREATE TABLE followups (
            source TEXT NOT NULL,
            account TEXT NOT NULL,
            number_id TEXT NOT NULL,
            since {ts} NOT NULL,
            owner_id TEXT,
            owner_name TEXT,
            owned_at {ts},
            expected_until TEXT,
            reason TEXT,
            expected_by_id TEXT,
            expected_by_name TEXT,
            updated_at {ts} NOT NULL,
            PRIMARY KEY (source, account, number_id)
        )""",
        """CREATE TABLE followup_actions (
            action_id {serial} PRIMARY KEY,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            account TEXT NOT NULL,
            number_id TEXT NOT NULL,
            phone_number TEXT NOT NULL,
            user_id TEXT NOT NULL,
            user_name TEXT NOT NULL,
            at {ts} NOT NULL,
            expected_until TEXT,
            reason TEXT
        )""",
        "CREATE INDEX followup_actions_at ON followup_actions (at)",
    ),
    (
        # The sheet's health, kept as each source's is (source_states), so that whichever
        # process writes the sheet tells a failure once and its end once, and `status`,
        # `doctor` and /healthz show it. One row: syncbot writes one spreadsheet.
        """CREATE TABLE sheet_state (
            id INTEGER PRIMARY KEY,
            status TEXT NOT NULL,
            last_ok_at {ts},
            last_attempt_at {ts} NOT NULL,
            error TEXT
        )""",
        # Signed Slack requests seen within the replay window, shared by every web dyno (and
        # kept across restarts), each until its timestamp leaves the window (epoch seconds).
        """CREATE TABLE seen_requests (
            signature TEXT PRIMARY KEY,
            expires_at {bigint} NOT NULL
        )""",
        "CREATE INDEX seen_requests_expiry ON seen_requests (expires_at)",
    ),
    (
        # The managed Inventory columns syncbot has written to each spreadsheet: a column
        # added to the layout later (Follow-up) that people already had of their own, under
        # the same name, stays theirs (syncbot/sheets/layout.py LATER_HEADERS).
        """CREATE TABLE sheet_columns (
            spreadsheet TEXT NOT NULL,
            header TEXT NOT NULL,
            PRIMARY KEY (spreadsheet, header)
        )""",
    ),
    (
        # A re-keyed number's id before (models.ChangeKind.REKEYED).
        "ALTER TABLE changes ADD COLUMN previous_id TEXT",
    ),
)
