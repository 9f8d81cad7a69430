"""Rules: a window's stream of observations in, lifecycle events out (pure, time passed in).

``machine`` is the one dwell/grace/hysteresis/cooldown state machine every behaviour
shares; ``pause`` keeps the 暂停服务 state; ``window`` wires them per service window.
"""

from .machine import Machine, Phase
from .pause import PauseKeeper
from .window import BEHAVIOURS, WindowRules, WindowState

__all__ = ["BEHAVIOURS", "Machine", "PauseKeeper", "Phase", "WindowRules", "WindowState"]
