"""report.py - the benchmark's one table, as Markdown (printed as is, and written to
bench/results/latest.md).

One row per figure: the plugin's value, the same figure for the broker alone (the C
publisher's ceiling, or a broker without the plugin) and for the SDK bridge when it ran,
the ratios, the simulator's own send rate (so a reader sees when the simulator, not the
path, was the limit), the exactly-once check, the CPU each process used, and notes."""

SIM_LIMIT = 85.0        # % of one core: the simulator (one Python process) is saturated
SUB_LIMIT = 85.0        # likewise a subscriber
KEPT_PACE = 0.9         # a path delivering this share of the simulator's send rate kept up

COLUMNS = ("measurement", "transport", "QoS", "size", "n", "subscriber", "plugin",
           "broker alone", "plugin ÷ broker alone", "SDK bridge", "plugin ÷ bridge",
           "simulator sends", "plugin delivery", "CPU % of a core", "notes")


def fmt_int(v):
    return "–" if v is None else "{:,.0f}".format(v)


def fmt_rate(v):
    return "–" if v is None else "{:,.0f}/s".format(v)


def fmt_size(n):
    if n is None:
        return "–"
    return "%d KB" % (n // 1024) if n >= 1024 and n % 1024 == 0 else "%d B" % n


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "–"


def fmt_lat(s):
    if not s:
        return "–"
    return "p50 %s · p99 %s · max %s ms" % (ms(s["p50"]), ms(s["p99"]), ms(s["max"]))


def ms(v):
    return "%.2f" % v if v < 10 else "%.1f" % v if v < 100 else "%.0f" % v


OTHER_SHOWN = 10.0      # % of a core of other work on the machine worth showing


def fmt_cpu(cpu, names):
    parts = []
    for label, key in names:
        v = cpu.get(key)
        if v is not None:
            parts.append("%s %.0f" % (label, v))
    if (cpu.get("other") or 0) >= OTHER_SHOWN:
        parts.append("OTHER %.0f" % cpu["other"])
    return " · ".join(parts) or "–"


def row(**kw):
    return [str(kw.get(c, "–")) for c in COLUMNS]


def find(results, kind=None, **key):
    """The first result matching key (and, with kind, one that subscriber took part in:
    at QoS 1 each subscriber has a burst of its own)."""
    for r in results:
        if all(r.get(k) == v for k, v in key.items()) and (kind is None or kind in r["subs"]):
            return r
    return None


def sub_name(kind):
    return "C" if kind == "c" else "paho"


def sub_cpu_key(kind):
    return "csub" if kind == "c" else "paho"


def burst_notes(r, kind, who=None):
    """What a reader must know about one burst's figure for one subscriber kind."""
    notes = []
    cpu = r.get("cpu", {})
    rate = r["subs"][kind]["rate"]
    if (cpu.get("sim") or 0) >= SIM_LIMIT:
        notes.append("sim-bound (sim at %.0f%% CPU)" % cpu["sim"])
    elif rate and r.get("sim_rate") and rate >= KEPT_PACE * r["sim_rate"]:
        notes.append("sim-bound (%.0f%% of the sim's send rate)" % (100.0 * rate / r["sim_rate"]))
    if (cpu.get(sub_cpu_key(kind)) or 0) >= SUB_LIMIT:
        notes.append("subscriber-bound (%s at %.0f%% CPU)" % (sub_name(kind),
                                                             cpu[sub_cpu_key(kind)]))
    if r.get("cut"):
        if r["sent"] < r["count"]:
            notes.append("cut at the time limit: %s of %s sent" % (fmt_int(r["sent"]),
                                                                  fmt_int(r["count"])))
        else:
            notes.append("time limit reached with the last ones on their way")
    p = r.get("plugin") or {}
    if p.get("dropped") or p.get("duplicates"):
        notes.append("plugin status: dropped %d, duplicates %d" % (p["dropped"],
                                                                    p["duplicates"]))
    if r.get("unrouted"):
        notes.append("%d found no subscription in the sim" % r["unrouted"])
    if r.get("dropped", {}).get(kind):
        notes.append("broker logged 'Outgoing messages are being dropped' for this "
                     "subscriber ×%d" % r["dropped"][kind])
    return ["%s: %s" % (who, n) for n in notes] if who else notes


def throughput_rows(bench):
    rows = []
    res = bench.results
    for r in [x for x in res["throughput"] if x["source"] == "plugin"] or []:
        key = dict(qos=r["qos"], nominal=r["nominal"], count=r["count"])
        for kind, s in r["subs"].items():
            ceil = find(res["ceiling"], kind, **key)
            br = find(res["throughput"], kind, source="bridge", transport=r["transport"], **key)
            c = ceil["subs"].get(kind) if ceil else None
            b = br["subs"].get(kind) if br else None
            notes = burst_notes(r, kind)
            if c and not c["clean"]:
                notes.append("broker alone: %s" % c["check"])
            if ceil and ceil.get("dropped", {}).get(kind):
                notes.append("broker alone: broker logged dropping for this subscriber ×%d"
                             % ceil["dropped"][kind])
            if b:
                notes += burst_notes(br, kind, "bridge")
                if not b["clean"]:
                    notes.append("bridge: %s" % b["check"])
            rows.append(row(
                measurement="throughput", transport=r["transport"], QoS=r["qos"],
                size=fmt_size(r["size"]), n=fmt_int(r["count"]), subscriber=sub_name(kind),
                plugin=fmt_rate(s["rate"]),
                **{"broker alone": fmt_rate(c and c["rate"]),
                   "plugin ÷ broker alone": ratio(s["rate"], c and c["rate"]),
                   "SDK bridge": fmt_rate(b and b["rate"]) if br else "–",
                   "plugin ÷ bridge": ratio(s["rate"], b and b["rate"]) if br else "–",
                   "simulator sends": fmt_rate(r["sim_rate"]),
                   "plugin delivery": s["check"],
                   "CPU % of a core": fmt_cpu(r["cpu"], (
                       ("sim", "sim"), ("feeder", "feeder"), ("broker", "broker"),
                       (sub_name(kind), sub_cpu_key(kind)))),
                   "notes": "; ".join(notes) or "–"}))
    # Ceiling rows no plugin row refers to (throughput not run): shown on their own.
    if not res["throughput"]:
        for c in res["ceiling"]:
            for kind, s in c["subs"].items():
                rows.append(row(
                    measurement="throughput", QoS=c["qos"], size=fmt_size(c["size"]),
                    n=fmt_int(c["count"]), subscriber=sub_name(kind),
                    **{"broker alone": fmt_rate(s["rate"]), "plugin delivery": "–",
                       "simulator sends": "–",
                       "CPU % of a core": fmt_cpu(c["cpu"], (("broker", "broker"),
                                                             (sub_name(kind),
                                                              sub_cpu_key(kind)))),
                       "notes": "broker alone: %s" % s["check"]}))
    return rows


def latency_rows(bench):
    rows = []
    res = bench.results["latency"]
    for r in [x for x in res if x["source"] == "plugin"]:
        br = find(res, source="bridge", transport=r["transport"])
        for kind in ("paho", "c"):
            s = r["subs"].get(kind)
            b = br["subs"].get(kind) if br else None
            notes = []
            if s and s.get("missing"):
                notes.append("%d never arrived" % s["missing"])
            if b and b.get("missing"):
                notes.append("bridge: %d never arrived" % b["missing"])
            rows.append(row(
                measurement="added latency (notify call → receipt)", transport=r["transport"],
                QoS=r["qos"], size=fmt_size(r["size"]),
                n="%s (%d/s)" % (fmt_int(r["count"]), bench.cfg["latency_rate"]),
                subscriber=sub_name(kind), plugin=fmt_lat(s),
                **{"SDK bridge": fmt_lat(b) if br else "–",
                   "plugin ÷ bridge": ("p50 " + ratio(s["p50"], b["p50"])) if s and b else "–",
                   "plugin delivery": ("%d/%d" % (s["n"], r["sent"])) if s else "none",
                   "notes": "; ".join(notes) or "–"}))
    return rows


def idle_rows(bench):
    rows = []
    res = bench.results["idle"]
    plain = find(res, source="broker alone")
    for r in [x for x in res if x["source"] == "plugin"]:
        br = find(res, source="bridge", transport=r["transport"])
        notes = []
        if r["state"] != "online":
            notes.append("plugin state %s at the end!" % r["state"])
        rows.append(row(
            measurement="broker CPU, online and idle", transport=r["transport"],
            n="%.0f s" % r["seconds"], plugin="%.3f %%" % r["cpu"]["broker"],
            **{"broker alone": "%.3f %%" % plain["cpu"]["broker"] if plain else "–",
               "SDK bridge": ("broker %.3f %% + bridge %.3f %%" % (
                   br["cpu"]["broker"], br["cpu"]["bridge"])) if br else "–",
               "notes": "; ".join(notes) or "–"}))
    return rows


def rss_rows(bench):
    rows = []
    for r in bench.results["rss"]:
        s = r["subs"]["c"]
        notes = ["after a warm-up of %s%s" % (fmt_int(r["warmup"]),
                                              " (cut)" if r["warmup_cut"] else "")]
        notes += burst_notes(r, "c")
        rows.append(row(
            measurement="broker memory (VmRSS) before → after a burst", transport=r["transport"],
            QoS=r["qos"], size=fmt_size(r["size"]), n=fmt_int(r["count"]), subscriber="C",
            plugin="%s → %s kB (peak %s kB)" % (fmt_int(r["before_kb"]["VmRSS"]),
                                               fmt_int(r["after_kb"]["VmRSS"]),
                                               fmt_int(r["after_kb"]["VmHWM"])),
            **{"simulator sends": fmt_rate(r["sim_rate"]), "plugin delivery": s["check"],
               "CPU % of a core": fmt_cpu(r["cpu"], (("sim", "sim"), ("broker", "broker"))),
               "notes": "; ".join(notes)}))
    return rows


def rtt_rows(bench):
    rows = []
    res = bench.results["rtt"]
    titles = {"idle": "other client's round trip, path idle",
              "burst": "other client's round trip, during a burst",
              "stall": "other client's round trip, during a cloud stall"}
    for r in [x for x in res if x["source"] == "plugin"]:
        br = find(res, source="bridge", transport=r["transport"])
        for phase, title in titles.items():
            s = r["phases"].get(phase)
            b = br["phases"].get(phase) if br else None
            a = r["phases"].get("burst_alone") if phase == "burst" else None
            notes = []
            if r["notes"].get(phase):
                notes.append(r["notes"][phase])
            idle = r["phases"].get("idle")
            if s and idle and phase != "idle":
                notes.append("p99 %s× idle" % ratio(s["p99"], idle["p99"]))
            if a:
                notes.append("broker alone: " + r["notes"]["burst_alone"])
            if s and s["timeouts"]:
                notes.append("%d round trips took over 2 s" % s["timeouts"])
            if br and br["notes"].get(phase):
                notes.append("bridge: " + br["notes"][phase])
            rows.append(row(
                measurement=title, transport=r["transport"], QoS=0, size="–",
                n=fmt_int(s["n"]) if s else "0", subscriber="C", plugin=fmt_lat(s),
                **{"broker alone": fmt_lat(a) if a else "–",
                   "plugin ÷ broker alone": ("p99 " + ratio(s["p99"], a["p99"])) if s and a
                   else "–",
                   "SDK bridge": fmt_lat(b) if br else "–",
                   "plugin ÷ bridge": ("p99 " + ratio(s["p99"], b["p99"])) if s and b else "–",
                   "notes": "; ".join(notes) or "–"}))
    return rows


def table(rows):
    esc = [[c.replace("|", "\\|") for c in r] for r in rows]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in esc]
    return "\n".join(lines)


def render(bench, environment):
    rows = (throughput_rows(bench) + latency_rows(bench) + idle_rows(bench) +
            rss_rows(bench) + rtt_rows(bench))
    out = ["# mosquitto-ringcentral benchmark (%s)" % bench.mode, ""]
    out += ["- " + line for line in environment]
    others = [r["cpu"]["other"] for sec in ("throughput", "ceiling", "rss") for r in
              bench.results[sec] if r.get("cpu", {}).get("other") is not None]
    if others:
        out.append("- other work on the machine during the bursts (not this benchmark's "
                   "processes): mean %.0f%%, max %.0f%% of a core%s" % (
                       sum(others) / len(others), max(others),
                       " — figures of rows marked OTHER are disturbed" if max(others) >=
                       OTHER_SHOWN else ""))
    out.append("- SDK bridge: " + ("available (%s)" % bench.bridge_reason if bench.bridge
                                   else "not available (%s)" % bench.bridge_reason))
    for err in bench.bridge_errors:
        out.append("- SDK bridge failed, its figure is missing: " + err)
    out += ["", table(rows), ""]
    out += [
        "Rates are distinct notifications received / (last receipt − start of the first "
        "notify call); \"broker alone\" is a C publisher sending the same number of "
        "same-size messages into the same broker (plugin loaded, idle) to the same "
        "subscribers; ratios > 1 mean the plugin is faster (for latencies, slower). "
        "\"simulator sends\" is the simulator's own rate of taking notify calls "
        "(WebSocket: queueing frames to its gateway). \"cut\": the run reached its time "
        "limit; what had not arrived by then is \"unfinished\", not lost. See "
        "bench/README.md.", ""]
    return "\n".join(out)
