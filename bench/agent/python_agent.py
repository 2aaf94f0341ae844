"""The Python original's agent, rebuilt for side-by-side measurement with idlewatch-agent.

It does what that agent did, the way it did it: python-socketio client, psutil, every 5 s
register-once / emit `agent_snapshot` (no ack) with the process list (pid, name, username),
idle time (xprintidle on X11, else null), CPU and memory percent, the foreground process
(xprop on X11) and the hard-coded Rocky/Ansys flags.

    python python_agent.py http://127.0.0.1:5000 [--interval 5] [--host NAME]
"""

import argparse
import os
import shutil
import socket
import subprocess
import time

import psutil
import socketio

ROCKY = {"rocky.exe", "rocky"}
ANSYS = {"ansys.exe", "ansys", "runwb2.exe", "ansysedt.exe"}
THRESHOLD = 60


def idle_seconds():
    if os.environ.get("DISPLAY") and shutil.which("xprintidle"):
        try:
            return int(subprocess.check_output(["xprintidle"], timeout=2)) / 1000.0
        except (subprocess.SubprocessError, ValueError):
            return None
    return None


def foreground_process():
    if not (os.environ.get("DISPLAY") and shutil.which("xprop")):
        return None
    try:
        active = subprocess.check_output(["xprop", "-root", "_NET_ACTIVE_WINDOW"], timeout=2).decode()
        window = active.split()[-1]
        pid_line = subprocess.check_output(["xprop", "-id", window, "_NET_WM_PID"], timeout=2).decode()
        return psutil.Process(int(pid_line.split()[-1])).name()
    except (subprocess.SubprocessError, ValueError, IndexError, psutil.Error):
        return None


def snapshot(host):
    processes = []
    names = set()
    for p in psutil.process_iter(["pid", "name", "username"]):
        info = p.info
        processes.append({"pid": info["pid"], "name": info["name"], "username": info["username"]})
        names.add((info["name"] or "").lower())
    idle = idle_seconds()
    active = idle is not None and idle < THRESHOLD
    fg = foreground_process()
    fg_lower = (fg or "").lower()
    return {
        "host": host,
        "idle_seconds": idle,
        "user_active": active,
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": psutil.virtual_memory().percent,
        "rocky_running": bool(names & ROCKY),
        "ansys_running": bool(names & ANSYS),
        "rocky_in_focus": fg_lower in ROCKY,
        "ansys_in_focus": fg_lower in ANSYS,
        "rocky_user_active": fg_lower in ROCKY and active,
        "ansys_user_active": fg_lower in ANSYS and active,
        "foreground_process": fg,
        "processes": processes,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--host", default=socket.gethostname())
    args = parser.parse_args()
    sio = socketio.Client(reconnection=True)

    @sio.event
    def connect():
        sio.emit("agent_register", {"host": args.host})

    sio.connect(args.server, transports=["websocket"])
    psutil.cpu_percent(interval=None)
    while True:
        try:
            sio.emit("agent_snapshot", snapshot(args.host))
        except socketio.exceptions.SocketIOError:
            pass
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
