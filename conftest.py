"""Every test in the repository gets the real-server fixtures of desk_testing (a running system included)."""

pytest_plugins = ["desk_testing.fixtures", "desk_testing.system"]
