"""The ways an alert reaches a person: webhooks, e-mail, Telegram, and SMS or WhatsApp through a
gateway. Each sender makes one attempt and says how it went (`Attempt`); it never raises for
the remote side."""
