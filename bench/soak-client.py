#!/usr/bin/env python3
"""Helpers of bench/soak.sh that need a unix-socket client (bash's /dev/tcp only speaks TCP).

  soak-client.py hostile SOCKET COUNT FIRST   COUNT misbehaving MTA connections, kinds in turn from number FIRST;
                                              prints one "KIND COUNT" line per kind used; exit 1 if the milter
                                              could not be reached (refused or no socket): that is the daemon's
                                              failure, not a hostile client's
  soak-client.py metrics SOCKET               GET /metrics from the daemon's Prometheus responder; prints the body

Only the standard library, so that any python3 runs it.
"""
import socket
import struct
import sys

TIMEOUT_S = 5

# Milter protocol flags the daemon may set in its negotiation reply (SMFIP_*): events it does not want sent.
NO_CONNECT, NO_HELO, NO_MAIL, NO_RCPT, NO_BODY, NO_HEADERS, NO_EOH, NO_DATA = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x200


def frame(command, data=b""):
    # A milter packet: 4-byte big-endian length that counts the command byte, the command, its data.
    return struct.pack(">I", len(data) + 1) + command + data


def negotiation():
    return frame(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    s.connect(path)
    return s


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the milter")
        data += chunk
    return data


def negotiate(s):
    """Sends OPTNEG and returns the protocol flags of the milter's reply."""
    s.sendall(negotiation())
    (length,) = struct.unpack(">I", read_exact(s, 4))
    reply = read_exact(s, length)
    if reply[:1] != b"O" or length < 13:
        raise ConnectionError("unexpected negotiation reply %r" % reply[:1])
    return struct.unpack(">III", reply[1:13])[2]


def envelope_and_headers(flags):
    """The commands of a message up to the body, without those the milter opted out of (sending one would be a
    protocol error of our own making, not the hostility being tested)."""
    packets = []
    if not flags & NO_CONNECT:
        packets.append(frame(b"C", b"hostile.example.net\0" + b"4" + struct.pack(">H", 25025) + b"192.0.2.66\0"))
    if not flags & NO_HELO:
        packets.append(frame(b"H", b"hostile.example.net\0"))
    if not flags & NO_MAIL:
        packets.append(frame(b"M", b"<sender@example.org>\0"))
    if not flags & NO_RCPT:
        packets.append(frame(b"R", b"<user@example.com>\0"))
    if not flags & NO_DATA:
        packets.append(frame(b"T"))
    if not flags & NO_HEADERS:
        packets.append(frame(b"L", b"From\0Hostile <sender@example.org>\0"))
        packets.append(frame(b"L", b"Subject\0hung up mid-message\0"))
    if not flags & NO_EOH:
        packets.append(frame(b"N"))
    return packets, not flags & NO_BODY


# Each kind sends its bytes and hangs up without reading what the milter says (except the negotiation reply where
# a later step depends on it). The daemon must close each of these connections and keep serving the others.
def http_request(s):
    # An HTTP client on the milter socket: "GET " read as a length is about 1.2 GB, over any packet limit.
    s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")


def oversized_length(s):
    s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"O")


def zero_length(s):
    s.sendall(b"\0\0\0\0" + b"\0\0\0\0")


def half_length(s):
    s.sendall(b"\0\0")


def half_frame(s):
    s.sendall(negotiation()[:9])


def short_negotiation(s):
    s.sendall(frame(b"O", b"\0\0"))


def unknown_command(s):
    negotiate(s)
    s.sendall(frame(b"\x7f", b"garbage"))


def half_body(s):
    # Everything up to a body chunk that declares 64 KiB and brings 1 KiB: the connection holds a message (and the
    # chain its copy) when it goes.
    packets, body = envelope_and_headers(negotiate(s))
    s.sendall(b"".join(packets))
    if body:
        s.sendall(struct.pack(">I", 65536) + b"B" + b"x" * 1024)


def gone_before_eom(s):
    # A whole message but no end of message; the replies the daemon writes meet a closed socket.
    packets, body = envelope_and_headers(negotiate(s))
    if body:
        packets.append(frame(b"B", b"hostile body line\r\n" * 200))
    s.sendall(b"".join(packets))


def silent(s):
    pass


KINDS = [
    ("http-request", http_request),
    ("oversized-length", oversized_length),
    ("zero-length", zero_length),
    ("half-length", half_length),
    ("half-frame", half_frame),
    ("short-negotiation", short_negotiation),
    ("unknown-command", unknown_command),
    ("half-body", half_body),
    ("gone-before-eom", gone_before_eom),
    ("connect-and-close", silent),
]


def hostile(path, count, first):
    used = {}
    for i in range(count):
        name, act = KINDS[(first + i) % len(KINDS)]
        try:
            s = connect(path)
        except OSError as e:
            print("cannot connect to %s: %s" % (path, e), file=sys.stderr)
            return 1
        try:
            act(s)
        except OSError:
            # The daemon may close first (that is its answer to garbage): hanging up is all that is left to do.
            pass
        finally:
            s.close()
        used[name] = used.get(name, 0) + 1
    for name, n in used.items():
        print(name, n)
    return 0


def metrics(path):
    s = connect(path)
    try:
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        response = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            response += chunk
    finally:
        s.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        print("unexpected metrics response: %r" % head[:80], file=sys.stderr)
        return 1
    sys.stdout.write(body.decode("utf-8", "replace"))
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "hostile":
        return hostile(argv[2], int(argv[3]), int(argv[4]))
    if len(argv) == 3 and argv[1] == "metrics":
        return metrics(argv[2])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
