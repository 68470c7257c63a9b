#!/usr/bin/env python3
"""Writes one `kind: List` document as `kubectl get -o json|yaml` prints it, for BENCHMARKS.md.

Usage: scripts/gen_list.py KIND N FORMAT > FILE
  KIND    pod | deployment
  N       number of items
  FORMAT  json (kubectl's indented JSON), line (the same List on one line), yaml

Each item is about 1 KB of kubectl's JSON with the findings a real dump has (no probes, no limits, no
securityContext), so every item carries several fixes. Deterministic.
"""

import json
import sys


def container(i, name, image):
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }


def pod_spec(i):
    return {
        "containers": [container(i, "app", f"registry.example.com/team/app:1.{i % 50}")],
        "restartPolicy": "Always",
    }


def labels(i):
    return {"app": f"app-{i}", "team": f"team-{i % 20}"}


def item(kind, i):
    ns = f"ns-{i % 25}"
    if kind == "pod":
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"app-{i}-7d9c5b6f4-x{i:05d}",
                "namespace": ns,
                "labels": labels(i),
                "uid": f"00000000-0000-4000-8000-{i:012d}",
            },
            "spec": dict(pod_spec(i), nodeName=f"node-{i % 40}"),
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"app-{i}",
            "namespace": ns,
            "labels": labels(i),
            "uid": f"00000000-0000-4000-8000-{i:012d}",
        },
        "spec": {
            "replicas": 1 + i % 3,
            "selector": {"matchLabels": labels(i)},
            "template": {"metadata": {"labels": labels(i)}, "spec": pod_spec(i)},
        },
    }


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    # Quote what YAML would read as something other than this string.
    plain = s and all(c.isalnum() or c in "-_./:" for c in s) and not s[0].isdigit() and s not in ("true", "false", "null", "yes", "no", "on", "off")
    return s if plain and ": " not in s else json.dumps(s)


def to_yaml(v, indent, out):
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{k}:")
                to_yaml(x, indent + 2 if isinstance(x, dict) else indent, out)
            else:
                out.append(f"{pad}{k}: {yaml_scalar(x) if not isinstance(x, (dict, list)) else json.dumps(x)}")
    else:
        for x in v:
            if isinstance(x, dict):
                sub = []
                to_yaml(x, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            else:
                out.append(f"{pad}- {yaml_scalar(x)}")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("pod", "deployment") or sys.argv[3] not in ("json", "line", "yaml"):
        sys.exit(__doc__)
    kind, n, fmt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    doc = {
        "apiVersion": "v1",
        "items": [item(kind, i) for i in range(n)],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=4) + "\n")
    elif fmt == "line":
        sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
    else:
        out = []
        to_yaml(doc, 0, out)
        sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
