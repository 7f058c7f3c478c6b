"""``rapport mail-in``: receive BCC and forwarded mail over SMTP."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rapport.mail.listener import start_listener


def host_and_port(raw: str) -> tuple[str, int]:
    host, _colon, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("give HOST:PORT, e.g. 127.0.0.1:2525")
    return host, int(port)


class Command(BaseCommand):
    help = (
        "Run an SMTP server that logs the mail sent to the CRM's addresses (BCC a "
        "customer email to it, or forward one) on the timelines of the contacts it names. "
        "Only mail from Rapport users is taken; put it behind your mail server. "
        "SIGTERM or Ctrl+C stops it."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--bind",
            type=host_and_port,
            default=("127.0.0.1", 2525),
            help="Address and port to listen on (default: 127.0.0.1:2525).",
        )
        parser.add_argument(
            "--address",
            action="append",
            dest="addresses",
            metavar="EMAIL",
            help="An address to accept mail for; repeat for several "
            "(default: RAPPORT_MAIL_IN_ADDRESSES).",
        )

    def handle(self, *, bind: tuple[str, int], addresses: list[str] | None, **options: Any) -> None:
        addresses = addresses or settings.MAIL_IN_ADDRESSES
        if not addresses:
            raise CommandError(
                "No address to receive mail for: set RAPPORT_MAIL_IN_ADDRESSES or give --address."
            )
        host, port = bind
        stopped = threading.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_args: stopped.set())
        controller = start_listener(host, port, addresses)
        self.stdout.write(
            f"Receiving mail for {', '.join(addresses)} on {host}:{port}. Ctrl+C stops."
        )
        try:
            stopped.wait()
        finally:
            controller.stop()
