"""Every test in the repository gets the real-server fixtures of desk_testing.fixtures."""

pytest_plugins = ["desk_testing.fixtures"]
