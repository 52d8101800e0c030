"""Prints, as `field=offset` lines, where this interpreter keeps the struct
fields the agent reads, found by searching the structs' memory through
ctypes for values known from Python. The names are those of PyOffsets."""

import ctypes
import sys
import threading

api = ctypes.pythonapi
api.PyInterpreterState_Head.restype = ctypes.c_void_p
api.PyThreadState_Get.restype = ctypes.c_void_p


def first_offset(base, value, limit, size=8):
    kind = ctypes.c_uint64 if size == 8 else ctypes.c_uint32
    for offset in range(0, limit, size):
        if kind.from_address(base + offset).value == value:
            return offset
    return None


class Holder:
    def method(self):
        return sys._getframe().f_code


runtime = ctypes.addressof(ctypes.c_void_p.in_dll(api, "_PyRuntime"))
interp = api.PyInterpreterState_Head()
tstate = api.PyThreadState_Get()
code = Holder().method()
found = {
    "runtime_interpreters_head": first_offset(runtime, interp, 512),
    "interp_threads_head": first_offset(interp, tstate, 256),
    "tstate_native_thread_id": first_offset(tstate, threading.get_native_id(), 512),
    "code_filename": first_offset(id(code), id(code.co_filename), 256),
    "code_qualname": first_offset(id(code), id(code.co_qualname), 256),
    "code_linetable": first_offset(id(code), id(code.co_linetable), 256),
    "code_firstlineno": first_offset(id(code), code.co_firstlineno, 128, 4),
}
for field, offset in found.items():
    print(f"{field}={offset}")
