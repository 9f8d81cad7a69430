"""The hall's database: events, their timeline, the webhook outbox, window states, pauses, account rows.

Callers open ``vision.store.database.Store``; vision/store/database.py lists the rooms it is made of.
"""
