"""The shared sending budget's slot clock in PostgreSQL: two UNLOGGED tables and the PL/pgSQL
function that takes a slot (`bot/delivery/shared_budget/postgres.py` calls it). Until now the
bot created them on first use; IF NOT EXISTS and OR REPLACE keep a database where it did so,
rows and all. SQLite gets nothing: one process only, its budget stays inside it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# UNLOGGED: the state lives a few seconds; no need for it to survive a crash, nor for WAL
STATEMENTS = (
    """CREATE UNLOGGED TABLE IF NOT EXISTS send_budget (
        bot text PRIMARY KEY,
        next_slot double precision NOT NULL
    )""",
    """CREATE UNLOGGED TABLE IF NOT EXISTS send_budget_chats (
        bot text NOT NULL,
        chat text NOT NULL,
        next_at double precision NOT NULL,
        recent double precision[] NOT NULL,
        expires double precision NOT NULL,
        PRIMARY KEY (bot, chat)
    )""",
    "CREATE INDEX IF NOT EXISTS send_budget_chats_expires ON send_budget_chats (expires)",
    # the global row's lock orders every take of a bot, so the chat rows need none of their
    # own. A changed signature takes a new name, in a migration of its own that keeps this one:
    # CREATE OR REPLACE cannot rename parameters, and during a rolling update the old
    # processes still call the old one.
    """CREATE OR REPLACE FUNCTION send_budget_take_v1(
        p_bot text, p_chat text, p_private boolean, p_urgent boolean, p_check_chat boolean,
        p_interval double precision, p_early double precision,
        p_private_interval double precision, p_group_limit integer,
        p_group_window double precision,
        OUT granted boolean, OUT chat_busy boolean, OUT slot_at double precision,
        OUT wait_s double precision)
    LANGUAGE plpgsql AS $fn$
    DECLARE
        v_now double precision;
        v_next double precision;
        v_recent double precision[];
        v_ready double precision := 0;
        v_n integer;
    BEGIN
        granted := false;
        chat_busy := false;
        SELECT next_slot INTO slot_at FROM send_budget WHERE bot = p_bot FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO send_budget (bot, next_slot) VALUES (p_bot, 0) ON CONFLICT DO NOTHING;
            SELECT next_slot INTO slot_at FROM send_budget WHERE bot = p_bot FOR UPDATE;
        END IF;
        v_now := extract(epoch FROM clock_timestamp());
        slot_at := greatest(slot_at, v_now);
        IF NOT p_urgent AND slot_at > v_now + p_early THEN
            slot_at := slot_at - p_early;
            wait_s := slot_at - v_now;
            RETURN;
        END IF;
        SELECT next_at, recent INTO v_next, v_recent FROM send_budget_chats
         WHERE bot = p_bot AND chat = p_chat AND expires > v_now;
        IF NOT FOUND THEN
            v_next := 0;
            v_recent := '{}';
        END IF;
        IF p_private THEN
            v_ready := v_next;
        ELSE
            v_n := cardinality(v_recent);
            IF v_n >= p_group_limit THEN
                v_ready := v_recent[v_n - p_group_limit + 1] + p_group_window;
            END IF;
        END IF;
        IF p_check_chat AND v_ready > slot_at THEN
            chat_busy := true;
            slot_at := v_ready;
            wait_s := v_ready - v_now;
            RETURN;
        END IF;
        UPDATE send_budget SET next_slot = slot_at + p_interval WHERE bot = p_bot;
        IF p_private THEN
            v_next := slot_at + p_private_interval;
            v_recent := '{}';
        ELSE
            v_recent := v_recent || slot_at;
            v_n := cardinality(v_recent);
            v_recent := v_recent[greatest(1, v_n - p_group_limit + 1):v_n];
            v_next := slot_at + p_group_window;
        END IF;
        INSERT INTO send_budget_chats (bot, chat, next_at, recent, expires)
        VALUES (p_bot, p_chat, v_next, v_recent, v_next)
        ON CONFLICT (bot, chat) DO UPDATE
        SET next_at = excluded.next_at, recent = excluded.recent, expires = excluded.expires;
        granted := true;
        wait_s := slot_at - v_now;
    END
    $fn$""",
)

# the key the bots before this migration lock while they create the same objects: a process
# of the old version starting during the upgrade waits for it instead of racing it
SCHEMA_LOCK_KEY = 0x636F_6F70_6275_6467  # "coopbudg"
TAKE_FUNCTION = (
    "send_budget_take_v1(text, text, boolean, boolean, boolean, double precision, "
    "double precision, double precision, integer, double precision)"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
    for statement in STATEMENTS:
        # the driver's own SQL: the function's body has `:v_n`, which text() would take for a
        # parameter
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {TAKE_FUNCTION}")
    bind.exec_driver_sql("DROP TABLE IF EXISTS send_budget_chats")
    bind.exec_driver_sql("DROP TABLE IF EXISTS send_budget")
