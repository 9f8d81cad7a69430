"""UI text in Chinese (zh-CN, the default) and English. Templates call ``t("key")``."""

from __future__ import annotations

from flask import current_app, g, request, session

LANGUAGES = ("zh-CN", "en")

TEXT: dict[str, dict[str, str]] = {
    "app_name": {"zh-CN": "窗口服务监测", "en": "Hall monitor"},
    "login": {"zh-CN": "登录", "en": "Log in"},
    "logout": {"zh-CN": "退出", "en": "Log out"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "bad_login": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "form_expired": {"zh-CN": "页面已过期，请重试", "en": "The form expired; please try again"},
    "error": {"zh-CN": "出错了", "en": "Something went wrong"},
    "back": {"zh-CN": "返回", "en": "Back"},
}


def language() -> str:
    lang = request.args.get("lang") or session.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    return current_app.config["HALL"].hall.language


def t(key: str) -> str:
    lang = g.get("lang") or language()
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry.get("en") or key
