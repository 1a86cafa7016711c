"""Desk Pemilu shared contracts: events, subjects, streams, settings, region reference data."""
