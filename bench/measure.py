"""measure.py - turning what the subscribers wrote into figures: the exactly-once and
in-order check of one subscriber's receipts against what was sent, rates, percentiles.
Pure functions, no processes."""
import math


class Check:
    """One subscriber's receipts checked against the sent sequence.

    received    distinct sent notifications that arrived
    lost        sent notifications that never arrived although a later one did (a gap),
                plus, when the run ended normally, those missing at the end
    unfinished  when the run was cut at its time limit: those missing after the last
                one that arrived (still on their way, not counted as lost)
    duplicates  extra copies of notifications already received
    out_of_order  first copies that arrived after a notification sent later than them
    foreign     messages on the topic that were not part of this burst (should be 0)
    t_last      monotonic ns of the last receipt of a sent notification
    """

    def __init__(self, sent, receipts, cut=False):
        index = {u: i for i, u in enumerate(sent)}
        seen = bytearray(len(sent))
        self.received = self.duplicates = self.out_of_order = self.foreign = 0
        highest = -1
        self.t_last = None
        for u, t in receipts:
            i = index.get(u)
            if i is None:
                self.foreign += 1
                continue
            if seen[i]:
                self.duplicates += 1
                continue
            seen[i] = 1
            self.received += 1
            if i < highest:
                self.out_of_order += 1
            else:
                highest = i
            if self.t_last is None or t > self.t_last:
                self.t_last = t
        missing = len(sent) - self.received
        tail = len(sent) - 1 - highest
        self.unfinished = tail if cut else 0
        self.lost = missing - self.unfinished
        self.sent = len(sent)

    @property
    def clean(self):
        return (self.received == self.sent and not self.duplicates and not self.out_of_order
                and not self.foreign)

    def rate(self, t0):
        """Distinct notifications received per second, from t0 to the last receipt."""
        if not self.received or self.t_last is None or self.t_last <= t0:
            return None
        return self.received * 1e9 / (self.t_last - t0)

    def summary(self):
        if self.clean:
            return "all %d once, in order" % self.sent
        parts = ["%d/%d" % (self.received, self.sent)]
        for name in ("lost", "unfinished", "duplicates", "out_of_order", "foreign"):
            v = getattr(self, name)
            if v:
                parts.append("%s %d" % (name.replace("_", "-"), v))
        return ", ".join(parts)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def latency_stats(samples_ns):
    """{"n", "p50", "p99", "max"} in milliseconds, or None for no samples."""
    if not samples_ns:
        return None
    ms = [v / 1e6 for v in samples_ns]
    return {"n": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99),
            "max": max(ms)}
