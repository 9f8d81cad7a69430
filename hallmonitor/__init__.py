"""The `hallmonitor` command: wires the engine (vision) and the dashboard, and the benches and demo."""
