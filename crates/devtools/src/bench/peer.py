"""A plain XMPP client (slixmpp) that benchmarks drive over stdin/stdout.

Usage: python3 peer.py JID HOST PORT CA_FILE, password on stdin's first
line. Connects to HOST:PORT with STARTTLS, trusting only CA_FILE, sends
initial presence and prints `ready`. Then one command per stdin line:

  send TAG COUNT RATE TO[,TO...]  -> sent TAG COUNT
  roster PREFIX N                 -> roster N
  mam WITH_JID|-                  -> mam COUNT TIME_NS
  ping                            -> pong
  quit                            (disconnects, exit status 0)

Incoming chat messages with a body print `recv TIME_NS BODY` at any time
(a backslash, CR or LF in a body is escaped as in Python: `\\\\`,
`\\r`, `\\n`). Any failure prints `error MESSAGE` and exits with
status 1. Every stdout line is flushed at once; logging goes to stderr.

Written for Debian's python3-slixmpp 1.8.3.
"""

import asyncio
import logging
import os
import ssl
import sys
import time
from pathlib import Path

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

# Round trips to our own loopback server; generous so that a busy machine
# or a server working through a burst does not turn into a failure.
IQ_TIMEOUT = 120
MAM_PAGE = 100
# In a burst, hand control to slixmpp's writer this often, so that the
# socket fills while later messages are built (as a client's UI loop would).
BURST_YIELD_EVERY = 50


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message):
    # Exit at once: slixmpp would otherwise retry connections forever and
    # leave tasks that keep the loop (and the process) alive.
    out("error " + " ".join(str(message).split()))
    sys.stderr.flush()
    os._exit(1)


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password, host, port, ca_file):
        super().__init__(jid, password)
        self.address_given = (host, port)
        # A fresh context, not ssl.create_default_context(): that one also
        # trusts the system's CAs, and only the test CA may be trusted.
        # PROTOCOL_TLS_CLIENT checks the certificate and the host name
        # (the JID's domain, which slixmpp passes as server_hostname).
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # slixmpp loads this into ssl_context before STARTTLS.
        self.ca_certs = Path(ca_file)
        self.quitting = False
        self.started = asyncio.get_running_loop().create_future()
        for plugin in ("xep_0030", "xep_0059", "xep_0199", "xep_0313"):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_all_auth", self.on_failed_auth)
        self.add_event_handler("ssl_invalid_chain", self.on_invalid_chain)
        self.add_event_handler("connection_failed", self.on_connection_failed)
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)

    def connect(self, address, **kwargs):
        super().connect(address, **kwargs)
        # slixmpp 1.8.3 names the TLS server after the host it dials, and
        # an IP address leaves that empty: then Python's ssl checks the
        # chain but silently no host name at all. The certificate must be
        # the JID's domain's. (Set before the connect task first runs.)
        self.default_domain = self.boundjid.host

    async def get_dns_records(self, domain, port=None):
        # With default_domain set, slixmpp resolves it before dialling and
        # takes the port from the answer (its default 5222); the server is
        # exactly the address given, nothing else.
        host, port = self.address_given
        return [(host, host, port)]

    async def on_session_start(self, _event):
        try:
            # What a client does on login: roster first, then presence.
            await self.get_roster(timeout=IQ_TIMEOUT)
        except (IqError, IqTimeout) as e:
            fail(f"roster fetch at login failed: {e!r}")
        self.send_presence()
        if not self.started.done():
            self.started.set_result(None)

    def on_message(self, msg):
        now = time.time_ns()
        if msg["type"] != "chat":
            return
        body = msg["body"]
        if body:
            body = body.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
            out(f"recv {now} {body}")

    def on_failed_auth(self, _event):
        fail(f"authentication failed for {self.boundjid.bare}")

    def on_invalid_chain(self, e):
        fail(f"TLS: server certificate not trusted: {e}")

    def on_connection_failed(self, e):
        fail(f"connection failed: {e}")

    def on_stream_error(self, e):
        fail(f"stream error: {e['condition']} {e['text']}")

    def on_disconnected(self, reason):
        if not self.quitting:
            fail(f"disconnected: {reason}")

    async def round_trip(self):
        # XEP-0199 ping to our own server. Prosody handles a session's
        # stanzas in order and slixmpp writes its queue in order, so the
        # answer also proves that everything sent before was written to
        # the socket and processed (routed, archived) by the server.
        await self["xep_0199"].send_ping(self.boundjid.host, timeout=IQ_TIMEOUT)

    async def cmd_send(self, tag, count, rate, recipients):
        tos = [slixmpp.JID(t) for t in recipients.split(",") if t]
        if not tos:
            raise ValueError("send: no recipient")
        start = time.monotonic()
        for i in range(count):
            if rate > 0:
                # Against a fixed schedule: a late wake-up shortens the next
                # wait instead of shifting every later message.
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % BURST_YIELD_EVERY == BURST_YIELD_EVERY - 1:
                await asyncio.sleep(0)
            for to in tos:
                body = f"{tag} {i} {time.time_ns()}"
                self.send_message(mto=to, mbody=body, mtype="chat")
        await self.round_trip()
        out(f"sent {tag} {count}")

    async def cmd_roster(self, prefix, n):
        domain = self.boundjid.host
        pending = [
            self.update_roster(f"{prefix}{k}@{domain}", name=f"{prefix}{k}", timeout=IQ_TIMEOUT)
            for k in range(n)
        ]
        await asyncio.gather(*pending)
        out(f"roster {n}")

    async def cmd_mam(self, with_jid):
        # Pages forward until the server says the result is complete (the
        # plugin's iterate() ignores `complete`, needs one more empty page,
        # and turns an error answer into a silent end of the archive).
        with_jid = None if with_jid == "-" else slixmpp.JID(with_jid)
        count = 0
        after = None
        while True:
            rsm = {"max": MAM_PAGE}
            if after:
                rsm["after"] = after
            iq = await self["xep_0313"].retrieve(with_jid=with_jid, rsm=rsm, timeout=IQ_TIMEOUT)
            count += len(iq["mam"]["results"])
            fin = iq["mam_fin"]
            if fin.xml.get("complete") in ("true", "1"):
                break
            after = fin["rsm"]["last"]
            if not after:
                raise ValueError("mam: incomplete page without an RSM <last/>")
        out(f"mam {count} {time.time_ns()}")

    async def cmd_ping(self):
        await self.round_trip()
        out("pong")

    async def cmd_quit(self):
        self.quitting = True
        try:
            await asyncio.wait_for(self.disconnect(), 10)
        except asyncio.TimeoutError:
            # The server did not close its side in time; ours is closed.
            pass


async def read_line(reader):
    line = await reader.readline()
    return line.decode("utf-8").strip() if line else None


async def main(argv):
    if len(argv) != 5:
        fail("usage: peer.py JID HOST PORT CA_FILE (password on stdin)")
    jid, host, port, ca_file = argv[1], argv[2], int(argv[3]), argv[4]
    loop = asyncio.get_running_loop()
    # One reader for the password and the commands alike: a buffered
    # sys.stdin.readline() could swallow command lines behind the password.
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    password = await read_line(reader)
    if not password:
        fail("no password on stdin")

    peer = Peer(jid, password, host, port, ca_file)
    peer.connect((host, port), force_starttls=True)
    try:
        await asyncio.wait_for(asyncio.shield(peer.started), 30)
    except asyncio.TimeoutError:
        fail(f"no session with {host}:{port} within 30 s")
    out("ready")

    while True:
        line = await read_line(reader)
        if line is None:
            # The driver went away: leave as cleanly as on `quit`.
            await peer.cmd_quit()
            return
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "send" and len(args) == 4:
                await peer.cmd_send(args[0], int(args[1]), float(args[2]), args[3])
            elif cmd == "roster" and len(args) == 2:
                await peer.cmd_roster(args[0], int(args[1]))
            elif cmd == "mam" and len(args) == 1:
                await peer.cmd_mam(args[0])
            elif cmd == "ping" and not args:
                await peer.cmd_ping()
            elif cmd == "quit" and not args:
                await peer.cmd_quit()
                return
            else:
                fail(f"bad command: {line}")
        except IqError as e:
            fail(f"{cmd}: error answer {e.iq['error']['condition']}: {e.iq['error']['text']}")
        except IqTimeout:
            fail(f"{cmd}: no answer within {IQ_TIMEOUT} s")
        except Exception as e:  # noqa: BLE001 -- any failure ends the run, reported on stdout
            fail(f"{cmd}: {e!r}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(sys.argv))
    sys.stdout.flush()
    sys.exit(0)
