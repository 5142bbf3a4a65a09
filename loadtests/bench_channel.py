"""Channel benchmark: one InMemoryChannel with two subscriptions on the broker data plane,
durable end to end on 127.0.0.1 (the same processes as bench_broker: ingress, nats-server
JetStream file store, dispatcher, a fast sink; the channel addressed by Host).

RESULT channel_events_per_s  closed loop, N events, until both subscribers have them all
                             (each event is delivered twice: once per subscription)
RESULT channel_p99_ms        open loop at half that rate, send -> sink receive latency,
                             over the deliveries to both subscribers
"""

from __future__ import annotations

import time

from loadtests.bench_broker import (
    N_THROUGHPUT,
    closed_loop,
    latency_results,
    run_stack,
    sink_reset,
    wait_count,
)

HOST = "bench-kn-channel.bench.svc.cluster.local"
SUBSCRIBERS = 2


def contract(sink_port: int) -> dict:
    return {"channels": [{"namespace": "bench", "name": "bench"}],
            "subscriptions": [{"namespace": "bench", "name": f"s{i}", "channel": "bench",
                               "subscriber": f"http://127.0.0.1:{sink_port}/s{i}"}
                              for i in range(SUBSCRIBERS)]}


async def bench(sink_port: int, ingress_port: int) -> None:
    ok = await closed_loop(ingress_port, "/", 2000, host=HOST)  # warm up
    await wait_count(sink_port, SUBSCRIBERS * ok, 60)
    await sink_reset(sink_port)
    t0 = time.monotonic()
    accepted = await closed_loop(ingress_port, "/", N_THROUGHPUT, host=HOST)
    t_ingress = time.monotonic() - t0
    t1 = await wait_count(sink_port, SUBSCRIBERS * accepted, 120)
    eps = accepted / (t1 - t0)
    print(f"accepted {accepted}/{N_THROUGHPUT}; ingress {accepted / t_ingress:.0f}/s; "
          f"end-to-end {eps:.0f} events/s ({SUBSCRIBERS * eps:.0f} deliveries/s)", flush=True)
    await latency_results("channel", sink_port, ingress_port, "/", eps, host=HOST,
                          fanout=SUBSCRIBERS)


def main() -> None:
    run_stack(contract, bench)


if __name__ == "__main__":
    main()
