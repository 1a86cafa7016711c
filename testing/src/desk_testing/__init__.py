"""Test support for Desk Pemilu: real-server fixtures and sample events. Not shipped in any
service image; the repository's tests and benchmarks use it."""
