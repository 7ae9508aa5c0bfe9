"""Pod names through the system resolver, the way the headless Service (with
publishNotReadyAddresses) serves them: every agent runs in its own mount namespace with a
private /etc/hosts, which these functions write and keep current."""
import os


def hosts_text(pods):
    """An /etc/hosts with a record for every running pod."""
    lines = ["127.0.0.1 localhost"]
    for p in pods:
        if p.running:
            lines.append(f"{p.ip} {p.dns_name} {p.name}")
    return "\n".join(lines) + "\n"


def rewrite_in_place(path, text):
    """Writes `text` into the file at `path` without replacing the file.

    The file is bind-mounted over /etc/hosts in the agents' mount namespaces: replacing it by
    rename would leave them on the old inode. One write of the padded text; never a moment when
    the file is empty."""
    old = os.path.getsize(path) if os.path.exists(path) else 0
    data = text.encode()
    if len(data) < old:
        data += b"\n" * (old - len(data))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def in_namespace(hosts, argv):
    """argv run in a new mount namespace in which `hosts` is /etc/hosts."""
    return ["unshare", "--mount", "--", "/bin/sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + argv
