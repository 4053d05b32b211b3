"""A sync refused by the PostgreSQL state's advisory lock names the sync that holds it (its
pid, host and start), as the local state's lock file does and docs/ci.md shows; it said
only "another retl sync is running on the state in schema retl_state"."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket

import pytest

from reverse_etl.engine.postgres import PostgresConnection, PostgresEngine
from reverse_etl.errors import LockHeldError
from reverse_etl.state.warehouse import WarehouseStateStore

pytestmark = pytest.mark.postgres


def test_the_refusal_names_the_holder(pg_db: PostgresConnection) -> None:
    first, second = PostgresEngine(pg_db), PostgresEngine(pg_db)
    try:
        holder = WarehouseStateStore(first, "retl_state")
        other = WarehouseStateStore(second, "retl_state")
        with holder.lock():
            with pytest.raises(LockHeldError) as caught, other.lock():
                pass
            message = caught.value.message
            assert message.startswith(
                "another retl sync is running on the state in schema retl_state "
                f"(pid {os.getpid()} on {socket.gethostname()} since "
            )
            assert re.search(r" since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)$", message)
            # when it began, as data (a webhook's stuck_after reads it): the lock session's
            # start, which the message names to the second
            since = caught.value.held_since
            assert since is not None and since.utcoffset() == dt.timedelta(0)
            assert since.isoformat(timespec="seconds") in message
        with other.lock():  # released with the holder's session
            pass
    finally:
        first.close()
        second.close()
