# A Python base made from Debian's packages alone, for machines that reach no container
# registry: BASE is a Debian image imported from a debootstrap root (see README, "Containers").
ARG BASE=localhost/debian-base:bookworm
FROM ${BASE}
LABEL org.desk-pemilu.built-by=deploy
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
