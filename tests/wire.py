"""wire.py - the sluice wire constants and packer shared by the test peers
(tests/inject.py, tests/hostile.py).

Every sluice message is one MessagePack array
[0x51CE, 2, type, batch (bin 16 or nil), ...] (docs/PROTOCOL.md).
"""

import msgpack

SIG, VERSION = 0x51CE, 2
TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END, ABANDON, LOST, PING, ACK, \
    RETRY, COMPLETE, PONG, BYE = range(1, 15)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)
