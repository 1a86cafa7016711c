"""The desk's images, built from `deploy/` on a base chosen by DESK_IMAGE_BASE.

With a Docker engine the base defaults to a public Python image. With podman (typically a machine
that reaches no container registry) it defaults to a Python base made here from Debian's own
packages: debootstrap a root, import it, add python3 (deploy/images/python.Dockerfile)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from desk_pemilu.containers.engine import DEPLOY, ROOT, Engine, EngineError
from desk_pemilu.processes import SERVICES

PUBLIC_BASE = "python:3.11-slim"
DEBIAN_BASE = "localhost/debian-base:bookworm"
LOCAL_BASE = "localhost/desk-python:bookworm"
PREFIX = "localhost/desk-pemilu"
LABEL = "org.desk-pemilu.built-by=deploy"
"""On every image and build stage made from deploy/: what pruning may remove once untagged."""
IMAGES: dict[str, Path] = {"nats": DEPLOY / "nats" / "Dockerfile", "postgres": DEPLOY / "postgres" / "Dockerfile"} | {
    name: DEPLOY / "Dockerfile" for name in SERVICES}
"""Every image of the desk and the file it is built from (the services' is one, with SERVICE=name)."""


def image(name: str) -> str:
    return f"{PREFIX}/{name}"


def base_image(engine: Engine, say: Callable[[str], None] = print) -> str:
    """DESK_IMAGE_BASE, else the public Python image (Docker), else the local Debian-made one (podman),
    made first if missing."""
    if chosen := os.environ.get("DESK_IMAGE_BASE"):
        return chosen
    if not engine.podman:
        return PUBLIC_BASE
    if not engine.succeeds("image", "inspect", DEBIAN_BASE):
        say(f"making {DEBIAN_BASE} from Debian's packages (debootstrap, once; about a minute)")
        import_debian_root(engine, debian_mirror())
    if not engine.succeeds("image", "inspect", LOCAL_BASE):
        say(f"making {LOCAL_BASE}: python3 on it (once)")
        build(engine, DEPLOY / "images" / "python.Dockerfile", LOCAL_BASE, {"BASE": DEBIAN_BASE})
    return LOCAL_BASE


def apt_sources() -> list[Path]:
    return [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]


def debian_mirror(sources: Iterable[Path] | None = None) -> str:
    """DESK_DEBIAN_MIRROR, else the first Debian mirror apt uses here, else deb.debian.org."""
    if mirror := os.environ.get("DESK_DEBIAN_MIRROR"):
        return mirror
    for source in apt_sources() if sources is None else sources:
        text = source.read_text() if source.is_file() else ""
        if found := re.search(r"(?m)^(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(https?://\S+/debian)/?\s", text):
            return found.group(1)
    return "http://deb.debian.org/debian"


def import_debian_root(engine: Engine, mirror: str) -> None:
    """debootstrap a minimal bookworm root and import it as DEBIAN_BASE (needs root and debootstrap)."""
    with tempfile.TemporaryDirectory(prefix="desk-rootfs-") as root:
        bootstrap = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, mirror],
                                   capture_output=True, text=True)
        if bootstrap.returncode != 0:
            raise EngineError(f"debootstrap failed (root and `apt-get install debootstrap` needed):\n"
                              f"{bootstrap.stdout[-2000:]}{bootstrap.stderr[-2000:]}")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(engine.command("import", "-", DEBIAN_BASE), stdin=tar.stdout,
                                  env=os.environ | engine.env, capture_output=True, text=True)
        tar.wait()
        if imported.returncode != 0:
            raise EngineError(f"podman import failed:\n{imported.stderr[-2000:]}")


def ca_bundle() -> Path | None:
    """This machine's CA bundle (it may hold a TLS-intercepting proxy's certificate): the builds' pip and
    uv trust it."""
    named = [os.environ.get(n) for n in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE")]
    return next((Path(f) for f in [*named, "/etc/ssl/certs/ca-certificates.crt"] if f and Path(f).is_file()), None)


def build(engine: Engine, dockerfile: Path, tag: str, args: dict[str, str]) -> None:
    """One image from the repository as context. This machine's CA bundle goes to the build as the
    secret `ca`; podman builds on the host's network, in Docker's format (which keeps HEALTHCHECK)."""
    argv = engine.command("build", "-f", str(dockerfile), "-t", tag)
    if engine.podman:
        argv += ["--network", "host", "--format", "docker"]
    for name, value in args.items():
        argv += ["--build-arg", f"{name}={value}"]
    if ca := ca_bundle():
        argv += ["--secret", f"id=ca,src={ca}"]
    engine.run([*argv, str(ROOT)], timeout=1200)


def build_images(engine: Engine, base: str, names: Iterable[str] = IMAGES,
                 say: Callable[[str], None] = print) -> dict[str, str]:
    """Build the named images (all by default) on `base`; the layer cache keeps rebuilds short."""
    built = {}
    for name in names:
        say(f"building {image(name)} on {base}")
        args = {"BASE": base} | ({"SERVICE": name} if name in SERVICES else {})
        build(engine, IMAGES[name], image(name), args)
        built[name] = image(name)
    # what earlier builds left untagged (their build stages too), kept an hour as the layer cache
    engine.run(engine.command("image", "prune", "--force", "--filter", f"label={LABEL}", "--filter", "until=1h"))
    return built
