# cython: annotation_typing=False, cpow=True
"""Windowed aggregation: Knative's TimedFloat64Buckets and WeightedFloat64Buckets.

The autoscaler keeps one of these per revision and metric: every scrape records a value for
the current second, every tick asks for the average over the stable (60 s) and panic (6 s)
windows. Semantics follow knative/serving pkg/autoscaler/aggregation/bucketing.go:

- Time is cut into buckets of `granularity_s` (1 s by default); values recorded in the same
  bucket are summed. The buckets form a ring covering `window_s`.
- Buckets skipped between two writes count as zero. A write after a full window of silence
  resets everything, so the average starts again over a partial window.
- A write older than the window (relative to the newest write) is ignored; an older write
  still inside the window is added to its bucket.
- `TimedBuckets.window_average` divides the window total by the number of buckets covered
  (fewer while the window is still filling, or when the newest data is some seconds old),
  rounded half away from zero to 6 decimals like Knative.
- `WeightedBuckets.window_average` is an exponentially weighted sum, newest bucket first,
  with alpha = max(1 - 0.0001**(1/buckets), 0.2); not normalised and not rounded (as Knative).

This file is the pure-Python twin AND the source of the compiled build: Cython compiles it
with the C declarations in cext/windowed_c.pxd (annotations here are for readers and type
checkers; the .pxd types the C build). Keep the arithmetic plain (no Python-only helpers)
so both builds produce bit-identical floats. Times are handled as integer bucket numbers,
so no float drift accumulates across seconds.
"""

from __future__ import annotations

from array import array

# Marks "never written": far enough in the past that any real bucket is a window away,
# and small enough that bucket-number differences still fit in a signed 64-bit integer.
_NEVER = -(1 << 62)
# |now / granularity_s| must stay below 2**53 so bucket numbers are exact in a double.
_MAX_INDEX = 9007199254740992.0
# Largest finite double: `not (-x <= v <= x)` rejects NaN and infinities in one test.
_FLOAT_MAX = 1.7976931348623157e308
# 6 decimal digits, as Knative's roundToNDigits(6, ...).
_SCALE = 1e6
# Above 2**52 every double is already an integer: nothing to round.
_INTEGRAL = 4503599627370496.0
# Knative's weighted average: the weights of a full window sum to at least 1 - 0.0001,
# and the decay multiplier never drops below 0.2.
_WEIGHT_RESIDUE = 0.0001
_MIN_DECAY = 0.2
_MAX_BUCKETS = 1 << 20


def decay_multiplier(num_buckets: float) -> float:
    """Knative's computeSmoothingCoeff: max(1 - 0.0001**(1/num_buckets), 0.2)."""
    if not (0.0 < num_buckets <= _FLOAT_MAX):
        raise ValueError(f"num_buckets must be a positive number, got {num_buckets!r}")
    m = 1.0 - _WEIGHT_RESIDUE ** (1.0 / num_buckets)
    if m < _MIN_DECAY:
        return _MIN_DECAY
    return m


def _round6(x: float) -> float:
    """Round to 6 decimals, half away from zero (Go's math.Round(x*1e6)/1e6)."""
    y = x * _SCALE
    if not (-_INTEGRAL < y < _INTEGRAL):
        return y / _SCALE  # already integral (or NaN/inf): Go's Round leaves it as is
    t = int(y)  # truncates toward zero; exact because |y| < 2**52
    r = y - t  # exact: the fractional part of y
    if r >= 0.5:
        t += 1
    elif r <= -0.5:
        t -= 1
    return t / _SCALE


def _ring(i: int, n: int) -> int:
    """i mod n in [0, n), whether C (truncating) or Python (flooring) does the `%`."""
    r = i % n
    if r < 0:
        r += n
    return r


def _nanoseconds(name: str, seconds: object) -> int:
    """Validate a duration parameter and return it in whole nanoseconds (Go's Duration)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {seconds!r}")
    s = float(seconds)
    if not (0.0 < s <= 1e9):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {seconds!r}")
    ns = round(s * 1e9)
    if ns < 1:
        raise ValueError(f"{name} must be at least one nanosecond, got {seconds!r}")
    return ns


def _bucket_count(window_ns: int, granularity_ns: int) -> int:
    """ceil(window / granularity), in exact integer nanoseconds as Knative computes it."""
    n = -(-window_ns // granularity_ns)
    if n > _MAX_BUCKETS:
        raise ValueError(
            f"window_s / granularity_s gives {n} buckets; at most {_MAX_BUCKETS} are allowed"
        )
    return n


def _zeros(n: int) -> array:
    return array("d", bytes(8 * n))


class _Buckets:
    """The ring of per-bucket sums shared by the linear and the weighted average."""

    def __init__(self, window_s: float, granularity_s: float = 1.0) -> None:
        g_ns = _nanoseconds("granularity_s", granularity_s)
        w_ns = _nanoseconds("window_s", window_s)
        n = _bucket_count(w_ns, g_ns)
        self._g_ns = g_ns
        self._w_ns = w_ns
        self._granularity = g_ns / 1e9
        # Window comparisons in bucket counts, exact for any granularity: for a whole number
        # of buckets d, d * g < window <=> d < n, and d * g > window <=> d > n_floor.
        self._n = n
        self._n_floor = w_ns // g_ns
        self._buckets = _zeros(n)
        self._total = 0.0  # sum of every bucket in the ring
        self._first = _NEVER  # bucket number of the first write since the last reset
        self._last = _NEVER  # bucket number of the newest write
        self._seen = _NEVER  # newest bucket number any call has passed in

    @property
    def window_s(self) -> float:
        return self._w_ns / 1e9

    @property
    def granularity_s(self) -> float:
        return self._granularity

    @property
    def num_buckets(self) -> int:
        return self._n

    def _index(self, now: float) -> int:
        """The bucket number of time `now` (floor(now / granularity))."""
        q = now / self._granularity
        if not (-_MAX_INDEX < q < _MAX_INDEX):
            raise ValueError(f"now must be a finite time in seconds, got {now!r}")
        b = int(q)
        if b > q:
            b -= 1
        if b > self._seen:
            self._seen = b
        return b

    def record(self, now: float, value: float) -> None:
        """Add `value` to the bucket of time `now` (seconds, any monotonic clock)."""
        if not (-_FLOAT_MAX <= value <= _FLOAT_MAX):
            raise ValueError(f"value must be a finite number, got {value!r}")
        b = self._index(now)
        last = self._last
        if b != last:
            if last - b >= self._n:
                return  # older than the window before the newest write: Knative drops it
            if self._first == _NEVER or self._first > b:
                self._first = b
            if b > last:
                if b - last >= self._n:
                    # A whole window of silence: start over with a partial window.
                    self._clear()
                    self._first = b
                else:
                    # Buckets skipped since the last write hold values from a window ago.
                    n = self._n
                    k = _ring(last, n)
                    i = last
                    while i < b:
                        k += 1
                        if k == n:
                            k = 0
                        self._total -= self._buckets[k]
                        self._buckets[k] = 0.0
                        i += 1
                self._last = b
        k = _ring(b, self._n)
        self._buckets[k] += value
        self._total += value

    def _clear(self) -> None:
        i = 0
        while i < self._n:
            self._buckets[i] = 0.0
            i += 1
        self._total = 0.0

    def is_empty(self, now: float) -> bool:
        """True when nothing was recorded within the window before `now`."""
        b = self._index(now)
        return b - self._last > self._n_floor

    def resize_window(self, window_s: float, now: float | None = None) -> None:
        """Change the window length, keeping the newest buckets that still fit.

        Knative compares the newest write with the wall clock to decide whether the data is
        still current; here that reference is `now` if given, else the newest time any call
        has passed in (the autoscaler queries every tick, so that is "now" in practice).
        """
        w_ns = _nanoseconds("window_s", window_s)
        if w_ns == self._w_ns:
            return
        n_new = _bucket_count(w_ns, self._g_ns)
        ref = self._seen if now is None else self._index(now)
        n_old = self._n
        new = _zeros(n_new)
        total = 0.0
        if self._last != _NEVER and ref - self._last <= self._n_floor:
            # Copy the newest buckets that fit, newest first; shrinking drops the oldest.
            t = self._last
            keep = n_new if n_new < n_old else n_old
            j = 0
            while j < keep:
                v = self._buckets[_ring(t, n_old)]
                new[_ring(t, n_new)] = v
                total += v
                t -= 1
                j += 1
            self._first = self._last - (n_old - 1)
        else:
            self._first = _NEVER
        self._w_ns = w_ns
        self._n = n_new
        self._n_floor = w_ns // self._g_ns
        self._buckets = new
        self._total = total

    def window_average(self, now: float) -> float:
        raise NotImplementedError

    def snapshot(self, now: float) -> list[tuple[float, float]]:
        """(bucket start time, value) of the buckets still in the window, newest first.

        A diagnostic view (Knative's tests' forEachBucket); not for the hot path.
        """
        b = self._index(now)
        out: list[tuple[float, float]] = []
        if b - self._last > self._n_floor:
            return out
        count = self._n - (b - self._last) if b > self._last else self._n
        t = self._last
        j = 0
        while j < count:
            out.append((t * self._granularity, self._buckets[_ring(t, self._n)]))
            t -= 1
            j += 1
        return out


class TimedBuckets(_Buckets):
    """Buckets averaged linearly over the seconds they cover (Knative's stable/panic input)."""

    def window_average(self, now: float) -> float:
        """Average per bucket over the window ending at `now`, rounded to 6 decimals.

        While the window is still filling, divide by the buckets written so far; if the
        newest data is d buckets old, drop those d buckets and divide by the rest; after a
        whole window of silence the average is 0.
        """
        b = self._index(now)
        last = self._last
        d = b - last
        covered = last - self._first + 1
        if d <= 0:
            if covered > self._n:
                covered = self._n
            return _round6(self._total / covered)
        if d < self._n:
            n = self._n
            total = self._total
            k = _ring(last, n)
            i = 0
            while i < d:  # drop the d buckets after the newest write: a window old
                k += 1
                if k == n:
                    k = 0
                total -= self._buckets[k]
                i += 1
            if covered > n - d:
                covered = n - d
            return _round6(total / covered)
        return 0.0


class WeightedBuckets(_Buckets):
    """Buckets averaged with exponentially decaying weights, newest bucket weighted most."""

    def __init__(self, window_s: float, granularity_s: float = 1.0) -> None:
        super().__init__(window_s, granularity_s)
        self._decay = decay_multiplier(self._n)

    @property
    def decay(self) -> float:
        """The decay multiplier alpha for the current number of buckets."""
        return self._decay

    def resize_window(self, window_s: float, now: float | None = None) -> None:
        _Buckets.resize_window(self, window_s, now)
        self._decay = decay_multiplier(self._n)

    def window_average(self, now: float) -> float:
        """sum(bucket[k] * alpha * (1 - alpha)**k), k = buckets back from `now`.

        Seconds with no data since the newest write count as zero-valued buckets, so the
        newest data starts at weight alpha * (1 - alpha)**gap. Not normalised (Knative).
        """
        b = self._index(now)
        last = self._last
        if b - last > self._n_floor:
            return 0.0
        n = self._n
        count = n
        keep = 1.0 - self._decay
        weight = self._decay
        if b > last:
            gap = b - last
            weight *= keep**gap
            count -= gap
        total = 0.0
        k = _ring(last, n)
        j = 0
        while j < count:  # newest bucket first
            total += self._buckets[k] * weight
            weight *= keep
            k -= 1
            if k < 0:
                k = n - 1
            j += 1
        return total
