# C types for components/knpy/runtime/hotpath/breaker_py.py (an "augmenting" .pxd: setup.py stages
# that file as breaker_c.py beside this one and Cython compiles the pair). Every count is a
# C integer; only the waiter futures stay Python objects, and they are touched only when a
# request actually has to wait.
cimport cython


cdef class _Gate:
    cdef Py_ssize_t _inflight
    cdef Py_ssize_t _capacity
    cdef Py_ssize_t _pending
    cdef object _waiters

    cdef int _release_slot(self) except -1
    cdef int _wake(self) except -1
    cdef int _compact(self) except -1


@cython.final
cdef class Release:
    cdef _Gate _gate

    @cython.locals(gate=_Gate)
    cpdef release(self)


@cython.locals(r=Release)
cdef Release _new_release(_Gate gate)


@cython.final
cdef class Breaker(_Gate):
    cdef Py_ssize_t _queue_depth
    cdef Py_ssize_t _max_concurrency
    cdef Py_ssize_t _total_slots

    cpdef Release reserve(self)


@cython.final
cdef class InfiniteBreaker(_Gate):
    cpdef Release reserve(self)
