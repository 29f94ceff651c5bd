"""Event figures for the metrics endpoint, read from the database at scrape time (one value for the whole
service, whichever replica or worker is scraped)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, false, func, select

from app.events.queue import DEAD, DELIVERED, DELIVERY, OUTBOX, PENDING, now_utc


def event_figures(conn: Connection) -> dict[str, Any]:
    """{metric name: (help, label names, [(label values, value)])}, as app.observability.exposition takes.

    The counts are bounded by retention (delivered deliveries and old outbox rows are pruned)."""
    backlog = conn.execute(select(func.count()).where(OUTBOX.fanned_out == false())).scalar_one()
    by_state = dict.fromkeys((PENDING, DELIVERED, DEAD), 0)
    for state, count in conn.execute(select(DELIVERY.state, func.count()).group_by(DELIVERY.state)):
        by_state[state] = count
    oldest = conn.execute(select(func.min(DELIVERY.created_at)).where(DELIVERY.state == PENDING)).scalar()
    lag = max(0.0, (now_utc() - oldest).total_seconds()) if oldest is not None else 0.0
    return {
        "tmf629_event_outbox_backlog": (
            "Events committed but not yet fanned out to subscribers",
            [],
            [((), backlog)],
        ),
        "tmf629_event_deliveries": (
            "Event deliveries by state (delivered ones until retention prunes them)",
            ["state"],
            [((state,), count) for state, count in by_state.items()],
        ),
        "tmf629_event_delivery_lag_seconds": (
            "Age of the oldest pending delivery (0 when nothing waits)",
            [],
            [((), lag)],
        ),
    }
