"""The running engine: one camera per worker, the supervisor over all of them, the wiring that starts it."""
