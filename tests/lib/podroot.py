#!/usr/bin/python3
"""Runs a command in a private mount namespace laid out like a container's filesystem.

The view is the host's filesystem plus volumes bind-mounted at any path (/data,
/run/redis-cluster-agent, /usr/local/etc/redis, a single file...), a private /etc/hosts, the
container's user and groups, and optionally a read-only root with only the volumes writable,
like Kubernetes' readOnlyRootFilesystem. Nothing is created on the host: the new root is a tmpfs
holding bind mounts of the host's top-level directories, and a directory that needs a new mount
point is "shadowed" by a tmpfs that re-binds its entries. Then chroot, drop to the user, exec.

Usage (as root): podroot.py --root EMPTY_DIR [--mount SRC:DST[:ro]]... [--hosts FILE]
                 [--uid N --gid N [--groups N,...]] [--read-only] [--workdir DIR] -- ARGV...
The command gets this process' environment (the caller passes the container's).
"""
import argparse
import ctypes
import os
import stat
import sys

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
# Kernel filesystems keep their own flags: a container runtime mounts its own, writable ones.
_KEEP_WRITABLE = {"dev", "proc", "sys"}


def _mount(src, target, fstype=None, flags=0, data=None):
    enc = (lambda s: s.encode() if s is not None else None)
    if _libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {src} on {target}: {os.strerror(err)}")


class Layout:
    def __init__(self, root):
        self.root = root
        self.layers = {"/"}  # container paths that are our own tmpfs (writable mount points)
        self.read_only = []  # mount points to remount read-only at the end

    def host_of(self, path):
        return self.root + path if path != "/" else self.root

    def _replicate(self, host_dir, new_dir):
        """Makes new_dir show host_dir's entries (each entry bound, symlinks copied)."""
        for name in sorted(os.listdir(host_dir)):
            src, dst = os.path.join(host_dir, name), os.path.join(new_dir, name)
            st = os.lstat(src)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dst)
                continue
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(dst)
            else:
                open(dst, "w").close()
            _mount(src, dst, flags=MS_BIND | MS_REC)
            self.read_only.append((dst, name))

    def start(self):
        _mount("tmpfs", self.root, "tmpfs", 0, "mode=0755")
        self._replicate("/", self.root)

    def _shadow(self, path):
        """Replaces the bound directory at container path `path` by a writable copy of it."""
        new = self.host_of(path)
        _mount("tmpfs", new, "tmpfs", 0, "mode=0755")
        self._replicate(path, new)
        self.layers.add(path)
        self.read_only.append((new, "shadow"))

    def mount_point(self, path, is_dir):
        """Makes container path `path` exist, shadowing the first existing parent that is not
        one of our layers. Symlinks on the way are refused (they would resolve on the host)."""
        parts = [p for p in path.split("/") if p]
        cur = "/"
        for k, part in enumerate(parts):
            nxt = os.path.join(cur, part)
            host_nxt = self.host_of(nxt)
            if os.path.islink(host_nxt):
                raise SystemExit(f"podroot: {nxt} is a symlink; mount below its target instead")
            if not os.path.lexists(host_nxt):
                if cur not in self.layers:
                    self._shadow(cur)
                last = k == len(parts) - 1
                if last and not is_dir:
                    open(host_nxt, "w").close()
                else:
                    os.mkdir(host_nxt)
                    self.layers.add(nxt)
            cur = nxt
        return self.host_of(path)

    def bind(self, src, dst, ro):
        target = self.mount_point(dst, os.path.isdir(src))
        _mount(src, target, flags=MS_BIND | MS_REC)
        if ro:
            _mount(None, target, flags=MS_REMOUNT | MS_BIND | MS_RDONLY)

    def seal(self):
        """readOnlyRootFilesystem: everything but the volumes and kernel filesystems."""
        for target, name in reversed(self.read_only):
            if name not in _KEEP_WRITABLE:
                _mount(None, target, flags=MS_REMOUNT | MS_BIND | MS_RDONLY)
        _mount(None, self.root, flags=MS_REMOUNT | MS_RDONLY)


def _parse(argv):
    ap = argparse.ArgumentParser(prog="podroot", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="an empty directory to build the view on")
    ap.add_argument("--mount", action="append", default=[], metavar="SRC:DST[:ro]")
    ap.add_argument("--hosts", help="file to show as /etc/hosts")
    ap.add_argument("--uid", type=int)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--groups", default="", help="supplementary group ids, comma separated")
    ap.add_argument("--read-only", action="store_true")
    ap.add_argument("--workdir", default="/")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        ap.error("no command")
    return args


def main(argv):
    args = _parse(argv)
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    _mount(None, "/", flags=MS_REC | MS_PRIVATE)
    layout = Layout(os.path.abspath(args.root))
    layout.start()
    for spec in args.mount:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "ro"):
            raise SystemExit(f"podroot: bad --mount {spec!r}")
        layout.bind(parts[0], parts[1], len(parts) == 3)
    if args.hosts:
        layout.bind(args.hosts, "/etc/hosts", True)
    if args.read_only:
        layout.seal()
    os.chroot(layout.root)
    os.chdir(args.workdir)
    if args.gid is not None:
        os.setgroups([int(g) for g in args.groups.split(",") if g])
        os.setgid(args.gid)
    if args.uid is not None:
        os.setuid(args.uid)
    os.execvpe(args.command[0], args.command, os.environ)


if __name__ == "__main__":
    main(sys.argv[1:])
