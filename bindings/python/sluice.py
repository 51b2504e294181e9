"""sluice - Python binding of libsluice (ctypes, no dependency beyond python3)

Three classes drive the three roles from a Python program's own loop:

    Worker      takes tasks (recv), answers them (reply)
    Ventilator  submits tasks, tells when the batch is complete
    Sink        yields each task's result exactly once

Every role has fileno() (readable when service() should be called) and
timeout() (seconds until service() is due), so it fits select, selectors or
asyncio's loop.add_reader. Nothing here blocks unless its name says so
(Ventilator.submit, Ventilator.wait, iterating a Sink).

Options are the programs' long option names, with '_' for '-':
Worker(tasks="tcp://host:5557", results="tcp://host:5558", jobs=4).
The library is found through $SLUICE_LIB, then beside this file in a source
tree (../../lib), then PREFIX/lib for an installed module, then the loader's
search path.
"""

import ctypes
import ctypes.util
import os
import select

__all__ = ["Worker", "Ventilator", "Sink", "Task", "Result", "Error",
           "STATUS_OK", "STATUS_EXIT", "STATUS_SIGNAL", "STATUS_TIMEOUT",
           "STATUS_LOST", "STATUS_ERROR"]

STATUS_OK, STATUS_EXIT, STATUS_SIGNAL, STATUS_TIMEOUT, STATUS_LOST, STATUS_ERROR = range(6)
_ROLE_VENTILATOR, _ROLE_WORKER, _ROLE_SINK = range(3)
_EAGAIN = 11


class Error(Exception):
    """A libsluice call failed; the message is the library's one-line error."""


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("SLUICE_LIB"),
                  os.path.join(here, "..", "..", "lib", "libsluice.so.0"),
                  os.path.join(here, "..", "..", "lib", "libsluice.so")]
    # an installed module lives in PREFIX/lib/python3/dist-packages
    prefix = os.path.normpath(os.path.join(here, "..", "..", ".."))
    candidates.append(os.path.join(prefix, "lib", "libsluice.so.0"))
    candidates.append(ctypes.util.find_library("sluice"))
    for path in candidates:
        if path and (os.path.exists(path) or not os.path.dirname(path)):
            try:
                return ctypes.CDLL(path, use_errno=True)
            except OSError:
                continue
    raise Error("cannot find libsluice.so (set SLUICE_LIB)")


_lib = _load()
_c = ctypes
_vp = _c.c_void_p


class _Task(_c.Structure):
    _fields_ = [("id", _c.c_uint64), ("attempt", _c.c_uint32), ("flags", _c.c_uint32),
                ("data", _c.POINTER(_c.c_uint8)), ("size", _c.c_size_t)]


class _Result(_c.Structure):
    _fields_ = [("id", _c.c_uint64), ("attempt", _c.c_uint32), ("flags", _c.c_uint32),
                ("status", _c.c_uint32), ("code", _c.c_int32), ("elapsed_us", _c.c_uint64),
                ("output", _c.POINTER(_c.c_uint8)), ("output_size", _c.c_size_t),
                ("input", _c.POINTER(_c.c_uint8)), ("input_size", _c.c_size_t),
                ("stderr", _c.POINTER(_c.c_uint8)), ("stderr_size", _c.c_size_t),
                ("stderr_dropped", _c.c_uint64)]


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_ERR = _c.c_char_p
_config_new = _fn("sluice_config_new", _vp, _c.c_int)
_config_destroy = _fn("sluice_config_destroy", None, _c.POINTER(_vp))
_config_set = _fn("sluice_config_set", _c.c_int, _vp, _c.c_char_p, _c.c_char_p, _ERR, _c.c_size_t)

_worker_new = _fn("sluice_worker_new", _vp, _vp, _ERR, _c.c_size_t)
_worker_destroy = _fn("sluice_worker_destroy", None, _c.POINTER(_vp))
_worker_fd = _fn("sluice_worker_fd", _c.c_int, _vp)
_worker_timeout = _fn("sluice_worker_timeout", _c.c_int64, _vp)
_worker_service = _fn("sluice_worker_service", _c.c_int, _vp)
_worker_recv = _fn("sluice_worker_recv", _vp, _vp, _c.POINTER(_Task))
_worker_reply = _fn("sluice_worker_reply", None, _vp, _vp, _c.c_int, _c.c_int, _c.c_char_p,
                    _c.c_size_t)
_worker_drain = _fn("sluice_worker_drain", None, _vp)

_vent_new = _fn("sluice_ventilator_new", _vp, _vp, _ERR, _c.c_size_t)
_vent_destroy = _fn("sluice_ventilator_destroy", None, _c.POINTER(_vp))
_vent_fd = _fn("sluice_ventilator_fd", _c.c_int, _vp)
_vent_timeout = _fn("sluice_ventilator_timeout", _c.c_int64, _vp)
_vent_service = _fn("sluice_ventilator_service", _c.c_int, _vp)
_vent_try_submit = _fn("sluice_ventilator_try_submit", _c.c_int, _vp, _c.c_char_p, _c.c_size_t,
                       _c.POINTER(_c.c_uint64))
_vent_close = _fn("sluice_ventilator_close", None, _vp)
_vent_status = _fn("sluice_ventilator_status", _c.c_int, _vp)
_vent_wait = _fn("sluice_ventilator_wait", _c.c_int, _vp)

_sink_new_reader = _fn("sluice_sink_new_reader", _vp, _vp, _ERR, _c.c_size_t)
_sink_destroy = _fn("sluice_sink_destroy", None, _c.POINTER(_vp))
_sink_fd = _fn("sluice_sink_fd", _c.c_int, _vp)
_sink_timeout = _fn("sluice_sink_timeout", _c.c_int64, _vp)
_sink_service = _fn("sluice_sink_service", _c.c_int, _vp)
_sink_next = _fn("sluice_sink_next", _c.c_int, _vp, _c.POINTER(_Result))
_sink_status = _fn("sluice_sink_status", _c.c_int, _vp)
_sink_settle = _fn("sluice_sink_settle", _c.c_int, _vp, _c.c_int)


def _bytes(ptr, size):
    return _c.string_at(ptr, size) if size else b""


def _config(role, options):
    """A C config for role with options set by long name; the caller destroys it."""
    config = _vp(_config_new(role))
    err = _c.create_string_buffer(256)
    for name, value in options.items():
        if value is None:
            continue
        if value is True or value is False:
            value = "1" if value else "0"
        key = name.replace("_", "-").encode()
        if _config_set(config, key, str(value).encode(), err, len(err)):
            _config_destroy(_c.byref(config))
            raise Error(err.value.decode(errors="replace"))
    return config


class Task:
    """A task taken by Worker.recv: id, attempt and payload (bytes)."""
    __slots__ = ("id", "attempt", "payload", "_job")

    def __init__(self, id, attempt, payload, job):
        self.id, self.attempt, self.payload, self._job = id, attempt, payload, job

    def __repr__(self):
        return "Task(id=%d, attempt=%d, payload=%r)" % (self.id, self.attempt, self.payload)


class Result:
    """A task's result from Sink: id, attempt, status, code, output, input,
    stderr (bytes, at most the worker's --stderr-max) and stderr_dropped."""
    __slots__ = ("id", "attempt", "status", "code", "elapsed_us", "output", "input",
                 "stderr", "stderr_dropped")

    def __init__(self, r):
        self.id, self.attempt, self.status, self.code = r.id, r.attempt, r.status, r.code
        self.elapsed_us = r.elapsed_us
        self.output = _bytes(r.output, r.output_size)
        self.input = _bytes(r.input, r.input_size) if r.input else None
        self.stderr = _bytes(r.stderr, r.stderr_size) if r.stderr_size else b""
        self.stderr_dropped = r.stderr_dropped

    def __repr__(self):
        return "Result(id=%d, status=%d, output=%r)" % (self.id, self.status, self.output)


class _Role:
    """What the three roles share: construction, fileno, timeout, service, close."""
    _calls = ()                 # its C new, destroy, fd, timeout, service
    _role = None

    def __init__(self, **options):
        config = _config(self._role, options)
        err = _c.create_string_buffer(256)
        self._self = _vp(self._calls[0](config, err, len(err)))
        # the role reads its config for as long as it lives
        self._config = config
        if not self._self:
            _config_destroy(_c.byref(self._config))
            raise Error(err.value.decode(errors="replace"))

    def _live(self):
        if not self._self:
            raise Error("%s is closed" % type(self).__name__)
        return self._self

    def fileno(self):
        """A descriptor that is readable when service() should be called."""
        return self._calls[2](self._live())

    def timeout(self):
        """Seconds until service() is next due."""
        return self._calls[3](self._live()) / 1000.0

    def service(self):
        """Do what is due without blocking. Returns True once the role has finished."""
        rc = self._calls[4](self._live())
        if rc < 0:
            raise Error("%s failed" % type(self).__name__)
        return rc == 1

    def _pause(self):
        """Block until the descriptor is readable or service is due."""
        select.select([self.fileno()], [], [], self.timeout())

    def close(self):
        """Destroy the role (bounded linger); safe to call twice."""
        if getattr(self, "_self", None):
            self._calls[1](_c.byref(self._self))
            self._self = None
            _config_destroy(_c.byref(self._config))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Worker(_Role):
    """Takes tasks when it has free slots (jobs); answer each with reply()."""
    _role = _ROLE_WORKER
    _calls = (_worker_new, _worker_destroy, _worker_fd, _worker_timeout, _worker_service)

    def recv(self):
        """The next task, or None if none is queued. Never blocks."""
        task = _Task()
        job = _worker_recv(self._live(), _c.byref(task))
        if not job:
            return None
        return Task(task.id, task.attempt, _bytes(task.data, task.size), job)

    def reply(self, task, output=b"", status=STATUS_OK, code=0):
        """Answer a task taken with recv(); output is bytes or str."""
        if task._job is None:
            raise Error("task %d was already answered" % task.id)
        if isinstance(output, str):
            output = output.encode()
        _worker_reply(self._live(), task._job, status, code, output, len(output))
        task._job = None

    def drain(self):
        """Take no more tasks; those in hand may still be answered."""
        _worker_drain(self._live())


class Ventilator(_Role):
    """Submits tasks; the batch ends after close() once every task is done."""
    _role = _ROLE_VENTILATOR
    _calls = (_vent_new, _vent_destroy, _vent_fd, _vent_timeout, _vent_service)

    def try_submit(self, data):
        """Submit one task without blocking: its id, or None if the window is full."""
        if isinstance(data, str):
            data = data.encode()
        task_id = _c.c_uint64()
        if _vent_try_submit(self._live(), data, len(data), _c.byref(task_id)) == 0:
            return task_id.value
        if _c.get_errno() == _EAGAIN:
            return None
        raise Error("submit failed: %s" % os.strerror(_c.get_errno()))

    def submit(self, data):
        """Submit one task, servicing the sockets while the window is full. Returns its id."""
        while True:
            task_id = self.try_submit(data)
            if task_id is not None:
                return task_id
            self.service()
            self._pause()

    def close_input(self):
        """No more tasks: the batch completes once every submitted task is done."""
        _vent_close(self._live())

    def status(self):
        """None while the batch runs; then its exit code (0 ok, 1 some failed, ...)."""
        rc = _vent_status(self._live())
        return None if rc < 0 else rc

    def wait(self):
        """Block until the batch completes; returns its exit code."""
        return _vent_wait(self._live())


class Sink(_Role):
    """Yields every task's result exactly once; acknowledged after it is taken."""
    _role = _ROLE_SINK
    _calls = (_sink_new_reader, _sink_destroy, _sink_fd, _sink_timeout, _sink_service)

    def _take(self):
        """(True, None) at the end, (False, result) or (False, None) if none is ready."""
        r = _Result()
        rc = _sink_next(self._live(), _c.byref(r))
        if rc < 0:
            return True, None
        return False, (Result(r) if rc == 1 else None)

    def next(self):
        """The next result, None if none is ready; raises StopIteration at the end."""
        done, result = self._take()
        if done:
            raise StopIteration
        return result

    def __iter__(self):
        """Every result, blocking between them; ends when the batch is complete."""
        while True:
            done, result = self._take()
            if done:
                return
            if result is not None:
                yield result
                continue
            self.service()
            done, result = self._take()
            if done:
                return
            if result is not None:
                yield result
            else:
                self._pause()

    def status(self):
        """None while the batch runs; then its exit code."""
        rc = _sink_status(self._live())
        return None if rc < 0 else rc

    def settle(self, max_ms=100):
        """Once finished: wait until every worker has read its last STORED
        (its receipt), at most max_ms after that STORED; close() does it.
        Returns how many workers sent no receipt."""
        return _sink_settle(self._live(), max_ms)

    def close(self):
        """Settle (once the batch is finished), then destroy; safe twice."""
        if getattr(self, "_self", None) and _sink_status(self._self) >= 0:
            _sink_settle(self._self, 100)
        super().close()
