"""The system's contracts: events, subjects, taxonomy, regions. No NATS, no database.

Importing the package registers every event type (see `events`), so `decode_event` knows them all."""

from desk_shared.contracts import events as events
