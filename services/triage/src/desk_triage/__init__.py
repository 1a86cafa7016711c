"""Desk Pemilu triage service."""
