"""The reviewer console: queues, review decisions, working-day SLA clocks (issue 5)."""
