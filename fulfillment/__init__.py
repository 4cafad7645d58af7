"""Domain of fulfillment: password cards, the shelf (keys and envelopes), shipping and the courier tracking service."""
