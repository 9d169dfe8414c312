#!/usr/bin/env python3
"""Prepares etcd's gRPC API definitions for protoc, from the .proto files that
Debian ships in golang-etcd-server-dev (docs/fleet.md).

Those files carry Go-only options: gogoproto field options and grpc-gateway HTTP
annotations. Neither changes a single byte on the wire, but each pulls in
another .proto tree and its generated C++. So this copies rpc.proto, kv.proto and
auth.proto flat into the output directory without them, and points rpc.proto's
imports at the flat copies. Message and service definitions stay as etcd wrote
them; a definition that went missing fails protoc, not a test.

Usage: etcd_proto.py SOURCE_ROOT OUTPUT_DIR
"""
import os
import re
import sys

FILES = {
    "rpc.proto": "etcd/etcdserver/etcdserverpb/rpc.proto",
    "kv.proto": "etcd/mvcc/mvccpb/kv.proto",
    "auth.proto": "etcd/auth/authpb/auth.proto",
}


def strip_go_options(text):
    text = re.sub(r'^import "(gogoproto/gogo|google/api/annotations)\.proto";\n', "", text, flags=re.M)
    text = re.sub(r"^option \(gogoproto\.[^;]*;\n", "", text, flags=re.M)
    # Field options: [(gogoproto.x) = y] or several of them, comma-separated.
    text = re.sub(r"\s*\[\(gogoproto\.[^\]]*\]", "", text)
    # rpc X(..) returns (..) { option (google.api.http) = { ... }; }
    text = re.sub(r"option \(google\.api\.http\) = \{.*?\};", "", text, flags=re.S)
    for flat, original in FILES.items():
        text = text.replace(f'import "{original}";', f'import "{flat}";')
    return text


def main():
    source_root, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for flat, original in FILES.items():
        path = os.path.join(source_root, original.removeprefix("etcd/"))
        with open(path, encoding="utf-8") as f:
            text = strip_go_options(f.read())
        if "gogoproto" in text or "google.api" in text:
            sys.exit(f"etcd_proto.py: {path}: an option this script does not know is left")
        with open(os.path.join(out_dir, flat), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
