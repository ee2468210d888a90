"""What the tests' small servers share (rangeserver.py, github-api.py): the
port file a bats helper waits for, and the watchdog that ends a server whose
test is gone."""

import os
import threading
import time


def write_port_file(path, port):
    """Write port to path atomically: a reader never sees half of it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def start_watchdog(parent, lifetime):
    """End the process once the process parent is gone (when it is not 0),
    or after lifetime seconds."""

    def watch():
        end = time.monotonic() + lifetime
        while time.monotonic() < end:
            if parent:
                try:
                    os.kill(parent, 0)
                except OSError:
                    break
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
