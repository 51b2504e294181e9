"""wire.py - the sluice wire constants and packer shared by the test peers
(tests/inject.py, tests/hostile.py).

Every sluice message is one MessagePack array
[0x51CE, 5, type, batch (bin 16 or nil), ...] (docs/PROTOCOL.md).
TASKS is [0x51CE, 5, TASKS, batch, command (nil or [kind, flags, line]),
tasks]: its task list is TASKS_LIST, the field after the command.
A RESULTS item is an array of RESULT_LEN (protocol 4): [id, attempt,
flags, status, code, elapsed_us, output, input or nil, stderr,
stderr_dropped]; result() builds one.
"""

import msgpack

SIG, VERSION = 0x51CE, 5
TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END, ABANDON, LOST, PING, ACK, \
    RETRY, COMPLETE, PONG, BYE, STORED, REFUSE, DROP, HANDBACK = range(1, 19)
TASKS_LEN, TASKS_LIST = 6, 5            # array length of TASKS, index of its list
RESULT_LEN = 10                         # fields of a RESULTS item


def result(id, output, status=0, code=0, attempt=1, flags=0, elapsed_us=1,
           input=None, stderr=b"", stderr_dropped=0):
    """One RESULTS item, its fields in wire order."""
    return [id, attempt, flags, status, code, elapsed_us, output, input,
            stderr, stderr_dropped]


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def decode(data):
    """A sluice message as a list, or None if data is not one."""
    try:
        msg = msgpack.unpackb(data, raw=False)
    except Exception:
        return None
    return msg if isinstance(msg, list) and len(msg) >= 4 and msg[0] == SIG else None
