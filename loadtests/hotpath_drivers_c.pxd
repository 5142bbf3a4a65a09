# C types for loadtests/hotpath_drivers.py (an augmenting .pxd: hotpath_drivers_build.py
# compiles that file as loadtests.hotpath_drivers_c with these types). The hot-path classes
# are cimported from the compiled builds, so every call in the loops is a C call.
cimport cython

from knpy.runtime.hotpath.breaker_c cimport Breaker, Release
from knpy.runtime.hotpath.reqstats_c cimport RequestStats
from knpy.runtime.hotpath.windowed_c cimport _Buckets


@cython.locals(done=Py_ssize_t, _i=Py_ssize_t, r=Release)
cpdef Py_ssize_t breaker_reserve_release(Breaker b, Py_ssize_t n) except -1

@cython.locals(acc=cython.double, i=cython.longlong, now=cython.double)
cpdef double record_average(_Buckets buckets, double start, long long seconds,
                            double value) except? -1.0

@cython.locals(now=cython.double, i=cython.longlong)
cpdef double in_out(RequestStats stats, double start, long long count,
                    double step) except? -1.0
