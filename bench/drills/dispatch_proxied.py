"""``python -m bench.drills.dispatch_proxied``: ``python -m backend dispatch`` itself (the outbox dispatcher with
its channels, partner webhooks, return offers, money jobs), run on ``bench.fakes.proxy``'s event loop, which
applies ``HTTPS_PROXY`` for firebase-admin's FCM client (it ignores the variable). The provider drill points
``HTTPS_PROXY`` at a CONNECT proxy that tunnels ``fcm.googleapis.com`` to the fake FCM server; everything else
is the production worker's own code."""

import logging
import sys

from bench.fakes import proxy


def main() -> int:
    from backend.__main__ import _dispatch  # the production worker's entry, on the proxying loop

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    proxy.run(_dispatch())
    return 0


if __name__ == "__main__":
    sys.exit(main())
