"""The desk's JetStream key-value buckets, created on first use."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.kv import KeyValue

from desk_shared.runtime.settings import BusSettings

log = logging.getLogger(__name__)


async def open_bucket(js: JetStreamContext, name: str, settings: BusSettings, description: str,
                      max_age_seconds: float = 0) -> KeyValue:
    """A key-value bucket of the desk (one revision per key, file storage, replicated like the log),
    created on first use."""
    try:
        return await js.key_value(name)
    except (NotFoundError, BadRequestError):
        kv = await js.create_key_value(KeyValueConfig(bucket=name, history=1, storage=StorageType.FILE,
                                                      replicas=settings.stream_replicas, ttl=max_age_seconds or None,
                                                      description=description))
        log.info("created key-value bucket %s", name)
        return kv
