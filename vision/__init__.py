"""hallmonitor's engine: capture, detect, observe, rules, events, store."""

__version__ = "0.1.0"
