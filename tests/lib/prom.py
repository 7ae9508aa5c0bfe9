#!/usr/bin/python3
"""A real Prometheus server (the Debian package) for tests: a temporary config and storage dir,
a loopback listen address, started in its own session and stopped by pid."""
import json
import os
import time
import urllib.parse
import urllib.request

import yaml

import wait
from localsts import Process


class Prometheus:
    def __init__(self, root, listen, targets, rule_files=(), scrape_interval="1s",
                 job="redis-cluster-agent"):
        self.root, self.listen, self.targets = root, listen, list(targets)
        self.rule_files, self.interval, self.job = list(rule_files), scrape_interval, job
        self.proc = None

    def _config(self):
        return {
            "global": {"scrape_interval": self.interval, "scrape_timeout": self.interval,
                       "evaluation_interval": self.interval},
            "rule_files": self.rule_files,
            "scrape_configs": [{"job_name": self.job,
                                "static_configs": [{"targets": self.targets}]}],
        }

    def start(self):
        os.makedirs(os.path.join(self.root, "data"), exist_ok=True)
        conf = os.path.join(self.root, "prometheus.yml")
        with open(conf, "w") as f:
            yaml.safe_dump(self._config(), f)
        self.proc = Process.spawn(
            ["prometheus", f"--config.file={conf}", f"--storage.tsdb.path={self.root}/data",
             f"--web.listen-address={self.listen}", "--log.level=warn"],
            os.path.join(self.root, "prometheus.log"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.listen}/-/ready", timeout=1).read()
                return self
            except OSError:
                if not self.proc.alive():
                    raise RuntimeError(f"prometheus exited: {self.log()[-2000:]}")
                time.sleep(0.1)
        raise TimeoutError(f"prometheus not ready: {self.log()[-2000:]}")

    def stop(self):
        if self.proc:
            self.proc.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        with open(os.path.join(self.root, "prometheus.log"), errors="replace") as f:
            return f.read()

    def api(self, path, **params):
        url = f"http://{self.listen}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        """Instant query: [(labels, float value)]."""
        return [(r["metric"], float(r["value"][1]))
                for r in self.api("query", query=expr)["result"]]

    def scalar(self, expr):
        result = self.query(expr)
        return result[0][1] if len(result) == 1 else None

    def wait_for(self, what, check, timeout=60, interval=0.25):
        return wait.wait_for(what, check, timeout, interval)

    def firing(self, alertname):
        return [a for a in self.api("alerts")["alerts"]
                if a["labels"].get("alertname") == alertname and a["state"] == "firing"]
