"""Webhook mode: our own small tornado server, so that each worker also answers ``/healthz``.

PTB's ``run_webhook`` serves one route; a load balancer and a platform also need to ask each
worker whether it can serve (database reachable, content loaded). So the server here has
two routes on the one port:

* ``POST /<path of WEBHOOK_URL>``: an update from Telegram. The secret-token header must match
  (compared in constant time) or the request gets 403; the body must be an update or it gets
  400. The update joins the application's queue, which writes it to the inbox first
  (``inbox.InboxQueue``); Telegram is answered 200 when the update has been handled, or
  after HANDLED_PATIENCE (it is in the inbox either way). Neither the body nor anything of
  it is logged.
* ``GET /healthz``: 200 and ``{"status": "ok", ...}`` when the database answers and the
  content is loaded, else 503 with what is wrong.

The application's life is PTB's (initialize, post_init, start, stop, post_stop, shutdown,
post_shutdown), run here instead of by ``run_webhook``; SIGINT and SIGTERM stop it cleanly.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.error import NetworkError
from tornado.httpserver import HTTPServer

from bot.telegram.context import BotApplication
from bot.telegram.inbox import InboxApplication
from bot.telegram.settings import BotSettings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
HEALTH_TIMEOUT = 3.0  # seconds the database may take to answer a health check
HANDLED_PATIENCE = 5.0  # seconds Telegram's request waits for its update to be handled
_START_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0)  # between tries of setWebhook while starting


class _UpdateHandler(tornado.web.RequestHandler):
    """Telegram's POST of one update."""

    def initialize(self, bot_app: BotApplication, secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret

    def check_xsrf_cookie(self) -> None:
        """Telegram sends no cookie; the secret header is what authenticates it."""

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.bot_app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        if update is None:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST)
        handled = (
            self.bot_app.handled(update.update_id)
            if isinstance(self.bot_app, InboxApplication)
            else None
        )
        # In the inbox before Telegram hears it arrived: a worker killed now loses nothing.
        await self.bot_app.update_queue.put(update)
        if handled is not None:
            # Telegram sends a chat's next update once this one is answered: answering when
            # it was handled keeps each chat's updates in turn across workers. A slow one
            # (a 429 waited out) is answered anyway after a while; the inbox has it.
            await asyncio.wait([handled], timeout=HANDLED_PATIENCE)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: Any) -> None:
        """Nothing of a request (its body is a patient's message) goes to the log."""
        log.warning("a webhook request failed with %s", self.get_status())


class _HealthHandler(tornado.web.RequestHandler):
    """``GET /healthz`` for the load balancer and the platform."""

    def initialize(self, bot_app: BotApplication) -> None:
        self.bot_app = bot_app

    async def get(self) -> None:
        shared = self.bot_app.bot_data
        report: dict[str, object] = {"topics": len(shared.engine.knowledge.responses)}
        try:
            await asyncio.wait_for(
                asyncio.to_thread(shared.database.store.ping), timeout=HEALTH_TIMEOUT
            )
            report["database"] = "ok"
        except Exception as exc:  # any failure to answer is "not healthy", never a crash
            report["database"] = f"unreachable ({type(exc).__name__})"
        healthy = report["database"] == "ok" and report["topics"] != 0
        report["status"] = "ok" if healthy else "unhealthy"
        self.set_status(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(report))

    def log_exception(self, *args: Any) -> None:
        log.warning("a health check failed with %s", self.get_status())


def web_app(application: BotApplication, path: str, secret: str) -> tornado.web.Application:
    """The two routes: the webhook at ``path`` and ``/healthz``."""
    return tornado.web.Application(
        [
            (
                rf"/{re.escape(path.strip('/'))}/?",
                _UpdateHandler,
                {"bot_app": application, "secret": secret},
            ),
            (rf"{HEALTH_PATH}/?", _HealthHandler, {"bot_app": application}),
        ],
        log_function=_quiet,
    )


def _quiet(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log would name every request; only failures are worth a line."""
    if handler.get_status() >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.warning("a %s request answered %d", handler.request.method, handler.get_status())


async def serve_webhook(
    application: BotApplication, settings: BotSettings, path: str, secret: str
) -> None:
    """Run the bot in webhook mode until SIGINT or SIGTERM (or ``bot_data.stop``)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    application.bot_data.stop = stopping.set
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        if stopping.is_set():
            return
        await _set_webhook(application, settings, secret)
        await application.start()
        server = HTTPServer(web_app(application, path, secret), xheaders=True)
        server.listen(settings.port, address="0.0.0.0")  # the platform routes traffic here
        log.info("webhook server listening on port %d (health: %s)", settings.port, HEALTH_PATH)
        try:
            await stopping.wait()
        finally:
            server.stop()  # no new requests; those in flight finish
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def _set_webhook(application: BotApplication, settings: BotSettings, secret: str) -> None:
    """Register the webhook with Telegram, trying again over a network hiccup at start."""
    for pause in (*_START_PAUSES, None):
        try:
            await application.bot.set_webhook(
                url=str(settings.webhook_url),
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
            return
        except NetworkError:  # TimedOut too
            if pause is None:
                raise
            log.warning("setWebhook failed: trying again in %.0f s", pause)
            await asyncio.sleep(pause)
