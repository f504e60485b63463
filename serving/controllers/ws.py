"""WebSockets: prices, predictions, the live command channel and /ws.

Auth: ``?token=<access token>`` or ``?api_key=<key>`` in the URL, or a first message
``{"action": "auth", "token": ...}`` / ``{"action": "auth", "api_key": ...}`` within 10 s.
Every stream reads from the hub through a bounded queue: a client that falls too far behind is
closed (1008, with the reason) and never slows the others. ``{"action": "ping"}`` answers
``{"type": "pong"}``; uvicorn also pings at the protocol level. Actions count against the caller's
rate limit; malformed JSON and unknown actions are answered with an error message, the connection
kept. A connection whose user is disabled or deleted, or whose API key is revoked, gets an error
message and is closed (4401, with the reason) at once (``serving/streamguard.py``).

Trading events (``/api/v1/ws/live`` and ``/ws``): ``{"action": "subscribe", "channels": ["trading"]}``
follows the caller's own events (no symbols needed), acknowledged with ``{"type": "subscribed",
"channels": ["trading"], "topics": [...]}``. An admin may add ``"all_users": true`` (everyone's) or
``"user_id": "<id>"`` (one user's); anyone else asking for those gets a FORBIDDEN error message. Each
event: ``{"type": "order_filled" | "trade_closed" | "portfolio_changed", "channel": "trading",
"user_id", "data": {...}, "timestamp"}`` (``pipelines.trading.events``), from whichever worker or
thread the trading runs in (through Redis when configured).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from pipelines.data.market import quote
from pipelines.data.symbols import parse_symbol
from pipelines.errors import AuthenticationError, PermissionDeniedError, TradeforgeError
from pipelines.live import Subscription, SubscriptionClosed
from pipelines.live.hub import prediction_topic, price_topic
from pipelines.trading.events import ALL_TRADING_TOPIC, trading_topic
from serving.context import Principal, get_value, set_value
from serving.providers.live import LIVE, LiveDep, LiveProvider
from serving.responses import now_stamp
from serving.streamguard import StreamGrant
from serving.wsprotocol import FRAMES_EXTENSION

__all__ = ["ws_handlers"]

AUTH_TIMEOUT_S = 10.0
CLOSE_POLICY = 1008
CLOSE_REVOKED = 4401  # the user lost access while connected
CHANNELS = ("market_data", "predictions", "trading")


def _error(message: str, code: str = "INVALID_REQUEST", **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}, **extra, "timestamp": now_stamp()}


async def _authenticate(socket: WebSocket[Any, Any, Any], feeds: LiveProvider) -> Principal | None:
    """Accept, then authenticate from the query string or the first message; None after closing."""
    await socket.accept()
    token = socket.query_params.get("token")
    key = socket.query_params.get("api_key")
    try:
        if token is None and key is None:
            first = await asyncio.wait_for(socket.receive_text(), AUTH_TIMEOUT_S)
            message = json.loads(first)
            if not isinstance(message, dict) or message.get("action") != "auth":
                raise AuthenticationError(
                    'send {"action": "auth", "token": ...} first, or ?token= in the URL'
                )
            token, key = message.get("token"), message.get("api_key")
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        if key:
            headers.append((b"x-api-key", str(key).encode()))
        principal = await asyncio.to_thread(feeds.authenticate, headers)
        if principal is None:
            raise AuthenticationError("no credentials")
    except (AuthenticationError, ValueError, TimeoutError) as exc:
        reason = str(exc) if isinstance(exc, AuthenticationError) else "authentication required"
        with suppress(Exception):
            await socket.send_json(_error(reason, "UNAUTHORIZED"))
            await socket.close(code=CLOSE_POLICY, reason=reason[:120])
        return None
    set_value(socket.scope, "principal", principal)
    set_value(socket.scope, "api_key", str(key) if key else None)
    await socket.send_json({"type": "authenticated", "user_id": principal.user_id, "timestamp": now_stamp()})
    return principal


async def _allowed(socket: WebSocket[Any, Any, Any], feeds: LiveProvider, principal: Principal) -> bool:
    decision = await feeds.rate_limit(socket.scope, principal)
    if not decision.allowed:
        await socket.send_json(
            _error(f"rate limit exceeded; retry in {decision.retry_after} s", "RATE_LIMITED")
        )
    return bool(decision.allowed)


def _direct(socket: WebSocket[Any, Any, Any], sub: Subscription) -> Subscription:
    """Let the hub write ``sub``'s messages straight to the connection where the server allows it.

    Call once the stream's own first messages are sent; see ``serving/wsprotocol.py``.
    """
    extensions: dict[str, Any] = socket.scope.get("extensions") or {}
    sink = extensions.get(FRAMES_EXTENSION)
    if sink is not None:
        sub.attach(sink)
    return sub


async def _pump(socket: WebSocket[Any, Any, Any], sub: Subscription, feeds: LiveProvider) -> None:
    """Forward one subscription's (already serialized) messages; close the socket if it overflows.

    A direct subscription (``_direct``) has its messages written by the hub: this only waits for
    its end."""
    try:
        while True:
            await socket.send_text(await sub.get())
    except SubscriptionClosed as closed:
        if closed.code == CLOSE_POLICY:
            feeds.metrics.slow_consumers.inc()
            with suppress(Exception):
                await socket.close(code=CLOSE_POLICY, reason=closed.reason[:120])


async def _client_messages(socket: WebSocket[Any, Any, Any], on_message: Any) -> None:
    while True:
        text = await socket.receive_text()
        try:
            message = json.loads(text)
        except ValueError:
            await socket.send_json(_error("malformed JSON", "INVALID_REQUEST"))
            continue
        if not isinstance(message, dict):
            await socket.send_json(_error("a message must be a JSON object", "INVALID_REQUEST"))
            continue
        await on_message(message)


@contextmanager
def _guarded(
    socket: WebSocket[Any, Any, Any], feeds: LiveProvider, principal: Principal
) -> Iterator[StreamGrant]:
    """The connection's grant, registered with the stream guard while the connection lasts."""
    grant = feeds.streams.open(principal, get_value(socket.scope, "api_key"))
    try:
        yield grant
    finally:
        feeds.streams.close(grant)


async def _until_revoked(socket: WebSocket[Any, Any, Any], grant: StreamGrant) -> None:
    """Wait until the user loses access, then say why and close."""
    reason = await asyncio.shield(grant.ended)
    with suppress(Exception):
        await socket.send_json(_error(reason, "UNAUTHORIZED"))
        await socket.close(code=CLOSE_REVOKED, reason=reason[:120])


async def _run(socket: WebSocket[Any, Any, Any], grant: StreamGrant, *tasks: Any) -> None:
    """Run the coroutines until the client leaves, one of them ends (an overflow closes) or the
    user loses access (closes)."""
    running = [asyncio.ensure_future(t) for t in (*tasks, _until_revoked(socket, grant))]
    try:
        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with suppress(BaseException):
                await task


async def _ping_only(socket: WebSocket[Any, Any, Any], feeds: LiveProvider, principal: Principal) -> Any:
    async def on_message(message: dict[str, Any]) -> None:
        if message.get("action") == "ping":
            await socket.send_json({"type": "pong", "timestamp": now_stamp()})
        elif await _allowed(socket, feeds, principal):
            await socket.send_json(
                _error(f"unknown action {message.get('action')!r}; this stream takes ping")
            )

    return _client_messages(socket, on_message)


@websocket("/api/v1/ws/prices/{symbol:str}", dependencies=LIVE)
async def prices(socket: WebSocket[Any, Any, Any], symbol: FromPath[str], feeds: LiveDep) -> None:
    """``price_update`` messages for ``symbol`` as bars close (the latest price first)."""
    principal = await _authenticate(socket, feeds)
    if principal is None:
        return
    try:
        name = parse_symbol(symbol).name
        first = await asyncio.to_thread(quote, feeds.settings, name)
    except TradeforgeError as exc:
        await socket.send_json(_error(str(exc), exc.code))
        await socket.close(code=CLOSE_POLICY, reason="bad symbol")
        return
    sub = feeds.live.hub.subscribe(price_topic(name))
    try:
        with _guarded(socket, feeds, principal) as grant:
            keys = ("price", "timestamp", "volume")
            await socket.send_json({"type": "price_update", "symbol": name, **{k: first[k] for k in keys}})
            _direct(socket, sub)
            await _run(socket, grant, _pump(socket, sub, feeds), await _ping_only(socket, feeds, principal))
    except WebSocketDisconnect:
        pass
    finally:
        sub.close()


@websocket("/api/v1/ws/predictions/{model_name:str}/{symbol:str}", dependencies=LIVE)
async def predictions(
    socket: WebSocket[Any, Any, Any], model_name: FromPath[str], symbol: FromPath[str], feeds: LiveDep
) -> None:
    """``prediction_update`` messages (signal, confidence, recommendation, current_price)."""
    principal = await _authenticate(socket, feeds)
    if principal is None:
        return
    live = feeds.live
    try:
        name = parse_symbol(symbol).name
        first = await asyncio.to_thread(live.publish_prediction_now, model_name, name, False)
    except TradeforgeError as exc:
        await socket.send_json(_error(str(exc), exc.code))
        await socket.close(code=CLOSE_POLICY, reason=exc.code)
        return
    sub = live.hub.subscribe(prediction_topic(model_name, name))
    live.watch(model_name, name)
    try:
        with _guarded(socket, feeds, principal) as grant:
            await socket.send_json(first)
            _direct(socket, sub)
            await _run(socket, grant, _pump(socket, sub, feeds), await _ping_only(socket, feeds, principal))
    except WebSocketDisconnect:
        pass
    finally:
        live.unwatch(model_name, name)
        sub.close()


class _Channel:
    """The subscriptions of one command connection (/api/v1/ws/live and /ws)."""

    def __init__(self, socket: WebSocket[Any, Any, Any], feeds: LiveProvider, principal: Principal) -> None:
        self.socket, self.feeds, self.principal = socket, feeds, principal
        self.subs: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self.watching: set[tuple[str, str]] = set()

    def add(self, topic: str) -> bool:
        if topic in self.subs:
            return False
        sub = _direct(self.socket, self.feeds.live.hub.subscribe(topic))  # nothing awaited between
        self.subs[topic] = (sub, asyncio.ensure_future(_pump(self.socket, sub, self.feeds)))
        return True

    def remove(self, topic: str) -> bool:
        entry = self.subs.pop(topic, None)
        if entry is None:
            return False
        entry[0].close()
        entry[1].cancel()
        return True

    def close(self) -> None:
        for topic in list(self.subs):
            self.remove(topic)
        for model, symbol in self.watching:
            self.feeds.live.unwatch(model, symbol)

    async def predict(self, model: str, symbol: str) -> None:
        try:
            update = await asyncio.to_thread(self.feeds.live.publish_prediction_now, model, symbol, False)
            await self.socket.send_json(update)
        except TradeforgeError as exc:
            await self.socket.send_json(_error(str(exc), exc.code, action="predict"))


def _symbols(message: dict[str, Any]) -> list[str]:
    raw = message.get("symbols") if "symbols" in message else [message.get("symbol")]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s for s in raw):
        raise ValueError("give 'symbol' (a string) or 'symbols' (a non-empty list of strings)")
    return [parse_symbol(s).name for s in raw]


def _channels(message: dict[str, Any]) -> list[str]:
    channels = message.get("channels") or ["market_data"]
    if not isinstance(channels, list) or not channels or not set(channels) <= set(CHANNELS):
        raise ValueError("channels must be a list of 'market_data', 'predictions' and/or 'trading'")
    return list(dict.fromkeys(channels))


def _trading_topics(principal: Principal, message: dict[str, Any]) -> list[str]:
    """The caller's trading topic; an admin's ``"all_users": true`` everyone's, ``"user_id"`` one user's."""
    everyone, user_id = message.get("all_users") is True, message.get("user_id")
    if not everyone and user_id in (None, principal.user_id):
        return [trading_topic(principal.user_id)]
    if not principal.is_admin:
        raise PermissionDeniedError("only an admin may follow other users' trading events")
    if everyone:
        return [ALL_TRADING_TOPIC]
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 64:
        raise ValueError("'user_id' must be a user id string")
    return [trading_topic(user_id)]


async def _subscription(channel: _Channel, action: str, message: dict[str, Any]) -> None:
    """Subscribe or unsubscribe the channels and symbols of ``message``, then acknowledge."""
    socket, feeds = channel.socket, channel.feeds
    channels = _channels(message)
    topics = _trading_topics(channel.principal, message) if "trading" in channels else []
    symbols = _symbols(message) if set(channels) - {"trading"} else []
    if "market_data" in channels:
        topics += [price_topic(s) for s in symbols]
    if "predictions" in channels:
        model = message.get("model")
        if not isinstance(model, str) or not model:
            model = feeds.predictions.resolve_model("lightgbm", symbols[0])
        topics += [prediction_topic(model, s) for s in symbols]
        for s in symbols:
            if action == "subscribe" and (model, s) not in channel.watching:
                channel.watching.add((model, s))
                feeds.live.watch(model, s)
            elif action == "unsubscribe" and (model, s) in channel.watching:
                channel.watching.discard((model, s))
                feeds.live.unwatch(model, s)
    for topic in topics:
        channel.add(topic) if action == "subscribe" else channel.remove(topic)
    ack = {"type": f"{action}d", "action": action, "symbols": symbols, "channels": channels}
    await socket.send_json({**ack, "topics": topics, "timestamp": now_stamp()})


async def _command_loop(socket: WebSocket[Any, Any, Any], feeds: LiveProvider, principal: Principal) -> None:
    channel = _Channel(socket, feeds, principal)

    async def on_message(message: dict[str, Any]) -> None:
        action = message.get("action")
        if action == "ping":
            await socket.send_json({"type": "pong", "timestamp": now_stamp()})
            return
        if not await _allowed(socket, feeds, principal):
            return
        try:
            if action in ("subscribe", "unsubscribe"):
                await _subscription(channel, action, message)
            elif action == "predict":
                model, symbol = message.get("model") or message.get("model_name"), message.get("symbol")
                if not isinstance(model, str) or not isinstance(symbol, str):
                    raise ValueError("predict needs 'model' and 'symbol' strings")
                await socket.send_json({"type": "ack", "action": "predict", "model": model, "symbol": symbol})
                await channel.predict(model, parse_symbol(symbol).name)
            else:
                await socket.send_json(
                    _error(f"unknown action {action!r}; actions: subscribe, unsubscribe, predict, ping")
                )
        except (ValueError, TradeforgeError) as exc:
            code = exc.code if isinstance(exc, TradeforgeError) else "INVALID_REQUEST"
            await socket.send_json(_error(str(exc), code, action=action))

    try:
        with _guarded(socket, feeds, principal) as grant:
            await _run(socket, grant, _client_messages(socket, on_message))
    except WebSocketDisconnect:
        pass
    finally:
        channel.close()


@websocket(["/api/v1/ws/live", "/ws"], dependencies=LIVE)
async def live(socket: WebSocket[Any, Any, Any], feeds: LiveDep) -> None:
    """The command channel of both client styles, one protocol: ``/api/v1/ws/live`` (subscribe /
    unsubscribe a symbol's prices, predict a model on a symbol, each acknowledged) and ``/ws``
    (``{"action": "subscribe", "channels": ["predictions", "market_data"], "symbols": [...]}``)."""
    principal = await _authenticate(socket, feeds)
    if principal is not None:
        await _command_loop(socket, feeds, principal)


ws_handlers = [prices, predictions, live]
