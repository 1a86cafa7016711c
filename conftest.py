"""Every test in the repository gets the real-server fixtures of desk_pemilu.testing."""

pytest_plugins = ["desk_pemilu.testing"]
