"""The event store: events, their timeline, the webhook outbox, window states, pauses, sessions."""
