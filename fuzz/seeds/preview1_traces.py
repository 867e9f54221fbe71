#!/usr/bin/env python3
"""Writes the preview1 target's trace seeds (fuzz/corpus/preview1/trace-SUITE-TEST): the call
sequence of each program of the official wasi-testsuite, in the encoding harness/preview1.rs
decodes (seeds/p1enc.py). With --dict, writes the target's libFuzzer dictionary
(fuzz/preview1.dict) instead; with --check, replays the trace seeds and says how many calls
give the errno the program got. Run from fuzz/: python3 seeds/preview1_traces.py [--dict|--check]

Each test runs as the project's CLI conformance runner runs it (tests/suite/mod.rs: argv, the
spec's environment plus ERRNO_MODE_UNIX=1 for the Rust suite, its root as `--mem-dir ROOT::/`,
so the suite is never written to, stdin empty) through `hammertime run --trace` (the release
binary, `cargo build --release` at the workspace root; $HAMMERTIME overrides it), 10 s at
most. The trace (stderr) gives each call with its raw arguments and errno, after the paths it
read. Each call becomes the same call of the harness, in the same order:

- the mode: read-write mounts when the test has a root, none when it has not;
- descriptors as they are (hammertime gives out the lowest free number, the harness too);
- flags, whence, clock ids, signals, exit codes, counts exactly (an escape when no role byte
  has the value); offsets, sizes and times the nearest encodable value (offsets of fd_seek
  signed); buffer sizes the nearest of the pool;
- rights the nearest in bits among those the harness can encode: a missing right counts 3, an
  extra one 1, and 10 for a right the descriptor then uses in a call that succeeds (or is
  refused, ENOTCAPABLE) in the trace; within what a descriptor has when the trace's
  fd_fdstat_set_rights succeeded; opening a directory for reading and writing as the program
  did (else EISDIR), a file preferably so (counting 5);
- paths rebuilt over the names a b d f l x: `.`, `..`, empty names, leading and trailing
  slashes kept, a NUL as the special path a\\0b, more than 3 names shortened (name/.. pairs
  and `.` dropped, then the first and the last two kept). Each name a program uses in a
  directory gets one letter there, chosen at its first use: one that is in the harness's tree
  (ops::seed) what the name is then in the program's (its root, as the trace's successes
  change it: a directory, a file, a link or nothing), its own first letter first, then
  x f a b d l, each letter once per directory while they last;
- pointers: result pointers and buffers by first use onto the result slots and buffers;
  iovec arrays onto the 4 slots, written before the call (the trace has no lengths: 256 bytes
  per entry for reads, 16 for writes); poll_oneoff subscriptions written before the call
  (the trace has none: a clock, stdin readable, stdout and stderr writable, then clocks).

--check runs each seed's calls, decoded as the harness decodes them, as a wasm guest (WAT)
through `hammertime run --trace` over a copy of the harness's seed tree (ops::seed; none in
mode 2), and compares each call's errno with the program's.

A seed stops at the harness's 150 calls or 4096 bytes. A test whose trace is empty or that
times out is skipped (and said so). The output depends only on the suite and the binary (the
clock readings some programs pass as times round to the same encodable value, 25 << 56 ns,
from 2026 to 2028)."""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import p1enc as E  # noqa: E402

SUITE = os.environ.get("HAMMERTIME_WASI_TESTSUITE", "../../shared/wasi-testsuite")
BINARY = os.environ.get("HAMMERTIME", "../target/release/hammertime")
MAX_LEN, TIMEOUT = 4096, 10  # the runs' -max_len; seconds per program
# The harness's most calls per input.
MAX_CALLS = int(re.search(r"pub const MAX_CALLS: usize = (\d+);", open("harness/preview1.rs").read()).group(1))
OUT_DIR = "corpus/preview1"

CALL_RE = re.compile(r'TRACE hammertime::wasi: call="([a-z_]+)"((?: [a-z_]+=\d+)*)(?: errno="([a-z0-9]+)")?\s*$')
PATH_RE = re.compile(r'TRACE hammertime::wasi::path: path=(".*")\s*$')
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
READS = {"fd_read", "fd_pread", "sock_recv"}


def unquote(s):
    """The string of a Rust `{:?}` string literal."""
    out, i, s = [], 0, s[1:-1]
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == "u":
            end = s.index("}", i)
            out.append(chr(int(s[i + 3:end], 16)))
            i = end + 1
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(n, n))
        i += 2
    return "".join(out)


def parse(trace):
    """The calls of a trace: (name, [argument values], errno, [paths read])."""
    calls, paths = [], []
    for line in ANSI_RE.sub("", trace).splitlines():
        m = PATH_RE.search(line)
        if m:
            paths.append(unquote(m.group(1)))
            continue
        m = CALL_RE.search(line)
        if m:
            values = [int(kv.split("=")[1]) for kv in m.group(2).split()]
            calls.append((m.group(1), values, m.group(3) or "success", paths))
            paths = []
    return calls


def split_path(p):
    """(lead, names, trail, nul) of a path as the harness writes it."""
    lead = p.startswith("/")
    rest = p[1:] if lead else p
    trail = rest.endswith("/") and rest != ""
    rest = rest[:-1] if trail else rest
    names = rest.split("/")
    if len(names) > 3:
        kept = []
        for n in names:
            if n in ("", "."):
                continue
            if n == ".." and kept and kept[-1] != "..":
                kept.pop()
            else:
                kept.append(n)
        names = kept or ["."]
        if len(names) > 3:
            names = names[:1] + names[-2:]
    return lead, names, trail, "\0" in p


def step(at, name):
    """`at` (a tuple of names) after one name, lexically."""
    if name in ("", "."):
        return at
    if name == ".." and at and at[-1] != "..":
        return at[:-1]
    return at + (name,)


RIGHT, RIGHTS_FILE, RIGHTS_DIR = E.RIGHT, E.RIGHTS_FILE, E.RIGHTS_DIR
# The right each call needs of its (first) descriptor, as hammertime checks it.
NEEDS = {n: RIGHT[n] for n in """fd_advise fd_allocate fd_datasync fd_sync fd_fdstat_set_flags
    fd_filestat_get fd_filestat_set_size fd_filestat_set_times fd_read fd_write fd_readdir fd_tell
    path_create_directory path_filestat_get path_filestat_set_times path_open path_readlink
    path_remove_directory path_symlink path_unlink_file""".split()}
NEEDS.update(fd_pread=RIGHT["fd_read"], fd_pwrite=RIGHT["fd_write"], path_link=RIGHT["path_link_source"],
             path_rename=RIGHT["path_rename_source"])


# The calls that answer EBADF (not ENOTCAPABLE) to a descriptor without the right.
BADF_RIGHTS = {"fd_read", "fd_write", "fd_pread", "fd_pwrite"}


def needed(name, values):
    """(descriptor, rights) the call needs."""
    if name == "fd_seek":
        return [(values[0], RIGHT["fd_tell"] if values[1] == 0 and values[2] == 1 else RIGHT["fd_seek"])]
    if name == "path_symlink":
        return [(values[2], NEEDS[name])]
    if name not in NEEDS:
        return []
    out = [(values[0], NEEDS[name])]
    if name == "path_open":
        extra = (RIGHT["path_create_file"] if values[4] & E.O_CREAT else 0) | (
            RIGHT["path_filestat_set_size"] if values[4] & E.O_TRUNC else 0)
        out = [(values[0], NEEDS[name] | extra)]
    elif name == "path_link":
        out.append((values[4], RIGHT["path_link_target"]))
    elif name == "path_rename":
        out.append((values[3], RIGHT["path_rename_target"]))
    return out


def rights_use(calls, has_root):
    """For each call that gives a descriptor its rights (a successful path_open or
    fd_fdstat_set_rights), by index: the rights the descriptor then uses in calls that
    succeed, those it is refused (ENOTCAPABLE), and those the descriptors opened through it
    use (what its inheriting rights should hold)."""
    epoch = {}  # descriptor -> the index of the call that gave it its rights
    used, denied, children = {}, {}, {}
    fds = {0, 1, 2} | ({3} if has_root else set())
    for i, (name, values, errno, _) in enumerate(calls):
        for fd, right in needed(name, values):
            e = epoch.get(fd)
            if e is not None and errno == "success":
                used[e] |= right
            elif e is not None and (errno == "notcapable" or errno == "badf" and name in BADF_RIGHTS):
                denied[e] |= right
        if errno != "success":
            continue
        if name == "path_open":
            new = min(n for n in range(len(fds) + 1) if n not in fds)
            fds.add(new)
            if values[0] in epoch:
                children[epoch[values[0]]].append(i)
            epoch[new], used[i], denied[i], children[i] = i, 0, 0, []
        elif name == "fd_fdstat_set_rights":
            prev = epoch.get(values[0])
            epoch[values[0]], used[i], denied[i], children[i] = i, 0, 0, []
            if prev is not None:
                children[prev].append(i)
        elif name == "fd_close":
            fds.discard(values[0])
            epoch.pop(values[0], None)
        elif name == "fd_renumber":
            fds.discard(values[0])
            fds.add(values[1])
            if values[0] in epoch:
                epoch[values[1]] = epoch.pop(values[0])
            else:
                epoch.pop(values[1], None)

    def below(i):
        return [u for c in children[i] for u in [used[c]] + below(c)]

    return {i: (used[i], denied[i], _or(below(i))) for i in used}


def _or(values):
    out = 0
    for v in values:
        out |= v
    return out


def change(tree, name, values, paths):
    """A successful call's change to `tree` (path -> type) at `paths` (those the call named)."""
    h = paths[-1] if paths else None
    if name == "path_create_directory":
        tree[h] = "dir"
    elif name == "path_open" and values[4] & E.O_CREAT and h not in tree:
        tree[h] = "file"
    elif name in ("path_unlink_file", "path_remove_directory"):
        for p in [p for p in tree if p[:len(h)] == h]:
            del tree[p]
    elif name == "path_symlink":
        tree[h] = "link"
    elif name == "path_link":
        tree[h] = tree.get(paths[0], "file")
    elif name == "path_rename" and paths[0] != paths[1]:
        old, new = paths
        for p in [p for p in tree if p[:len(new)] == new]:
            del tree[p]
        for p in sorted(p for p in tree if p[:len(old)] == old):
            tree[new + p[len(old):]] = tree.pop(p)


def host_tree(root):
    """The tree under host directory `root`: path -> type."""
    out = {}
    for d, dirs, files in os.walk(root):
        at = tuple(os.path.relpath(d, root).split(os.sep)) if d != root else ()
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            out[at + (n,)] = "link" if os.path.islink(p) else "dir" if os.path.isdir(p) else "file"
    return out


class Converter:
    """The state of one conversion: the program's tree and the harness's as the trace changes
    them, the letters given to names, descriptors and their rights, and what the memory writes
    left in each slot."""

    def __init__(self, root, calls):
        """`root`: the host directory the program's root was a copy of, or None."""
        has_root = root is not None
        self.ttree = host_tree(root) if has_root else {}  # the program's tree, as the trace changes it
        self.mode = 0 if has_root else 2
        self.use = rights_use(calls, has_root)
        # descriptor -> (base, inheriting) rights in the harness, where they are known
        self.rights = {3: (RIGHTS_DIR, E.ALL30)} if has_root else {}
        self.pending = None
        self.out = bytearray([self.mode])
        self.calls = 0
        self.tree = dict(E.SEED_TREE) if has_root else {}
        self.letters = {}  # (trace directory, name) -> letter
        # descriptor -> (trace path, harness path)
        self.fds = {0: None, 1: None, 2: None}
        if has_root:
            self.fds[3] = ((), ())
        self.path_slots = [None] * 8  # the path bytes each slot holds
        self.lru = list(range(8))
        self.iov_slots = [None] * 4
        self.subs = [None] * 8
        self.pointers = {"O": {}, "B": {}, "I": {}}
        self.seen_paths = {}  # guest pointer -> the path last read there

    # Paths.

    def letter(self, parent, hparent, name, need):
        """The letter of `name` in trace directory `parent` (harness directory `hparent`)."""
        key = (parent, name)
        if key in self.letters:
            return self.letters[key]
        taken = {v for (p, _), v in self.letters.items() if p == parent}
        here = {p[-1]: t for p, t in self.tree.items() if p[:-1] == hparent}
        prefs = ([name[0]] if name[0] in E.LETTERS else []) + ["x", "f", "a", "b", "d", "l"]
        prefs = [c for i, c in enumerate(prefs) if c not in prefs[:i]]
        ok = {
            "free": lambda c: c not in here,
            "dir": lambda c: here.get(c) == "dir",
            "file": lambda c: here.get(c) in ("file", "link"),
            "link": lambda c: here.get(c) == "link",
            "exists": lambda c: c in here,
            "any": lambda c: True,
        }
        for test in (ok[need], ok["free"], ok["any"]):
            pick = next((c for c in prefs if c not in taken and test(c)), None)
            if pick:
                break
        pick = pick or prefs[0]
        self.letters[key] = pick
        return pick

    def map_path(self, fd, text):
        """The path write (spec and name bytes) for `text` relative to descriptor fd; the trace
        and harness paths it names."""
        base = self.fds.get(fd)
        lead, names, trail, nul = split_path(text)
        at, hat = base or ((f"#{fd}",), (f"#{fd}",))
        mapped = []
        for n in names:
            if n in ("", ".", ".."):
                mapped.append(n)
            else:
                # What the name is in the program's tree now: the harness gets a name that is
                # the same there (nothing, when it does not exist).
                want = self.ttree.get(step(at, n), "free") if base else "any"
                mapped.append(self.letter(at, hat, n, want))
            at, hat = step(at, n), step(hat, mapped[-1])
        flags = (0x40 if lead else 0) | (0x80 if trail else 0)
        if nul:
            body = bytes([0x20 | flags, 0])
        else:
            body = bytes([E.path_spec(len(mapped), lead, trail)] + [E.NAMES.index(m) for m in mapped])
        return body, at, hat

    def put_path(self, body, keep):
        """The slot holding path `body`, written there first if it is not; `keep`: slots not to
        reuse."""
        if body in self.path_slots:
            slot = self.path_slots.index(body)
            pre = b""
        else:
            slot = next(s for s in self.lru if s not in keep)
            self.path_slots[slot] = body
            pre = bytes([E.OP_PATH, slot]) + body
        self.lru.remove(slot)
        self.lru.append(slot)
        return slot, pre

    # Other memory.

    def pointer(self, kind, value, count):
        table = self.pointers[kind]
        if value not in table:
            table[value] = len(table) % count
        return table[value]

    def put_iovecs(self, name, ptr, n):
        slot = self.pointer("I", ptr, 4)
        length = 256 if name in READS else 16
        bufs = tuple((48 + 4 * slot + i, length) for i in range(min(n, 4)))
        if self.iov_slots[slot] == bufs:
            return slot, b""
        self.iov_slots[slot] = bufs
        return slot, E.iovecs(slot, *bufs)

    def put_subs(self, n):
        pre = b""
        for i in range(min(n, 8)):
            kind = ["clock", "read0", "write1", "write2"][i] if i < 4 else "clock"
            if self.subs[i] == kind:
                continue
            self.subs[i] = kind
            pre += {"clock": E.clock(i, 3, clock_id=1), "read0": E.fdsub(i, 1, 0),
                    "write1": E.fdsub(i, 2, 1), "write2": E.fdsub(i, 2, 2)}[kind]
        return pre

    # Calls.

    def rights_args(self, i, name, values, errno, hpath, text):
        """The bytes of the two rights arguments of path_open or fd_fdstat_set_rights (call i),
        nearest to the trace's; keeps what the descriptor gets in self.pending."""
        used, denied, inherited_use = self.use.get(i, (0, 0, 0))
        if name == "path_open":
            oflags, base, inheriting, fdflags = values[4], values[5], values[6], values[7]
            parent = self.rights.get(values[0], (E.ALL30, E.ALL30))
            is_dir = oflags & E.O_DIRECTORY or self.tree.get(hpath) == "dir" or hpath == () or text.endswith("/")
            mask = RIGHTS_DIR if is_dir else RIGHTS_FILE
            want = E.rw(base, fdflags)
            # A directory opened for writing is EISDIR; a file may open for writing when that
            # brings the rights the program uses (it counts half a missing one).
            same = (lambda x: E.rw(x, fdflags) == want)
            if is_dir:
                b, bb = E.nearest_rights(base, mask, same, used, denied)
            else:
                b, bb = E.nearest_rights(base, mask, None, used, denied, lambda x: 0 if same(x) else 5)
            n, nb = E.nearest_rights(inheriting, E.ALL30, None, inherited_use)
            got = b & parent[1] & mask
            if not E.rw(b, fdflags)[1]:
                got &= ~E.WRITE_RIGHTS
            self.pending = (got, n & parent[1])
            return bb + nb
        # fd_fdstat_set_rights: no more than the descriptor has, when the trace's call succeeded.
        base, inheriting = values[1], values[2]
        cur = self.rights.get(values[0])
        success = errno == "success"
        if cur is None:
            b, bb = E.nearest_rights(base, E.ALL30, None, used, denied)
            n, nb = E.nearest_rights(inheriting, E.ALL30, None, inherited_use)
        else:
            b, bb = E.nearest_rights(base, E.ALL30, lambda x: (x & ~cur[0] == 0) == success, used, denied)
            n, nb = E.nearest_rights(inheriting, E.ALL30, (lambda x: x & ~cur[1] == 0) if success else None,
                                     inherited_use)
        self.pending = (b, n)
        return bb + nb

    def convert(self, index, name, values, errno, paths):
        """The bytes of one call and the memory writes before it; updates the state."""
        roles = E.ROLES[name]
        assert len(roles) == len(values), (name, values)
        pre, args, keep = b"", b"", set()
        paths = list(paths)
        fd_of_path = None
        hpaths, tpaths, texts = [], [], []
        for j, (role, v) in enumerate(zip(roles, values)):
            if role == "F":
                fd_of_path = v
                args += E.enc_fd(v)
            elif role == "P":
                if paths:
                    text = paths.pop(0)
                else:
                    text = self.seen_paths.get(v, "x")
                self.seen_paths[v] = text
                texts.append(text)
                # A symlink's target is named from the link's directory.
                dirfd = values[2] if name == "path_symlink" and not tpaths else fd_of_path
                body, tpath, hpath = self.map_path(dirfd, text)
                tpaths.append(tpath)
                hpaths.append(hpath)
                slot, w = self.put_path(body, keep)
                keep.add(slot)
                pre += w
                args += bytes([slot])
            elif role == "L":
                args += b"\0"
            elif role == "I":
                slot, w = self.put_iovecs(name, v, values[j + 1])
                pre += w
                args += bytes([slot])
            elif role == "N":
                args += E.enc_count(v)
            elif role == "B":
                args += bytes([self.pointer("B", v, 48)])
            elif role == "O":
                args += bytes([self.pointer("O", v, 64)])
            elif role == "Z":
                args += E.enc_size(v)
            elif role == "S":
                pre += self.put_subs(values[2])
                args += b"\0"
            elif role == "s":
                args += E.enc_small(v)
            elif role == "g":
                args += E.enc_flags(v)
            elif role == "6":
                args += E.enc_off(v, signed=name == "fd_seek")
            elif role == "T":
                args += E.enc_time(v)
            elif role == "R":
                if roles[j - 1] != "R":
                    last = (hpaths[-1], texts[-1]) if hpaths else (None, "")
                    args += self.rights_args(index, name, values, errno, *last)
        self.update(name, values, errno, tpaths, hpaths)
        return pre + E.call(name) + args

    def update(self, name, values, errno, tpaths, hpaths):
        """The trace's successes applied to the tree, the descriptors and the letters."""
        if errno != "success":
            return
        change(self.tree, name, values, hpaths)
        change(self.ttree, name, values, tpaths)
        if name == "path_open":
            new = min(n for n in range(len(self.fds) + 1) if n not in self.fds)
            self.fds[new] = (tpaths[0], hpaths[0])
            self.rights[new] = self.pending
        elif name == "fd_fdstat_set_rights":
            self.rights[values[0]] = self.pending
        elif name == "path_rename":
            told, tnew = tpaths
            for (parent, n), letter in list(self.letters.items()):
                full = parent + (n,)
                if full[:len(told)] == told and len(full) > len(told):
                    self.letters.setdefault((tnew + parent[len(told):], n), letter)
        elif name == "fd_close":
            self.fds.pop(values[0], None)
            self.rights.pop(values[0], None)
        elif name == "fd_renumber":
            self.fds[values[1]] = self.fds.pop(values[0], None)
            self.rights.pop(values[1], None)
            if values[0] in self.rights:
                self.rights[values[1]] = self.rights.pop(values[0])

    def add(self, index, call):
        """Appends call `index` of the trace; False when the seed is full."""
        if self.calls >= MAX_CALLS:
            return False
        data = self.convert(index, *call)
        if len(self.out) + len(data) > MAX_LEN:
            return False
        self.out += data
        self.calls += 1
        return True




def specs():
    """Every test: (suite, name, wasm, spec), sorted as the project's runner sorts them."""
    out = []
    for suite in ("assemblyscript", "c", "rust"):
        d = os.path.join(SUITE, "tests", suite, "testsuite", "wasm32-wasip1")
        for f in sorted(os.listdir(d)):
            if f.endswith(".wasm"):
                j = os.path.join(d, f[:-5] + ".json")
                spec = json.load(open(j)) if os.path.exists(j) else {}
                out.append((suite, f[:-5], os.path.join(d, f), spec))
    return out


def trace_of(suite, wasm, spec):
    """The stderr of `hammertime run --trace` on one test, or None when it timed out."""
    cmd = [BINARY, "run", "--trace"]
    env = dict(spec.get("env") or {})
    if suite == "rust":
        env["ERRNO_MODE_UNIX"] = "1"
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    if spec.get("root"):
        cmd += ["--mem-dir", os.path.join(os.path.dirname(wasm), spec["root"]) + "::/"]
    cmd += [wasm] + list(spec.get("args") or [])
    host_env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "RUST_BACKTRACE", "RUST_LIB_BACKTRACE")}
    host_env["NO_COLOR"] = "1"
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, env=host_env)
    except subprocess.TimeoutExpired:
        return None
    return r.stderr.decode("utf-8", "replace")


def write_dict():
    header = """libFuzzer dictionary of the preview1 target (-dict=preview1.dict): byte strings that mean
something in the encoding harness/preview1.rs decodes (calls, path writes, flag combinations,
subscriptions, escapes). Written by seeds/preview1_traces.py --dict from seeds/p1enc.py: do not
edit, regenerate."""
    entries = E.dictionary()
    names = [n for n, _, _ in entries]
    assert len(names) == len(set(names)), "duplicate dictionary names"
    with open("preview1.dict", "w") as f:
        f.write(E.dict_text(entries, header))
    print(f"preview1.dict: {len(entries)} entries")


def wat_of(data):
    """A WAT guest making the calls `data` encodes, with the memory writes between them, as the
    harness decodes them."""
    mode, items = E.decode(data, MAX_CALLS)
    wide = {f: ["i64" if r in "6RT" else "i32" for r in E.ROLES[f]] for f in E.FUNCTIONS}
    lines = ["(module"]
    for f in sorted({it[1] for it in items if it[0] == "call"}):
        result = "" if f == "proc_exit" else " (result i32)"
        lines.append(f'(import "wasi_snapshot_preview1" "{f}" (func ${f} (param {" ".join(wide[f])}){result}))')
    lines += ['(memory (export "memory") 1)', '(func (export "_start")']

    def store(at, data):
        lines.extend(f"(i32.store8 (i32.const {at + i}) (i32.const {b}))" for i, b in enumerate(data))

    for it in items:
        if it[0] == "path":
            store(E.PATHS + E.PATH_SLOT * it[1], it[2])
        elif it[0] == "iovecs":
            iovs = [(E.PAGE - 2 if it[3] and k == 0 else buf, n) for k, (buf, n) in enumerate(it[2])]
            store(E.IOVECS + E.IOVEC_SLOT * it[1], b"".join(a.to_bytes(4, "little") + n.to_bytes(4, "little")
                                                          for a, n in iovs))
        elif it[0] == "sub":
            slot, kind, b = it[1:]
            sub = bytearray(48)
            sub[0:8] = slot.to_bytes(8, "little")
            if kind % 4 == 0:
                sub[16:20] = ((b >> 4) % E.CLOCK_IDS).to_bytes(4, "little")
                sub[24:32] = E.TIMEOUTS[b % 6].to_bytes(8, "little")
                sub[40:42] = (kind >> 7).to_bytes(2, "little")
            elif kind % 4 in (1, 2):
                sub[8], sub[16:20] = kind % 4, (b % 8).to_bytes(4, "little")
            else:
                sub[8] = 3 + b % 3
            store(E.SUBS + 48 * slot, sub)
        else:
            f, args = it[1], it[2]
            bits = {"i32": 32, "i64": 64}
            consts = " ".join(f"({t}.const {v - 2**bits[t] if v >= 2**(bits[t] - 1) else v})"
                              for t, v in zip(wide[f], args))
            lines.append(f"(call ${f} {consts})" + ("" if f == "proc_exit" else " drop"))
    return mode, "\n".join(lines + ["))"])


def seed_tree(root):
    """ops::seed's tree under host directory `root`."""
    for d in ("d/d", "b"):
        os.makedirs(os.path.join(root, d))
    for p, data in [("a", "top"), ("d/a", "inner"), ("d/d/b", "deep"), ("d/b", "bee"), ("b/a", "")]:
        with open(os.path.join(root, p), "w") as f:
            f.write(data)
    os.symlink("d/a", os.path.join(root, "l"))
    os.symlink("..", os.path.join(root, "d/l"))


def check():
    same = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        tree, wat = os.path.join(tmp, "tree"), os.path.join(tmp, "seed.wat")
        seed_tree(tree)
        for suite, name, wasm, spec in specs():
            path = os.path.join(OUT_DIR, f"trace-{suite}-{name}")
            if not os.path.exists(path):
                continue
            mode, text = wat_of(open(path, "rb").read())
            with open(wat, "w") as f:
                f.write(text)
            mount = ["--mem-dir", tree + "::/"] if mode == 0 else []
            r = subprocess.run([BINARY, "run", "--trace", "--no-cache", *mount, wat], stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=TIMEOUT, env={**os.environ, "NO_COLOR": "1"})
            replay, program = parse(r.stderr.decode("utf-8", "replace")), parse(trace_of(suite, wasm, spec) or "")
            n = min(len(replay), len(program))
            k = sum(1 for a, b in zip(replay, program) if a[0] == b[0] and a[2] == b[2])
            same, total = same + k, total + n
            print(f"trace-{suite}-{name}: {k}/{n} calls give the program's errno")
    print(f"{same}/{total} calls ({100 * same / max(total, 1):.1f}%) give the program's errno")


def main():
    if sys.argv[1:] == ["--dict"]:
        return write_dict()
    if sys.argv[1:] == ["--check"]:
        return check()
    assert not sys.argv[1:], __doc__
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.startswith("trace-"):
            os.remove(os.path.join(OUT_DIR, f))
    written = 0
    for suite, name, wasm, spec in specs():
        trace = trace_of(suite, wasm, spec)
        if trace is None:
            print(f"skip {suite}/{name}: timed out after {TIMEOUT} s")
            continue
        calls = parse(trace)
        if not calls:
            print(f"skip {suite}/{name}: empty trace")
            continue
        root = os.path.join(os.path.dirname(wasm), spec["root"]) if spec.get("root") else None
        c = Converter(root, calls)
        for i, call in enumerate(calls):
            if not c.add(i, call):
                break
        data = bytes(c.out)
        decoded = [n for n, _ in E.calls_of(data)]
        assert decoded == [n for n, _, _, _ in calls[:c.calls]], f"{suite}/{name} decodes to other calls"
        with open(os.path.join(OUT_DIR, f"trace-{suite}-{name}"), "wb") as f:
            f.write(data)
        written += 1
        cut = f" (of {len(calls)})" if c.calls < len(calls) else ""
        print(f"trace-{suite}-{name}: {c.calls} calls{cut}, {len(data)} bytes")
    print(f"{written} trace seeds")


if __name__ == "__main__":
    main()
