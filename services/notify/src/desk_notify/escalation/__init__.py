"""Escalation chains (notify's): the policy, the chains as pure functions, floods, links, and the
watcher that keeps their deadlines."""
