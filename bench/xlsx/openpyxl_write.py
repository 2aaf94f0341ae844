"""The same Snapshots rows written by openpyxl (write-only mode), for comparison with
idlewatch-xlsx-bench: time and peak RSS.

    target/test-env/venv/bin/python bench/xlsx/openpyxl_write.py --rows 1000000 --out /tmp/py.xlsx
"""

import argparse
import datetime
import resource
import time

from openpyxl import Workbook


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default="openpyxl.xlsx")
    args = parser.parse_args()
    start = time.monotonic()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Snapshots")
    ws.append(["Received", "Captured", "Host", "Idle (s)", "User active", "CPU %", "Memory %",
               "Foreground process", "Processes", "ansys", "rocky"])
    base = datetime.datetime(2026, 11, 2)
    for i in range(args.rows):
        at = base + datetime.timedelta(seconds=5 * (i // 10))
        ws.append([at, at, f"lab-{i % 10:03}", float(i % 90), i % 3 == 0, 12.5, 40.0,
                   "code.exe", 300, "idle", "not_running"])
    wb.save(args.out)
    elapsed = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"openpyxl: {args.rows} rows in {elapsed:.1f} s ({args.rows / elapsed:.0f} rows/s); peak RSS {peak:.1f} MiB")


if __name__ == "__main__":
    main()
