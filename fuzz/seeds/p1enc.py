"""The input encoding of the preview1 fuzz target (harness/preview1.rs), for the scripts that
write its seeds and dictionary (seeds/preview1.py, seeds/preview1_traces.py); keep it in step
with the harness.

An input is a mode byte (0 read-write mounts, 1 read-only, 2 none), then a sequence of items,
each opened by one byte `op % 49`: 0..=45 a call of hammertime::p1::FUNCTIONS with one or more
bytes per parameter (ROLES), 46 a path written into one of 8 slots, 47 an array of 4 iovecs
into one of 4 slots, 48 a poll_oneoff subscription into one of 8 slots. A parameter byte of
0xF0 or more escapes to a value of any role (any32/any64 in the harness). decode() reads an
input back as the harness does."""

FUNCTIONS = """args_get args_sizes_get environ_get environ_sizes_get clock_res_get clock_time_get fd_advise
fd_allocate fd_close fd_datasync fd_fdstat_get fd_fdstat_set_flags fd_fdstat_set_rights fd_filestat_get
fd_filestat_set_size fd_filestat_set_times fd_pread fd_prestat_get fd_prestat_dir_name fd_pwrite fd_read
fd_readdir fd_renumber fd_seek fd_sync fd_tell fd_write path_create_directory path_filestat_get
path_filestat_set_times path_link path_open path_readlink path_remove_directory path_rename path_symlink
path_unlink_file poll_oneoff proc_exit proc_raise sched_yield random_get sock_accept sock_recv sock_send
sock_shutdown""".split()
assert len(FUNCTIONS) == 46
# One letter per parameter (harness ROLES): F descriptor, P/L path slot and its length, I/N iovec
# array and count, B/Z buffer and size, O result pointer, S subscriptions, s small number,
# g flag bits, 6 offset or size, R rights, T time.
ROLES = {f: ("" if r == "-" else r) for f, r in zip(FUNCTIONS, """OB OO OB OO sO s6O F66s F66 F F FO Fg
FRR FO F6 FTTg FIN6O FO FBZ FIN6O FINO FBZ6O FF F6sO F FO FINO FPL FgPLO FgPLTTg FgPLFPL FgPLgRRgO FPLBZO FPL
FPLFPL PLFPL FPL SBsO s s - BZ FgO FINgOO FINgO Fs""".split())}
assert len(ROLES) == 46 and ROLES["path_open"] == "FgPLgRRgO" and ROLES["sched_yield"] == ""
OP_PATH, OP_IOVECS, OP_SUB = 46, 47, 48
ESC = 0xF0

NAMES = ["a", "b", "d", "f", "l", "x", ".", "..", ""]
LETTERS = NAMES[:6]
SPECIAL = [b"a\0b", b"\xff\xfe", b"d/../../x", b"../x", b"/x", b"l/a", b"d/l/d/l/a", b"//d///a"]
FD_TABLE = [3, 3, 3, 4, 4, 5, 5, 6, 7, 0, 1, 2, 8, 9]
# A descriptor's role byte: its first index in FD_TABLE.
FD = {fd: FD_TABLE.index(fd) for fd in sorted(set(FD_TABLE))}
SIX = [0, 1, 2, 5, 16, 100, 4096, 65536]
Z = [0, 1, 8, 24, 64, 255, 256, 4096]
LENS = [0, 1, 16, 255, 256, 4096, 2**32 - 1, 65536]
ALL_RIGHTS, NO_WRITE = 0x1FFF_FFFF, 0x1FFF_FFBF
TIMEOUTS = [0, 1, 1000, 1_000_000, 1_000_000_000, 2**64 - 1]
CLOCK_IDS = 5  # 0..=3 and one unknown

# Guest memory layout.
PATHS, PATH_SLOT, IOVECS, IOVEC_SLOT, BUFS, SUBS, OUT, PAGE = 0x1000, 128, 0x2000, 32, 0x3000, 0x8000, 0x9000, 0x10000
M32, M64 = 2**32 - 1, 2**64 - 1
ANY32_TABLE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 64, M32]
ANY32_PTRS = [PAGE - 1, PAGE - 4, PAGE - 8, PAGE, M32, 0x8000_0000, 1, 3]
ANY64_TABLE = [0, 1, M64, 2**63 - 1, 2**63, 2**63 - 2]

# The tree ops::seed makes under the mounts: path -> file type.
SEED_TREE = {("d",): "dir", ("d", "d"): "dir", ("b",): "dir", ("a",): "file", ("d", "a"): "file",
             ("d", "d", "b"): "file", ("d", "b"): "file", ("b", "a"): "file", ("l",): "link", ("d", "l"): "link"}

# Flag bits (witx).
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
FD_APPEND, FD_DSYNC, FD_NONBLOCK, FD_RSYNC, FD_SYNC = 1, 2, 4, 8, 16
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
# Rights bits, and hammertime's rights::FILE and rights::DIRECTORY (src/p1/abi/types.rs).
RIGHT = {n: 1 << i for i, n in enumerate(
    """fd_datasync fd_read fd_seek fd_fdstat_set_flags fd_sync fd_tell fd_write fd_advise fd_allocate
    path_create_directory path_create_file path_link_source path_link_target path_open fd_readdir
    path_readlink path_rename_source path_rename_target path_filestat_get path_filestat_set_size
    path_filestat_set_times fd_filestat_get fd_filestat_set_size fd_filestat_set_times path_symlink
    path_remove_directory path_unlink_file poll_fd_readwrite sock_shutdown sock_accept""".split())}
RIGHTS_FILE = sum(RIGHT[n] for n in """fd_datasync fd_read fd_seek fd_fdstat_set_flags fd_sync fd_tell
    fd_write fd_advise fd_allocate fd_filestat_get fd_filestat_set_size fd_filestat_set_times
    poll_fd_readwrite""".split())
RIGHTS_DIR = sum(RIGHT[n] for n in """fd_fdstat_set_flags fd_sync fd_datasync path_create_directory
    path_create_file path_link_source path_link_target path_open fd_readdir path_readlink
    path_rename_source path_rename_target path_filestat_get path_filestat_set_size
    path_filestat_set_times fd_filestat_get fd_filestat_set_times path_symlink path_remove_directory
    path_unlink_file""".split())
FD_READ, FD_WRITE, FD_READDIR = RIGHT["fd_read"], RIGHT["fd_write"], RIGHT["fd_readdir"]
# The rights for which hammertime's path_open opens for writing.
WRITE_RIGHTS = FD_WRITE | RIGHT["fd_allocate"] | RIGHT["fd_filestat_set_size"]


def call(name, *role_bytes):
    """A call: its op byte, then the bytes of its parameters (one each, or an escape)."""
    return bytes([FUNCTIONS.index(name), *role_bytes])


def path_spec(depth, lead=False, trail=False):
    """The spec byte of a path of `depth` (1..=3) names: 1 + spec % 3 names, 0x40 a leading
    slash, 0x80 a trailing one (0x20 clear: names, not a special path)."""
    flags = (0x40 if lead else 0) | (0x80 if trail else 0)
    return next(flags | k for k in range(3) if (flags | k) % 3 == depth - 1)


def path(slot, *names, lead=False, trail=False):
    """Writes the path of `names` (each of NAMES) into path slot `slot`."""
    assert 1 <= len(names) <= 3
    return bytes([OP_PATH, slot, path_spec(len(names), lead, trail), *[NAMES.index(n) for n in names]])


def special(slot, k, lead=False, trail=False):
    """Writes SPECIAL[k] into path slot `slot`."""
    return bytes([OP_PATH, slot, 0x20 | (0x40 if lead else 0) | (0x80 if trail else 0), k])


def path_text(names=None, k=None, lead=False, trail=False):
    """The bytes of the path that path()/special() write."""
    body = SPECIAL[k] if k is not None else "/".join(names).encode()
    return (b"/" if lead else b"") + body + (b"/" if trail else b"")


def iovecs(slot, *bufs, past_end=False):
    """Writes 4 iovecs (buffer index, length of LENS) into iovec slot `slot`; `past_end` makes
    the first run past the end of memory."""
    out = [OP_IOVECS, slot]
    for buf, length in (list(bufs) + [(0, 0)] * 4)[:4]:
        out += [buf, LENS.index(length)]
    return bytes(out + [0 if past_end else 1])


def clock(slot, timeout_index, abstime=False, clock_id=0):
    """Writes a clock subscription (TIMEOUTS[timeout_index], clock `clock_id`)."""
    b = next(b for b in range(256) if b % 6 == timeout_index and (b >> 4) % CLOCK_IDS == clock_id)
    return bytes([OP_SUB, slot, 0x80 if abstime else 0, b])


def fdsub(slot, kind, fd):
    """Writes an fd_read (kind 1) or fd_write (kind 2) subscription on descriptor fd (0..=7);
    kind 3 an unknown event type (fd picks 3, 4 or 5)."""
    return bytes([OP_SUB, slot, kind, fd])


def open_(dirfd, slot, oflags, fdflags=0, follow=1, out=0, rights=0):
    """path_open (F g P L g R R g O) through descriptor `dirfd` of the path in slot `slot`;
    `rights` the role byte of both rights (0 ALL_RIGHTS, 1 NO_WRITE, 2 none)."""
    return call("path_open", FD[dirfd], follow, slot, 0, oflags, rights, rights, fdflags, out)


# Values of any role: the escape byte, then the harness's any32/any64 forms.


def any32_forms(v):
    """The escapes (bytes) that decode to the 32-bit value v exactly, shortest first."""
    forms = []
    if v < 16:
        forms.append([ESC, 0, v])
    if v in ANY32_TABLE:
        forms.append([ESC, 1, ANY32_TABLE.index(v)])
    if v < 128:
        forms.append([ESC, 3, 0x80 | v])
    if v in ANY32_PTRS:
        forms.append([ESC, 7, ANY32_PTRS.index(v)])
    if v < 65536:
        forms.append([ESC, 8, v & 255, v >> 8])
    forms.append([ESC, 9, *(v & M32).to_bytes(4, "little")])
    return [bytes(f) for f in sorted(forms, key=len)]


def enc32(v, direct=None):
    """A 32-bit argument: its direct role byte when `direct` (a function of v giving a byte or
    None) has one, else the shortest exact escape."""
    v &= M32
    d = direct(v) if direct else None
    return bytes([d]) if d is not None else any32_forms(v)[0]


def enc_fd(v):
    return enc32(v, lambda v: FD.get(v))


def enc_small(v):
    return enc32(v, lambda v: v if v < 10 else None)


def enc_flags(v):
    return enc32(v, lambda v: v if v < 64 else None)


def enc_count(v):
    return enc32(v, lambda v: v if v < 5 else None)


def enc_size(v):
    """A buffer size (Z): the nearest of the pool."""
    return bytes([min(range(8), key=lambda i: (abs(Z[i] - v), i))])


def any64_candidates():
    """Every (value, bytes) of the any64 escape except the 20-bit form (tag 3)."""
    out = [(b, bytes([ESC, 0, b])) for b in range(16)]
    out += [(b << 56, bytes([ESC, 1, b])) for b in range(256)]
    out += [(v, bytes([ESC, 2, i])) for i, v in enumerate(ANY64_TABLE)]
    out += [(b * 16, bytes([ESC, 4, b])) for b in range(256)]
    out += [((1 << 56) + b * 10**9, bytes([ESC, 5, b])) for b in range(256)]
    return out


ANY64 = any64_candidates()


def tag3(v):
    """The 20-bit escape form of v (< 2^20)."""
    return bytes([ESC, 3, v & 255, v >> 8 & 255, v >> 16 & 15])


def nearest64(v, direct, signed=False):
    """The encoding of the 64-bit value nearest to v among the direct choices `direct` (value,
    bytes) and the escapes; ties go to the shorter encoding, then to the first."""
    v &= M64
    cands = list(direct) + ANY64 + [(min(v, 2**20 - 1), tag3(min(v, 2**20 - 1)))]
    conv = (lambda x: x - 2**64 if x >= 2**63 else x) if signed else (lambda x: x)
    return min(cands, key=lambda c: (abs(conv(c[0]) - conv(v)), len(c[1])))[1]


def enc_off(v, signed=False):
    """An offset or size (6)."""
    return nearest64(v, [(x, bytes([i])) for i, x in enumerate(SIX)], signed)


def enc_time(v):
    """A time (T): direct (b % 64) * 10^8."""
    return nearest64(v, [(b * 100_000_000, bytes([b])) for b in range(64)])


RIGHTS_DIRECT = [(ALL_RIGHTS, bytes([0])), (NO_WRITE, bytes([1])), (0, bytes([2]))] + [
    (b << (b % 23), bytes([b])) for b in range(3, ESC, 4)]


def rw(base, fdflags=0):
    """(read, write) of a descriptor opened with rights `base`, as hammertime's path_open
    decides."""
    write = bool(base & WRITE_RIGHTS) or bool(fdflags & FD_APPEND and base & FD_WRITE)
    return (bool(base & (FD_READ | FD_READDIR)) or not write, write)


ALL30 = (1 << 30) - 1


def nearest_rights(v, mask=ALL30, ok=None, used=0, denied=0, penalty=None):
    """(value, bytes) of the rights (R) nearest to v in the bits of `mask`: a missing right
    counts 3, an extra one 1, a missing right of `used` or an extra one of `denied` 10, plus
    `penalty(value)`; only values `ok` accepts, if any."""
    v &= M64
    cands = RIGHTS_DIRECT + ANY64 + [(v & (2**20 - 1), tag3(v & (2**20 - 1)))]

    def bits(x):
        return bin(x & mask).count("1")

    def cost(c):
        x = c[0]
        return (ok is not None and not ok(x), 10 * bits(used & ~x) + 10 * bits(denied & x)
                + 3 * bits(v & ~x & ~used) + bits(x & ~v & ~denied) + (penalty(x) if penalty else 0), len(c[1]))

    return min(cands, key=cost)


def enc_rights(v, mask=ALL30, ok=None, used=0, denied=0, penalty=None):
    """Rights (R): see nearest_rights."""
    return nearest_rights(v, mask, ok, used, denied, penalty)[1]


# Reading an input back, as the harness does.


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def empty(self):
        return self.pos >= len(self.data)


def _any32(r, lens):
    tag, b = r.byte(), r.byte()
    t = tag % 12
    if t == 0:
        return b % 16
    if t == 1:
        return ANY32_TABLE[b % 12]
    if t == 2:
        return PATHS + PATH_SLOT * (b % 8)
    if t == 3:
        return b & 0x7F if b & 0x80 else lens[b % 8]
    if t == 4:
        return IOVECS + IOVEC_SLOT * (b % 4)
    if t == 5:
        return b % 5
    if t == 6:
        return OUT + 8 * (b % 64)
    if t == 7:
        return ANY32_PTRS[b % 8]
    if t == 8:
        return b | r.byte() << 8
    if t == 9:
        return int.from_bytes(bytes([b, r.byte(), r.byte(), r.byte()]), "little")
    if t == 10:
        return SUBS + 48 * (b % 8)
    return BUFS + 256 * (b % 64)


def _any64(r):
    tag, b = r.byte(), r.byte()
    t = tag % 6
    if t == 0:
        return b % 16
    if t == 1:
        return b << 56
    if t == 2:
        return ANY64_TABLE[b % 6]
    if t == 3:
        return b | r.byte() << 8 | (r.byte() % 16) << 16
    if t == 4:
        return b * 16
    return (1 << 56) + b * 10**9


def _args(r, roles, lens):
    slot, out = 0, []
    for role in roles:
        b = r.byte()
        if b >= ESC:
            out.append(_any64(r) if role in "6RT" else _any32(r, lens))
            continue
        out.append({
            "F": lambda: FD_TABLE[b % 14],
            "P": lambda: PATHS + PATH_SLOT * (b % 8),
            "L": lambda: lens[slot],
            "I": lambda: IOVECS + IOVEC_SLOT * (b % 4),
            "N": lambda: b % 5,
            "B": lambda: BUFS + 256 * (b % 48),
            "Z": lambda: Z[b % 8],
            "O": lambda: OUT + 8 * (b % 64),
            "S": lambda: SUBS + 48 * (b % 8),
            "s": lambda: b % 10,
            "g": lambda: b % 64,
            "6": lambda: SIX[b % 8],
            "R": lambda: [ALL_RIGHTS, NO_WRITE, 0, b << (b % 23)][b % 4],
        }.get(role, lambda: (b % 64) * 100_000_000)())
        if role == "P":
            slot = b % 8
    return out


def decode(data, max_calls=150):
    """The items of an input as the harness reads them: the mode, then a list of ("call", name,
    args, paths) (paths: the contents of the 8 path slots), ("path", slot, bytes), ("iovecs",
    slot, [(buf, len)], past_end) and ("sub", slot, kind, byte)."""
    r = Reader(data)
    mode = r.byte() % 3
    lens, paths, items, calls = [0] * 8, [b""] * 8, [], 0
    while not r.empty() and calls < max_calls:
        op = r.byte() % 49
        if op < 46:
            calls += 1
            name = FUNCTIONS[op]
            items.append(("call", name, _args(r, ROLES[name], lens), list(paths)))
            continue
        slot = r.byte()
        if op == OP_PATH:
            spec, p = r.byte(), b""
            if spec & 0x40:
                p += b"/"
            if spec & 0x20:
                p += SPECIAL[r.byte() % len(SPECIAL)]
            else:
                p += b"/".join(NAMES[r.byte() % len(NAMES)].encode() for _ in range(1 + spec % 3))
            if spec & 0x80:
                p += b"/"
            lens[slot % 8], paths[slot % 8] = len(p), p
            items.append(("path", slot % 8, p))
        elif op == OP_IOVECS:
            iovs = [(BUFS + 256 * (r.byte() % 64), LENS[r.byte() % 8]) for _ in range(4)]
            past_end = r.byte() % 8 == 0
            items.append(("iovecs", slot % 4, iovs, past_end))
        else:
            items.append(("sub", slot % 8, r.byte(), r.byte()))
    return mode, items


def calls_of(data):
    """The (name, args) of the calls an input makes."""
    return [(it[1], it[2]) for it in decode(data)[1] if it[0] == "call"]


# The dictionary: byte strings that mean something in this encoding.


def dictionary():
    """(name, bytes, comment) entries for libFuzzer's -dict, each at most 64 bytes."""
    out = []

    def add(name, data, comment=""):
        assert 1 <= len(data) <= 64, name
        if all(bytes(data) != d for _, d, _ in out):  # the first of the same bytes
            out.append((name, bytes(data), comment))

    # Each call with plain arguments: descriptor 3 (the preopen) for path calls, 4 (the first
    # opened) for the others, slot 0, first buffers and result slots, small values.
    typical = {"F": FD[4], "P": 0, "L": 0, "I": 0, "N": 1, "B": 0, "Z": 6, "O": 0, "S": 0, "s": 0, "g": 0,
               "6": 0, "R": 0, "T": 0}
    for name in FUNCTIONS:
        roles = ROLES[name]
        args = [typical[c] for c in roles]
        if (name.startswith("path_") or name.startswith("fd_prestat") or name == "fd_readdir") and roles:
            args[0] = FD[3]
        if name == "path_symlink":
            args[2] = FD[3]
        if name in ("path_link", "path_rename"):
            args[roles.index("F", 1)] = FD[3]
        add(f"call_{name}", call(name, *args), f"{name}({roles})" if name == FUNCTIONS[0] else "")
    out[0] = (out[0][0], out[0][1], "Every call, plain arguments (descriptor 3 for calls on directories, else 4)")

    # Paths: names, escapes, links, slashes.
    for name, names, lead, trail, what in [
        ("dot", (".",), False, False, ""), ("dotdot", ("..",), False, False, ""),
        ("empty", ("",), False, False, " (the empty path)"), ("root", ("",), True, False, ""),
        ("x", ("x",), False, False, " (absent)"), ("f", ("f",), False, False, " (absent)"),
        ("d_slash", ("d",), False, True, ""), ("a_slash", ("a",), False, True, " (a file, trailing slash)"),
        ("x_slash", ("x",), False, True, " (absent, trailing slash)"),
        ("l_slash", ("l",), False, True, " (a link to a file, trailing slash)"),
        ("dl_slash", ("d", "l"), False, True, " (a link to .., trailing slash)"),
        ("d_up", ("d", ".."), False, False, ""), ("d_up_up", ("d", "..", ".."), False, False, " (out of the root)"),
        ("up_x", ("..", "x"), False, False, " (the file beside the root)"), ("ddb", ("d", "d", "b"), False, False, ""),
        ("dla", ("d", "l", "a"), False, False, " (through the link d/l -> ..)"),
        ("abs_x", ("x",), True, False, " (absolute)"), ("d_empty_a", ("d", "", "a"), False, False, ""),
        ("ba", ("b", "a"), False, False, ""), ("xa", ("x", "a"), False, False, " (under an absent directory)"),
    ]:
        text = path_text(names, lead=lead, trail=trail).decode()
        add(f"path_{name}", path(0, *names, lead=lead, trail=trail), f"path {text!r}{what}")
    for k, text in enumerate(SPECIAL):
        add(f"path_special{k}", special(0, k), "path '%s'" % repr(text)[2:-1])
    add("path_special_trail", special(0, 2, trail=True), "path 'd/../../x/'")

    # Links: a loop, a chain, a dangling link, a link to a directory with a slash.
    add("symlink_loop_self", path(0, "x") + call("path_symlink", 0, 0, FD[3], 0, 0) + open_(3, 0, 0),
        "symlink x -> x, then open x following links (ELOOP)")
    add("symlink_loop_pair", path(0, "x") + path(1, "f") + call("path_symlink", 0, 0, FD[3], 1, 0)
        + call("path_symlink", 1, 0, FD[3], 0, 0), "symlinks f -> x and x -> f")
    add("symlink_dangling", path(0, "x") + path(1, "f") + call("path_symlink", 0, 0, FD[3], 1, 0),
        "symlink f -> x (dangling)")
    add("symlink_escape", special(0, 3) + path(1, "x") + call("path_symlink", 0, 0, FD[3], 1, 0),
        "symlink x -> ../x (out of the root)")
    add("symlink_trailing", path(0, "d") + path(1, "x", trail=True) + call("path_symlink", 0, 0, FD[3], 1, 0),
        "symlink x/ -> d")

    # path_open: oflags, lookup flags, fdflags, rights.
    for what, oflags, follow in [("creat", O_CREAT, 1), ("creat_excl", O_CREAT | O_EXCL, 1),
                                 ("creat_excl_nofollow", O_CREAT | O_EXCL, 0), ("creat_dir", O_CREAT | O_DIRECTORY, 1),
                                 ("dir", O_DIRECTORY, 1), ("dir_nofollow", O_DIRECTORY, 0), ("trunc", O_TRUNC, 1),
                                 ("creat_trunc", O_CREAT | O_TRUNC, 1), ("excl_only", O_EXCL, 1),
                                 ("nofollow", 0, 0), ("follow", 0, 1), ("bad_oflags", 16, 1)]:
        add(f"open_{what}", open_(3, 0, oflags, follow=follow), f"path_open oflags={oflags} lookup={follow}")
    add("open_bad_lookup", open_(3, 0, 0, follow=2), "path_open with an unknown lookup flag")
    for what, fl in [("append", FD_APPEND), ("dsync", FD_DSYNC), ("nonblock", FD_NONBLOCK), ("rsync", FD_RSYNC),
                     ("sync", FD_SYNC), ("append_sync", FD_APPEND | FD_SYNC), ("bad", 32)]:
        add(f"open_fd_{what}", open_(3, 0, O_CREAT, fdflags=fl), f"path_open fdflags={fl}")
    for i, what in enumerate(["all", "all_but_write", "none"]):
        add(f"open_rights_{what}", call("path_open", FD[3], 1, 0, 0, 0, i, i, 0, 0), f"path_open rights {what}")
    add("open_rights_read", call("path_open", FD[3], 1, 0, 0, 0, *enc_rights(FD_READ) * 2, 0, 0),
        "path_open base/inheriting fd_read only")
    # The encodable rights nearest to all a directory or a file can have, without opening for
    # writing (a directory opened so is EISDIR; the pool's all-rights values count as writing).
    readonly = (lambda x: not rw(x)[1])
    dir_ro = enc_rights(RIGHTS_DIR, RIGHTS_DIR, readonly)
    file_ro = enc_rights(RIGHTS_FILE & ~WRITE_RIGHTS, RIGHTS_FILE, readonly)
    add("open_dir_rights_ro", call("path_open", FD[3], 1, 0, 0, O_DIRECTORY, *dir_ro, 0, 0, 0),
        "path_open O_DIRECTORY, directory rights but none that write")
    add("open_file_rights_ro", call("path_open", FD[3], 1, 0, 0, 0, *file_ro, 0, 0, 0),
        "path_open, file rights but none that write")

    # Lookup flags of the other path calls.
    for follow in (0, 1):
        add(f"stat_lookup{follow}", call("path_filestat_get", FD[3], follow, 0, 0, 0),
            f"path_filestat_get lookup={follow}")
        add(f"link_lookup{follow}", call("path_link", FD[3], follow, 0, 0, FD[3], 1, 0), f"path_link lookup={follow}")

    # fdstat flags and rights.
    for what, fl in [("none", 0), ("append", FD_APPEND), ("dsync", FD_DSYNC), ("nonblock", FD_NONBLOCK),
                     ("rsync", FD_RSYNC), ("sync", FD_SYNC), ("bad", 32)]:
        add(f"setflags_{what}", call("fd_fdstat_set_flags", FD[4], fl), f"fd_fdstat_set_flags {fl}")
    add("setrights_none", call("fd_fdstat_set_rights", FD[4], 2, 2), "fd_fdstat_set_rights to none")
    add("setrights_no_write", call("fd_fdstat_set_rights", FD[4], 1, 1), "fd_fdstat_set_rights without fd_write")

    # fd_seek: every whence, and an unknown one; offsets past the end and negative.
    for whence in range(4):
        add(f"seek_whence{whence}", call("fd_seek", FD[4], 2, whence, 0), f"fd_seek(2, whence={whence})")
    add("seek_minus1", call("fd_seek", FD[4], *enc_off(M64), 1, 0), "fd_seek(-1, CUR)")
    add("seek_i64max", call("fd_seek", FD[4], *enc_off(2**63 - 1), 0, 0), "fd_seek(i64::MAX, SET)")

    # Times and their flags.
    for what, fl in [("atim", FST_ATIM), ("atim_now", FST_ATIM_NOW), ("mtim", FST_MTIM), ("mtim_now", FST_MTIM_NOW),
                     ("both", FST_ATIM | FST_MTIM), ("both_now", FST_ATIM_NOW | FST_MTIM_NOW),
                     ("atim_and_now", FST_ATIM | FST_ATIM_NOW), ("bad", 16)]:
        add(f"times_{what}", call("fd_filestat_set_times", FD[4], 5, 6, fl), f"fd_filestat_set_times fst_flags={fl}")
    add("path_times_nofollow", call("path_filestat_set_times", FD[3], 0, 0, 0, 7, 8, FST_ATIM_NOW | FST_MTIM),
        "path_filestat_set_times without following")

    # Subscriptions and poll_oneoff.
    for abstime in (False, True):
        for cid in range(CLOCK_IDS):
            add(f"sub_clock{cid}{'_abs' if abstime else ''}", clock(0, 2, abstime, cid),
                f"clock subscription, clock {cid}{', abstime' if abstime else ''}, 1000 ns")
    add("sub_clock_forever", clock(0, 5), "clock subscription, u64::MAX ns")
    add("sub_read_stdin", fdsub(0, 1, 0), "fd_read subscription on stdin")
    add("sub_write_stdout", fdsub(0, 2, 1), "fd_write subscription on stdout")
    add("sub_read_fd3", fdsub(0, 1, 3), "fd_read subscription on the preopen")
    add("sub_unknown", fdsub(0, 3, 1), "an unknown event type")
    add("poll_one", call("poll_oneoff", 0, 0, 1, 0), "poll_oneoff, one subscription")
    add("poll_none", call("poll_oneoff", 0, 0, 0, 0), "poll_oneoff, no subscriptions")

    # iovecs: one buffer, one running past the end, huge lengths.
    add("iov_one", iovecs(0, (0, 16)), "iovecs: one 16-byte buffer")
    add("iov_past_end", iovecs(0, (0, 16), past_end=True), "iovecs: the first runs past the end of memory")
    add("iov_huge", iovecs(0, (0, 2**32 - 1), (1, 65536)), "iovecs: u32::MAX and 64 KiB lengths")
    add("iov_four", iovecs(0, (0, 255), (1, 256), (2, 1), (3, 4096)), "iovecs: four buffers")

    # Escapes: edge values of any role.
    for what, v in [("u32max", M32), ("page_end", PAGE), ("page_minus1", PAGE - 1), ("high_bit", 0x8000_0000)]:
        add(f"esc32_{what}", any32_forms(v)[0], f"a 32-bit argument {v:#x}")
    for what, i in [("u64max", 2), ("i64max", 3), ("bit63", 4)]:
        add(f"esc64_{what}", bytes([ESC, 2, i]), f"a 64-bit argument {ANY64_TABLE[i]:#x}")

    # Descriptors: the preopen, stdio, renumbering, closing.
    add("close_preopen", call("fd_close", FD[3]), "fd_close(3), the preopen")
    add("renumber_onto_stdout", call("fd_renumber", FD[4], FD[1]), "fd_renumber(4, 1)")
    add("renumber_preopen", call("fd_renumber", FD[3], FD[5]), "fd_renumber(3, 5)")
    add("exit_1", call("proc_exit", 1), "proc_exit(1)")
    return out


def dict_text(entries, header):
    """The entries in libFuzzer's dictionary syntax."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] + [""]
    for name, data, comment in entries:
        if comment:
            lines.append(f"# {comment}")
        lines.append(name + '="' + "".join("\\x%02x" % b for b in data) + '"')
    return "\n".join(lines) + "\n"
