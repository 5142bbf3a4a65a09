# C declarations for components/knpy/runtime/hotpath/windowed_py.py (an augmenting .pxd:
# setup.py compiles that file as knpy.runtime.hotpath.windowed_c with these types).
# Every name used in an inner loop is a C variable here; check build/cext/.../windowed_c.html.
import cython

cdef long long _NEVER
cdef double _MAX_INDEX, _FLOAT_MAX, _SCALE, _INTEGRAL, _WEIGHT_RESIDUE, _MIN_DECAY
cdef long long _MAX_BUCKETS

@cython.locals(m=cython.double)
cpdef double decay_multiplier(double num_buckets) except? -1.0

@cython.locals(y=cython.double, t=cython.longlong, r=cython.double)
cdef double _round6(double x) noexcept

@cython.locals(r=cython.longlong)
cdef long long _ring(long long i, long long n) noexcept


cdef class _Buckets:
    cdef long long _g_ns, _w_ns
    cdef double _granularity
    cdef long long _n, _n_floor
    cdef double[::1] _buckets
    cdef double _total
    cdef long long _first, _last, _seen

    @cython.locals(q=cython.double, b=cython.longlong)
    cdef long long _index(self, double now) except? -1

    @cython.locals(b=cython.longlong, last=cython.longlong, n=cython.longlong,
                   i=cython.longlong, k=cython.longlong)
    cpdef void record(self, double now, double value) except *

    @cython.locals(i=cython.longlong)
    cdef void _clear(self) noexcept

    @cython.locals(b=cython.longlong)
    cpdef bint is_empty(self, double now) except -1

    @cython.locals(n_new=cython.longlong, n_old=cython.longlong, ref=cython.longlong,
                   new=cython.double[::1], total=cython.double, t=cython.longlong,
                   keep=cython.longlong, j=cython.longlong, v=cython.double)
    cpdef void resize_window(self, double window_s, object now=*) except *

    cpdef double window_average(self, double now) except? -1.0

    @cython.locals(b=cython.longlong, count=cython.longlong, t=cython.longlong,
                   j=cython.longlong)
    cpdef list snapshot(self, double now)


cdef class TimedBuckets(_Buckets):
    @cython.locals(b=cython.longlong, last=cython.longlong, d=cython.longlong,
                   covered=cython.longlong, n=cython.longlong, i=cython.longlong,
                   k=cython.longlong, total=cython.double)
    cpdef double window_average(self, double now) except? -1.0


cdef class WeightedBuckets(_Buckets):
    cdef double _decay

    cpdef void resize_window(self, double window_s, object now=*) except *

    @cython.locals(b=cython.longlong, last=cython.longlong, n=cython.longlong,
                   count=cython.longlong, keep=cython.double, weight=cython.double,
                   gap=cython.longlong, total=cython.double, k=cython.longlong,
                   j=cython.longlong)
    cpdef double window_average(self, double now) except? -1.0
