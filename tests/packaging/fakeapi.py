"""A tiny stand-in for the Kubernetes API server, enough for Helm's `lookup`.

`helm template --dry-run=server` renders with a cluster connection: `lookup` then asks the API
server for objects instead of returning nothing. This server answers discovery for the core
group and apps/v1, GET of the objects it holds, an empty list for every list request and 404
for anything else, so the chart's upgrade checks (kept password, refused auth changes) run
against real Helm. Every request is recorded (method, path), for tests that assert what the
chart looked up.

Usage: with FakeApi({("v1", "Secret", "ns", "name"): {...}}) as api: use api.kubeconfig.
"""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    # group/version -> [(plural, kind, namespaced)]
    "v1": [("secrets", "Secret", True), ("configmaps", "ConfigMap", True),
           ("services", "Service", True), ("serviceaccounts", "ServiceAccount", True),
           ("pods", "Pod", True), ("namespaces", "Namespace", False)],
    "apps/v1": [("statefulsets", "StatefulSet", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
}


def _resource_list(group_version):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": ns,
                           "kind": kind, "verbs": ["get", "list", "create", "update", "patch",
                                                   "delete"]}
                          for plural, kind, ns in RESOURCES[group_version]]}


def _groups():
    groups = []
    for gv in RESOURCES:
        if "/" not in gv:
            continue
        group, version = gv.split("/")
        entry = {"groupVersion": gv, "version": version}
        groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


class FakeApi:
    """objects maps (apiVersion, kind, namespace, name) to the object's body."""

    def __init__(self, objects=None, kube_version="v1.33.0"):
        self.objects = dict(objects or {})
        self.kube_version = kube_version
        self.requests = []
        self._server = None
        self._dir = None

    def _path_index(self):
        index = {}
        for (api_version, kind, ns, name), body in self.objects.items():
            plural = next(p for p, k, _ in RESOURCES[api_version] if k == kind)
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            index[f"{prefix}/namespaces/{ns}/{plural}/{name}"] = {
                "apiVersion": api_version, "kind": kind,
                **body, "metadata": {"name": name, "namespace": ns, **body.get("metadata", {})}}
        return index

    def _answer(self, path):
        """(status, body) for a GET."""
        if path == "/version":
            major, minor = self.kube_version.lstrip("v").split(".")[:2]
            return 200, {"major": major, "minor": minor, "gitVersion": self.kube_version}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            return 200, _groups()
        gv = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
        if gv in RESOURCES:
            return 200, _resource_list(gv)
        index = self._path_index()
        if path in index:
            return 200, index[path]
        parts = path.strip("/").split("/")
        if parts and parts[-1] in {p for rs in RESOURCES.values() for p, _, _ in rs}:
            return 200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404, "message": f"{path} not found"}

    def __enter__(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?", 1)[0]
                api.requests.append(("GET", path))
                status, body = api._answer(path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        import tempfile
        self._dir = tempfile.mkdtemp(prefix="fakeapi-")
        self.kubeconfig = os.path.join(self._dir, "kubeconfig")
        port = self._server.server_address[1]
        with open(self.kubeconfig, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                       "clusters": [{"name": "fake",
                                     "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                       "contexts": [{"name": "fake",
                                     "context": {"cluster": "fake", "user": "fake"}}],
                       "users": [{"name": "fake", "user": {}}]}, f)
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        import shutil
        shutil.rmtree(self._dir, ignore_errors=True)
