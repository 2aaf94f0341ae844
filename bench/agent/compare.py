"""Side by side: CPU and memory of idlewatch-agent and of the Python agent, on this machine.

Starts a release idlewatch-server (--open, temporary data dir), tops the machine up to about
`--processes` processes with idle `sleep`s, runs the agents at the same interval for
`--duration` seconds, and reads each one's CPU time, peak RSS and peak PSS from /proc. idlewatch-agent
runs as a lab PC runs it: the service plus one session helper (`idlewatch-agent session`,
over a Unix socket), measured apart and together. `--previous BINARY` adds an earlier build of
idlewatch-agent, run alone (one process, as builds before the service/helper split ran).
Run it under `xvfb-run -a` so that every agent has an X display to read idle time from.

    target/test-env/venv/bin/python bench/agent/compare.py [--duration 300] [--interval 5]
        [--agent target/release/idlewatch-agent] [--previous OLD/idlewatch-agent]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime (children: xprop/xprintidle calls count for the Python agent)
    return sum(int(x) for x in fields[11:15]) / TICKS


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pss_mib(pid):
    """Proportional set size: pages shared with other processes (the same executable mapped by
    the service and its helper, libc) counted in part, so two processes' figures add up to
    what they take from the machine together."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_server(data_dir):
    server = subprocess.Popen(
        [f"{ROOT}/target/release/idlewatch-server", "--open", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stderr=subprocess.PIPE, text=True,
    )
    for line in server.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return server, m.group(1)
    sys.exit("idlewatch-server did not start: build it with cargo build --release -p idlewatch-server")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--processes", type=int, default=300)
    parser.add_argument("--agent", default=f"{ROOT}/target/release/idlewatch-agent")
    parser.add_argument("--previous", help="an earlier idlewatch-agent build, run alone")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="idlewatch-agent-bench-")
    server, url = start_server(os.path.join(tmp, "data"))
    running = len([d for d in os.listdir("/proc") if d.isdigit()])
    sleepers = [subprocess.Popen(["sleep", "100000"]) for _ in range(max(0, args.processes - running - 2))]
    total = len([d for d in os.listdir("/proc") if d.isdigit()])
    watch = ["--watch", "rocky=rocky.exe,rocky", "--watch", "ansys=ansys.exe,ansys,runwb2.exe,ansysedt.exe"]
    channel = os.path.join(tmp, "session.sock")
    service_config = os.path.join(tmp, "agent.toml")
    with open(service_config, "w") as f:
        f.write(f'session_channel = "{channel}"\n')
    agents = {
        "service": subprocess.Popen(
            [args.agent, "--config", service_config, "--server", url, "--interval", str(args.interval),
             "--spool-dir", os.path.join(tmp, "spool"), "--host", "rust-agent", *watch],
            stderr=subprocess.DEVNULL),
    }
    time.sleep(1)  # the service's socket exists before the helper connects
    agents["session helper"] = subprocess.Popen(
        [args.agent, "session", "--channel", channel], stderr=subprocess.DEVNULL)
    if args.previous:
        agents["previous build, alone"] = subprocess.Popen(
            [args.previous, "--server", url, "--interval", str(args.interval),
             "--spool-dir", os.path.join(tmp, "spool-previous"), "--host", "previous-agent", *watch],
            stderr=subprocess.DEVNULL)
    agents["python agent (psutil)"] = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "bench/agent/python_agent.py"), url,
         "--interval", str(args.interval), "--host", "python-agent"],
        stderr=subprocess.DEVNULL)
    try:
        time.sleep(2 * args.interval)  # both connected and past their first snapshot
        start = {name: cpu_seconds(p.pid) for name, p in agents.items()}
        # PSS has no peak counter in /proc: sampled every second, the largest kept (for the
        # pair, the largest sum of one sample).
        peak_pss = {name: 0.0 for name in agents}
        peak_pss["service + helper"] = 0.0
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            sample = {name: pss_mib(p.pid) for name, p in agents.items()}
            sample["service + helper"] = sample["service"] + sample["session helper"]
            peak_pss = {name: max(peak_pss[name], sample[name]) for name in peak_pss}
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        results = {}
        for name, p in agents.items():
            used = cpu_seconds(p.pid) - start[name]
            results[name] = {
                "cpu_seconds_per_hour": used * 3600 / args.duration,
                "percent_of_a_core": used * 100 / args.duration,
                "peak_rss_mib": peak_rss_mib(p.pid),
                "peak_pss_mib": peak_pss[name],
            }
    finally:
        for p in list(agents.values()) + sleepers:
            p.kill()
        server.terminate()
        server.wait()
    results["service + helper"] = {
        key: results["service"][key] + results["session helper"][key]
        for key in ("cpu_seconds_per_hour", "percent_of_a_core", "peak_rss_mib")
    }
    results["service + helper"]["peak_pss_mib"] = peak_pss["service + helper"]
    rust, python = results["service + helper"], results["python agent (psutil)"]
    print(f"agents: {total} processes on the machine, one snapshot every {args.interval:g} s, "
          f"{args.duration:g} s measured", file=sys.stderr)
    for name, r in results.items():
        print(f"  {name:24} {r['cpu_seconds_per_hour']:7.1f} CPU s/hour ({r['percent_of_a_core']:.3f} % of a core), "
              f"peak RSS {r['peak_rss_mib']:.1f} MiB, peak PSS {r['peak_pss_mib']:.1f} MiB", file=sys.stderr)
    ratio = rust["cpu_seconds_per_hour"] / max(python["cpu_seconds_per_hour"], 1e-9)
    print(f"  idlewatch-agent (service + helper) uses {ratio:.2f} x the Python agent's CPU", file=sys.stderr)
    if args.json:
        print(json.dumps({"processes": total, "results": results, "cpu_ratio": ratio}))

if __name__ == "__main__":
    main()
