"""Desk Pemilu audit: a tamper-evident log. A sealer signs what the log holds (a hash chain and
an RFC 9162 Merkle tree over every stored message), witnesses of other agencies cosign each seal
after checking it extends the last they saw, and auditors verify the log, a mirror or an export,
prove one incident's events against a seal, and export the log with its seals."""
