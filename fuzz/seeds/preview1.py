#!/usr/bin/env python3
"""Writes the hand-made seeds of the preview1 target (fuzz/corpus/preview1/seed-*): call
sequences a real program makes, in the encoding harness/preview1.rs decodes (keep the two in
step; the encoding itself is in seeds/p1enc.py). Run from fuzz/: python3 seeds/preview1.py"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
from p1enc import FD, call, clock, fdsub, iovecs, open_, path, special  # noqa: E402


SEEDS = {
    # cat: open a file, read it into two buffers, write them to stdout, close.
    "cat": path(0, "d", "a") + open_(3, 0, 0) + iovecs(0, (0, 16), (1, 255)) + call("fd_read", FD[4], 0, 4, 1)
    + iovecs(1, (0, 16)) + call("fd_write", FD[1], 1, 1, 2) + call("fd_close", FD[4]),
    # Startup: args, environment, preopens, fdstat.
    "startup": call("args_sizes_get", 0, 1) + call("args_get", 2, 0) + call("environ_sizes_get", 3, 4)
    + call("environ_get", 5, 1) + call("fd_prestat_get", FD[3], 6) + call("fd_prestat_dir_name", FD[3], 2, 1)
    + call("fd_prestat_get", FD[4], 6) + call("fd_fdstat_get", FD[3], 7) + call("fd_fdstat_get", FD[1], 7),
    # Write a new file, seek, tell, pread, truncate, stat, remove.
    "write": path(1, "d", "f") + open_(3, 1, 1 | 4) + iovecs(0, (3, 255), (4, 16))
    + call("fd_write", FD[4], 0, 2, 1) + call("fd_seek", FD[4], 3, 0, 2) + call("fd_tell", FD[4], 3)
    + iovecs(1, (5, 16)) + call("fd_pread", FD[4], 1, 1, 4, 4) + call("fd_filestat_set_size", FD[4], 4)
    + call("fd_filestat_get", FD[4], 8) + call("fd_close", FD[4]) + call("path_unlink_file", FD[3], 1, 0),
    # Directories: mkdir, list, rename, rmdir; through a second directory descriptor.
    "dirs": path(0, "x") + call("path_create_directory", FD[3], 0, 0) + path(1, "d")
    + open_(3, 1, 2, rights=1) + call("fd_readdir", FD[4], 10, 7, 0, 9) + call("fd_readdir", FD[4], 10, 2, 1, 9)
    + path(2, "x", "d") + call("path_rename", FD[3], 1, 0, FD[3], 2, 0) + path(3, "x", "d", "a")
    + call("path_filestat_get", FD[3], 0, 3, 0, 10) + call("path_remove_directory", FD[3], 2, 0)
    + call("path_remove_directory", FD[3], 0, 0),
    # Links: symlink, readlink, link, stat without following, escapes.
    "links": path(0, "f") + path(1, "d", "a") + call("path_symlink", 1, 0, FD[3], 0, 0)
    + call("path_readlink", FD[3], 0, 0, 3, 4, 11) + call("path_link", FD[3], 0, 1, 0, FD[3], 0, 0)
    + path(2, "b", "f") + call("path_link", FD[3], 1, 1, 0, FD[3], 2, 0) + special(3, 2)
    + call("path_filestat_get", FD[3], 0, 3, 0, 12) + special(4, 3) + call("path_symlink", 4, 0, FD[3], 0, 0)
    + path(5, "l", "a") + open_(3, 5, 0) + special(6, 6) + open_(3, 6, 0, follow=1),
    # Times, flags, rights, renumber, advise, allocate, sync.
    "meta": path(0, "a") + open_(3, 0, 0) + call("fd_filestat_set_times", FD[4], 5, 6, 5)
    + call("path_filestat_set_times", FD[3], 0, 0, 0, 7, 8, 10) + call("fd_fdstat_set_flags", FD[4], 1)
    + call("fd_fdstat_set_rights", FD[4], 3, 3) + call("fd_renumber", FD[4], FD[5]) + call("fd_advise", FD[5], 1, 3, 2)
    + call("fd_allocate", FD[5], 2, 6) + call("fd_sync", FD[5]) + call("fd_datasync", FD[5])
    + call("fd_close", FD[5]),
    # Poll: a clock, stdin readable, stdout writable; clocks, random, yield.
    "poll": clock(0, 2) + fdsub(1, 1, 0) + fdsub(2, 2, 1) + clock(3, 5) + call("poll_oneoff", 0, 0, 3, 13)
    + call("poll_oneoff", 3, 1, 1, 13) + call("clock_res_get", 1, 14) + call("clock_time_get", 0, 2, 15)
    + call("random_get", 20, 5) + call("sched_yield") + call("proc_raise", 2)
    + iovecs(2, (7, 16)) + call("fd_read", FD[0], 2, 1, 16) + call("sock_accept", FD[3], 0, 17),
}

os.makedirs("corpus/preview1", exist_ok=True)
for name, body in SEEDS.items():
    for mode in (0, 1, 2):
        if mode == 2 and name not in ("startup", "poll"):
            continue
        with open(f"corpus/preview1/seed-{name}-{mode}", "wb") as f:
            f.write(bytes([mode]) + body)
