"""Text messages to petitioners: the outbox, its templates, gateways (SMPP, HTTPS) and the paper they keep."""
