"""The admin's webhooks page: endpoints with their state, create/rotate/disable/enable, the delivery log, replay.

Plain HTML forms (each with the session's csrf_token); a new or rotated secret is shown once, on the
page that answers the form, and never again.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from vision.errors import HallmonitorError
from vision.store.events import MESSAGE_TYPES
from vision.webhooks.endpoints import DELIVERY_STATUSES

from .api_admin import endpoints
from .api_common import windows
from .auth import actor, require
from .present import local

bp = Blueprint("webhooks_pages", __name__, url_prefix="/settings/webhooks")  # linked from the settings page

TEXT = {
    "webhooks": ("Webhooks", "Webhook 推送"), "settings": ("Settings", "设置"),
    "intro": ("Each endpoint receives every matching event as a signed POST (Standard Webhooks). "
              "See docs/integration.md for verifying the signature.",
              "每个推送地址都会收到匹配事件的签名推送请求，验签方法见集成文档。"),
    "endpoint": ("Endpoint", "推送地址"), "source": ("Source", "来源"), "filters": ("Filters", "筛选"),
    "state": ("State", "状态"), "queue": ("Queue", "队列"), "actions": ("Actions", "操作"),
    "enabled": ("enabled", "已启用"), "disabled": ("disabled", "已停用"),
    "all_types": ("all types", "全部类型"), "all_windows": ("all windows", "全部窗口"),
    "pending": ("pending", "待发送"), "delivered": ("delivered", "已送达"), "failed": ("failed", "失败"),
    "rotate": ("Rotate secret", "更换密钥"), "disable": ("Disable", "停用"), "enable": ("Enable", "启用"),
    "retry": ("Retry now", "立即重试"),
    "deliveries": ("Delivery log", "推送记录"), "replay": ("Replay", "重发"),
    "create": ("Add an endpoint", "新增推送地址"), "url": ("URL", "地址"), "types": ("Message types", "消息类型"),
    "windows": ("Windows", "窗口"), "allow_private": ("Allow a private address (receiver in the hall's own network)",
                                                       "允许内网地址（大厅内部的接收方）"),
    "timeout": ("Timeout (s)", "超时（秒）"), "add": ("Add", "添加"),
    "secret_once": ("The signing secret, shown only now; give it to the receiver:",
                    "签名密钥仅显示这一次，请交给接收方："),
    "none": ("No endpoints yet.", "尚无推送地址。"), "no_deliveries": ("No deliveries yet.", "尚无推送记录。"),
    "message": ("Message", "消息"), "status": ("Status", "状态"), "attempts": ("Attempts", "次数"),
    "code": ("HTTP", "HTTP"), "latency": ("Latency", "耗时"), "error": ("Last error", "最近错误"),
    "next": ("Next attempt", "下次尝试"), "all": ("all", "全部"), "show": ("Show", "显示"),
    "config_source": ("cameras.yaml", "配置文件"), "dashboard_source": ("dashboard", "页面"),
    "if_none": ("if none is ticked", "不勾选即全部"), "docs": ("Integration guide:", "集成文档："),
    "event.started": ("event started", "事件开始"), "event.updated": ("event updated", "事件更新"),
    "event.ended": ("event ended", "事件结束"), "event.reviewed": ("event reviewed", "事件已处置"),
    "camera.offline": ("camera offline", "摄像头离线"), "camera.online": ("camera back online", "摄像头恢复"),
    "window.paused": ("window paused", "窗口暂停服务"), "window.resumed": ("window resumed", "窗口恢复服务"),
}


def tw(key: str) -> str:
    en, zh = TEXT.get(key, (key, key))
    return en if g.get("lang") == "en" else zh


def _page(status: int = 200, *, error: str | None = None, secret: str | None = None, secret_for: str | None = None):
    eps = endpoints()
    backlog = eps.backlog()
    selected = request.args.get("hook")
    status_filter = request.args.get("status") or None
    deliveries = None
    if selected:
        try:
            deliveries = eps.deliveries(selected, status_filter if status_filter in DELIVERY_STATUSES else None, 200)
        except HallmonitorError as exc:
            error, status, selected = exc.message, exc.status, None
    return render_template(
        "webhooks.html", tw=tw, endpoints=eps.list(), backlog=backlog, selected=selected,
        status_filter=status_filter, deliveries=deliveries, message_types=MESSAGE_TYPES,
        window_ids=[w.id for w, _ in windows()], statuses=DELIVERY_STATUSES, error=error, secret=secret,
        secret_for=secret_for, form=request.form if request.method == "POST" else {}, local=local), status


@bp.get("")
@require("admin", token=False)
def page():
    return _page()


@bp.post("")
@require("admin", token=False)
def create():
    form = request.form
    try:
        timeout = float(form.get("timeout_s") or 15)
    except ValueError:
        return _page(400, error="timeout: give seconds, e.g. 15")
    try:
        endpoint, secret = endpoints().create(
            form.get("url", ""), form.getlist("types"), form.getlist("windows"),
            allow_private=form.get("allow_private") == "on", timeout_s=timeout)
    except HallmonitorError as exc:
        return _page(exc.status, error=exc.message)
    return _page(201, secret=secret, secret_for=endpoint.id)


@bp.post("/<endpoint_id>/rotate")
@require("admin", token=False)
def rotate(endpoint_id: str):
    try:
        endpoint, secret = endpoints().rotate(endpoint_id, keep_previous=True)
    except HallmonitorError as exc:
        return _page(exc.status, error=exc.message)
    return _page(secret=secret, secret_for=endpoint.id)


@bp.post("/<endpoint_id>/<action>")
@require("admin", token=False)
def switch(endpoint_id: str, action: str):
    try:
        if action == "disable":
            endpoints().disable(endpoint_id, f"disabled by {actor()}")
        elif action == "enable":
            endpoints().enable(endpoint_id)
        elif action == "retry":
            endpoints().retry_now(endpoint_id)
        else:
            return _page(404, error=f"no action {action!r}")
    except HallmonitorError as exc:
        return _page(exc.status, error=exc.message)
    return redirect(url_for(".page"))


@bp.post("/deliveries/<outbox_id>/<endpoint_id>/replay")
@require("admin", token=False)
def replay(outbox_id: str, endpoint_id: str):
    try:
        endpoints().replay(outbox_id, endpoint_id)
    except HallmonitorError as exc:
        return _page(exc.status, error=exc.message)
    return redirect(url_for(".page", hook=endpoint_id))
