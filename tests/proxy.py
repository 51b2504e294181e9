#!/usr/bin/python3
"""proxy.py - a TCP proxy that can cut and heal a link, for outage tests

    proxy.py LISTEN_PORT TARGET_PORT [--mode refuse|blackhole]

Forwards 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT, one upstream
connection per client connection (stdlib asyncio only).

    SIGUSR1  cut the link. --mode refuse (default): close every connection
             and stop listening, so new connections are refused.
             --mode blackhole: keep every connection open but forward
             nothing either way, and accept new connections without ever
             forwarding (a link that went silent: no FIN, no RST).
    SIGUSR2  heal: listen and forward again; connections blackholed during
             the cut are closed (their byte streams have holes).

Each event is logged to stderr with a millisecond timestamp, e.g.
"1700000000123 cut (refuse), 2 connections closed", so a test can measure
from the heal to the first result that flows again.
"""

import asyncio
import signal
import sys
import time


def log(text):
    sys.stderr.write("%d %s\n" % (int(time.time() * 1000), text))
    sys.stderr.flush()


class Proxy:
    def __init__(self, listen, target, mode):
        self.listen = listen
        self.target = target
        self.mode = mode
        self.cut = False
        self.server = None
        self.all = {}               # id -> link: client and upstream writers

    async def start(self):
        self.server = await asyncio.start_server(self.client, "127.0.0.1", self.listen,
                                                 reuse_address=True)
        log("listening on %d, forwarding to %d" % (self.listen, self.target))

    async def pump(self, reader, writer, link):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.cut or link.get("holed"):
                    continue            # blackhole: drop silently
                if writer is not None:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close(link)

    def close(self, link):
        for key in ("client", "upstream"):
            w = link.get(key)
            if w is not None:
                try:
                    w.close()
                except Exception:
                    pass
        self.all.pop(id(link), None)

    async def client(self, reader, writer):
        link = {"client": writer, "holed": self.cut}
        self.all[id(link)] = link
        if self.cut:
            # blackhole mode: accept, read and drop everything
            await self.pump(reader, None, link)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            self.close(link)
            return
        link["upstream"] = up_writer
        await asyncio.gather(self.pump(reader, up_writer, link),
                             self.pump(up_reader, writer, link))

    def do_cut(self):
        if self.cut:
            return
        self.cut = True
        n = len(self.all)
        if self.mode == "refuse":
            for link in list(self.all.values()):
                self.close(link)
            self.server.close()
            log("cut (refuse), %d connections closed" % n)
        else:
            for link in self.all.values():
                link["holed"] = True
            log("cut (blackhole), %d connections silenced" % n)

    async def do_heal(self):
        if not self.cut:
            return
        self.cut = False
        holed = [link for link in self.all.values() if link.get("holed")]
        for link in holed:
            self.close(link)
        if self.mode == "refuse":
            await self.start()
        log("healed, %d silenced connections closed" % len(holed))


async def main():
    args = sys.argv[1:]
    mode = "refuse"
    if "--mode" in args:
        i = args.index("--mode")
        mode = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2 or mode not in ("refuse", "blackhole"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    proxy = Proxy(int(args[0]), int(args[1]), mode)
    await proxy.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, proxy.do_cut)
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(proxy.do_heal()))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
