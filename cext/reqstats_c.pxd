# C declarations for components/knpy/runtime/hotpath/reqstats_py.py (an augmenting .pxd:
# setup.py compiles that file as knpy.runtime.hotpath.reqstats_c with these types).
import cython

cdef double _FLOAT_MAX


@cython.final
cdef class RequestStats:
    cdef double _concurrency, _proxied_concurrency, _last_change
    cdef double _request_count, _proxied_count
    cdef double _concurrency_seconds, _proxied_concurrency_seconds, _seconds

    @cython.locals(dt=cython.double)
    cdef int _advance(self, double now) except -1

    cpdef void request_in(self, double now, bint proxied=*) except *
    cpdef void request_out(self, double now, bint proxied=*) except *

    @cython.locals(average=cython.double, proxied_average=cython.double)
    cpdef tuple report(self, double now)
