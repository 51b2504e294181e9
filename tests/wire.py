"""wire.py - the sluice wire constants and packer shared by the test peers
(tests/inject.py, tests/hostile.py).

Every sluice message is one MessagePack array
[0x51CE, 3, type, batch (bin 16 or nil), ...] (docs/PROTOCOL.md).
TASKS is [0x51CE, 3, TASKS, batch, command (nil or [kind, flags, line]),
tasks]: its task list is TASKS_LIST, the field after the command.
"""

import msgpack

SIG, VERSION = 0x51CE, 3
TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END, ABANDON, LOST, PING, ACK, \
    RETRY, COMPLETE, PONG, BYE, STORED, REFUSE, DROP = range(1, 18)
TASKS_LEN, TASKS_LIST = 6, 5            # array length of TASKS, index of its list


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)
