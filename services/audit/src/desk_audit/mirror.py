"""The auditors' copy: a JetStream mirror of the desk's event stream on the auditors' own nats-server.

Their server connects to the desk's as a leaf node with the desk's `mirror` NATS user (which may do
nothing but feed this mirror) and keeps its own JetStream domain; the mirror reaches the desk's
JetStream through the desk's domain (`$JS.<domain>.API`). A mirror keeps every message's sequence,
stored time, subject, data and `Nats-Msg-Id`, so the seals verify on it as on the original; once
copied, nothing the desk does changes it. The auditors' server configuration, for example:

    listen: 127.0.0.1:4222
    jetstream { store_dir: /var/lib/nats-auditor, domain: auditor }
    leafnodes { remotes = [ { url: "nats-leaf://mirror:<password>@desk.example:7422" } ] }
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ExternalStream, StorageType, StreamConfig, StreamInfo, StreamSource
from nats.js.errors import NotFoundError


def mirror_config(name: str, source: str, domain: str) -> StreamConfig:
    return StreamConfig(name=name, description=f"The auditors' mirror of {source} (JetStream domain {domain}).",
                        storage=StorageType.FILE, allow_direct=True, deny_delete=True, deny_purge=True,
                        mirror=StreamSource(name=source, external=ExternalStream(api=f"$JS.{domain}.API")))


async def ensure_mirror(js: JetStreamContext, name: str, source: str, domain: str) -> StreamInfo:
    """The mirror, created if missing; an existing stream of that name must mirror the same source."""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return await js.add_stream(mirror_config(name, source, domain))
    mirrored = info.config.mirror
    if mirrored is None or mirrored.name != source:
        raise ValueError(f"stream {name} exists and is not a mirror of {source}")
    return info
