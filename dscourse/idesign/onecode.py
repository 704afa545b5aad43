"""One-code-pay (一码付): one aggregate QR code (聚合码) whose URL dispatches on User-Agent.

The QR code is a short URL whose unique parameter comes from the ID service. When a payment
app's built-in browser opens it, the server recognises the app from the ``User-Agent``
header and starts that channel's in-app H5 payment (WeChat JSAPI payment, Alipay
mobile-website payment, QQ Wallet official-account payment, ...). The order itself is
created only after the scan, with the user's id. The UA markers below are the tokens these
apps' browsers conventionally include; they are examples, not a specification.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import allowed

CHANNELS: tuple[tuple[str, str, str], ...] = (
    # (marker in the User-Agent, channel, payment product)
    ("MicroMessenger", "wechat", "JSAPI payment (JSAPI 支付)"),
    ("AlipayClient", "alipay", "mobile-website payment (手机网站支付)"),
    ("QQ/", "qq", "official-account payment (公众号支付)"),
    ("jdapp", "jd", "JD Pay H5"),
    ("UnionPay", "unionpay", "UnionPay QuickPass H5 (云闪付)"),
)


class Route(NamedTuple):
    channel: str
    product: str
    redirect: str


def detect_channel(user_agent: str) -> str | None:
    """The payment channel whose marker appears first in our list, else None."""
    if not isinstance(user_agent, str):
        raise allowed("user_agent", user_agent, "a str")
    for marker, channel, _ in CHANNELS:
        if marker in user_agent:
            return channel
    return None


def route(user_agent: str, code: str, base_url: str = "https://pay.example.com") -> Route:
    """Where the aggregate code ``code`` sends this browser (unknown apps get a help page)."""
    channel = detect_channel(user_agent)
    if channel is None:
        return Route("unsupported", "open this code in a payment app", f"{base_url}/help?c={code}")
    product = next(p for _, c, p in CHANNELS if c == channel)
    return Route(channel, product, f"{base_url}/{channel}/h5?c={code}")
