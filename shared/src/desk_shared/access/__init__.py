"""Who may do what: agencies' API keys and the registry built from the log. Pure: no NATS, no database."""
