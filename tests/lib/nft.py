"""A dead pod's address goes silent (no RST), like a deleted pod's IP in Kubernetes: nftables
drops every packet sent to it, so connects time out instead of being refused."""
import subprocess


class Silencer:
    """The drop rules of one local StatefulSet, in a table of its own (named after its network,
    so StatefulSets of parallel tests never touch each other's rules)."""

    def __init__(self, net):
        self.table = "rca_" + net.replace(".", "_")

    def silence(self, ip):
        subprocess.run(["nft", "add", "table", "inet", self.table], check=True)
        subprocess.run(["nft", "add", "chain", "inet", self.table, "out",
                        "{ type filter hook output priority 0 ; }"], check=True)
        subprocess.run(["nft", "add", "rule", "inet", self.table, "out", "ip", "daddr", ip,
                        "drop"], check=True)

    def clear(self):
        subprocess.run(["nft", "delete", "table", "inet", self.table],
                       stderr=subprocess.DEVNULL)
