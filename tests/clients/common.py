"""Shared by the Python client scripts: where the server is and how to check."""
import sys

HOST, PORT, ROWS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def check(label, got, want):
    if got != want:
        raise AssertionError(f"{label}: got {got!r}, want {want!r}")
    print(f"ok  {label}")
