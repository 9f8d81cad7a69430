"""The words drawn on evidence (box labels, zone names) in the hall's language.

Boxes are stored with English labels (``staff: phone, eating``, ``cell phone 0.81``: the overlay JSON
is read by scripts too); what a person reads says them in zh-CN or English: the snapshot when it is
drawn (the hall's ``hall.language``) and the clip's player (the page's language, via ``WORDS``).
"""

from __future__ import annotations

import re

# English word -> zh-CN, for every word the worker and the detectors put in a label
WORDS: dict[str, str] = {
    "staff": "工作人员", "person": "人员", "phone": "手机", "eating": "进食", "head down": "低头",
    "no badge": "未佩戴工牌", "cell phone": "手机", "cup": "杯子", "bottle": "瓶子", "food": "食物",
    "card": "卡片", "badge": "工牌", "book": "书本", "laptop": "笔记本电脑", "keyboard": "键盘",
    "staff zone": "工作区", "counter": "台面", "citizen zone": "群众区",
}
_WORD = re.compile("|".join(sorted((re.escape(w) for w in WORDS), key=len, reverse=True)))


def say(label: str, language: str = "zh-CN") -> str:
    """``label`` in ``language``: ``staff: phone, eating`` -> ``工作人员：手机、进食`` (English unchanged)."""
    if language == "en" or not label:
        return label
    out = _WORD.sub(lambda m: WORDS[m.group(0)], label)
    return out.replace(": ", "：").replace(", ", "、")
