"""Which detector classes matter at a service window, by role. Custom models join by name."""

PERSON = "person"
PHONE_LABELS = frozenset({"cell phone", "phone", "mobile phone"})
FOOD_LABELS = frozenset({
    "cup", "bottle", "wine glass", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
    "carrot", "hot dog", "pizza", "donut", "cake", "fork", "spoon", "food", "drink"})
CARD_LABELS = frozenset({"badge", "book", "card"})
HALL_OBJECTS = PHONE_LABELS | FOOD_LABELS | CARD_LABELS
