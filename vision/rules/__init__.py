"""Rules: a window's stream of observations in, lifecycle events out (pure, time passed in).

``machine`` is the one dwell/grace/hysteresis/cooldown state machine every behaviour
shares; ``pause`` keeps the 暂停服务 state; ``window`` wires them per service window.
"""

from vision.rules.machine import Machine, Phase
from vision.rules.pause import PauseKeeper
from vision.rules.window import BEHAVIOURS, WindowRules, WindowState

__all__ = ["BEHAVIOURS", "Machine", "PauseKeeper", "Phase", "WindowRules", "WindowState"]
