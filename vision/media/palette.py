"""The one colour palette: what each colour on a picture means, for OpenCV (BGR) and the web (#rrggbb).

Annotated frames (media/annotate), snapshot boxes and clip overlays (runtime/worker ``frame_boxes``,
drawn again by the clip player in the browser) and the dashboard's zone editor all take their
colours from here; the dashboard gets them as CSS variables (``css_variables``), so a zone drawn
on a snapshot and the same zone in the editor have one colour. The window states have theirs too:
the board's tiles (``--s-<status>``) and the staff zones on the live frame (media/window_states).
"""

from __future__ import annotations

BGR = tuple[int, int, int]

GREEN: BGR = (60, 180, 60)
RED: BGR = (40, 40, 220)
AMBER: BGR = (0, 170, 255)
BLUE: BGR = (220, 120, 30)
GREY: BGR = (150, 150, 150)
CYAN: BGR = (200, 200, 0)
WHITE: BGR = (255, 255, 255)

# what a colour means on a box (snapshots, clip overlays)
STAFF = GREEN            # a staff member (inside a staff zone)
PERSON = GREY            # anyone else
ALERT = RED              # a person or object that raises a behaviour (phone, eating, head down, no badge)
OBJECT = BLUE            # an object that raises nothing

# the zones of a window, by the config's key
ZONES: dict[str, BGR] = {"staff_zone": BLUE, "counter": CYAN, "citizen_zone": GREY}

# a window's state, by the status the store keeps (vision/store/windows.py): occupied, vacant, paused,
# closed as the hall says it, and what the board adds (camera offline, no data yet)
STATES: dict[str, BGR] = {
    "staffed": (50, 125, 46),        # occupied
    "unattended": (40, 40, 198),     # vacant
    "late": (0, 108, 239),           # vacant when the window should have opened
    "paused": (208, 91, 109),
    "closed": (163, 147, 138),
    "offline": (79, 71, 55),
    "unknown": (195, 183, 176),
}


def web(bgr: BGR) -> str:
    """An OpenCV colour as the browser's ``#rrggbb``."""
    b, g, r = bgr
    return f"#{r:02x}{g:02x}{b:02x}"


def css_variables() -> str:
    """The palette as CSS custom properties for ``:root`` (``--zone-staff_zone: #1e78dc; ...``)."""
    named = {**{f"zone-{k}": v for k, v in ZONES.items()},
             "staff": STAFF, "person": PERSON, "alert": ALERT, "object": OBJECT,
             **{f"s-{k}": v for k, v in STATES.items()}}
    return " ".join(f"--{name}: {web(bgr)};" for name, bgr in named.items())
