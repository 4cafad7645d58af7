"""Messages to applicants: the SMS outbox and the gateways that deliver it."""
