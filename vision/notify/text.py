"""The words of robot messages in the hall's language (``hall.language``: zh-CN or en)."""

from __future__ import annotations

from vision.events import EVENT_TYPES

TEXT: dict[str, dict[str, str]] = {
    "app": {"zh-CN": "窗口服务监测", "en": "Hall monitor"},
    "time": {"zh-CN": "时间", "en": "Time"},
    "camera": {"zh-CN": "摄像头", "en": "Camera"},
    "window": {"zh-CN": "窗口", "en": "Window"},
    "severity": {"zh-CN": "级别", "en": "Severity"},
    "severity_low": {"zh-CN": "低", "en": "low"},
    "severity_medium": {"zh-CN": "中", "en": "medium"},
    "severity_high": {"zh-CN": "高", "en": "high"},
    "open_event": {"zh-CN": "查看事件", "en": "Open the event"},
    "button": {"zh-CN": "查看详情", "en": "Details"},
    "snapshot": {"zh-CN": "抓拍", "en": "Snapshot"},
    "also": {"zh-CN": "同一窗口此前另有 {n} 条提醒：", "en": "{n} more alerts at this window since the last message:"},
    "also_camera": {"zh-CN": "此前另有 {n} 条提醒：", "en": "{n} more alerts since the last message:"},
    "hidden": {"zh-CN": "……另有 {n} 条，见事件列表", "en": "… and {n} more: see the events list"},
    "events_list": {"zh-CN": "事件列表", "en": "events list"},
    "count": {"zh-CN": "（共 {n} 条）", "en": " ({n} alerts)"},
    "test_title": {"zh-CN": "{hall}：群机器人已接通", "en": "{hall}: the group robot works"},
    "test_text": {"zh-CN": "这是一条测试消息。此后新的提醒会发到本群，每个窗口每 {interval} 秒最多一条。",
                  "en": "A test message. New alerts will come to this group, at most one per window every "
                        "{interval} s."},
}


def say(key: str, language: str, **values) -> str:
    words = TEXT[key]
    return words.get(language, words["zh-CN"]).format(**values)


def behaviour(event_type: str, language: str) -> str:
    """The behaviour's title, e.g. 窗口使用手机 / Phone use at window."""
    english, chinese = EVENT_TYPES.get(event_type, (event_type, event_type))
    return english if language == "en" else chinese
