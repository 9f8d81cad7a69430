"""MQTT, the convention of Frigate and Home Assistant: every event transition, each window's state,
each camera's connection, Home Assistant discovery, and a pause switch per window for the queue caller.

``topics.py`` names the topics and computes the retained state messages (pure); ``discovery.py`` builds
Home Assistant's discovery configs (pure); ``commands.py`` reads what arrives on a pause topic (pure);
``cursor.py`` keeps the publisher's place in the outbox in the database; ``publisher.py`` is the
client: the outbox's consumer, like the webhook dispatcher. docs/integration.md lists the topics.
"""
