#!/usr/bin/env python3
"""Write the seed inputs of every fuzz target into fuzz/corpus/TARGET/ (README: Fuzzing).

Seeds are real inputs: receive-pack and upload-pack answers as git and Gitea send them,
Gitea REST answers and event payloads of the shapes the fake and real servers give, the
default config. `cargo fuzz cmin` then folds what the runs found into fuzz/corpus/TARGET/.
"""
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
SEEDS = ROOT / "corpus"
A = "1" * 40
B = "2" * 40
C = "3" * 40


def pkt(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%04x" % (len(data) + 4) + data


FLUSH, DELIM, END = b"0000", b"0001", b"0002"


def band(channel, data):
    if isinstance(data, str):
        data = data.encode()
    return pkt(bytes([channel]) + data)


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# ---- push: receive-pack's answer ------------------------------------------------------
accepted = pkt("unpack ok\n") + pkt("ok refs/heads/staging\n") + FLUSH
rejected = pkt("unpack ok\n") + pkt("ng refs/heads/staging pre-receive hook declined\n") + FLUSH
unpack_failed = pkt("unpack index-pack abnormal exit\n") + pkt("ng refs/heads/staging unpacker error\n") + FLUSH
for name, report in [("accepted", accepted), ("rejected", rejected), ("unpack-failed", unpack_failed)]:
    write("pkt_line", f"plain-{name}", b"\x00" + report)
    write(
        "pkt_line",
        f"sideband-{name}",
        b"\x01"
        + band(2, "remote: Gitea: checking the push\n")
        + band(1, report)
        + band(2, "remote: error: protected branch\r\n")
        + band(3, "fatal\n")
        + FLUSH,
    )
write("pkt_line", "sideband-split", b"\x01" + band(1, accepted[:7]) + band(1, accepted[7:]) + FLUSH)
write("pkt_line", "error-line", b"\x00" + pkt("ERR access denied\n"))

for name, lines in [
    ("accepted", ["unpack ok", "ok refs/heads/staging"]),
    ("rejected", ["unpack ok", "ng refs/heads/staging pre-receive hook declined"]),
    ("failed-update", ["unpack ok", "ng refs/heads/staging failed to update ref"]),
    ("unpack", ["unpack index-pack abnormal exit", "ng refs/heads/staging unpacker error"]),
    ("other-ref", ["unpack ok", "ok refs/heads/main"]),
    ("no-unpack", ["ok refs/heads/staging"]),
    ("ng-no-reason", ["unpack ok", "ng refs/heads/staging"]),
]:
    write("report_status", name, "\n".join(["refs/heads/staging"] + lines))

# ---- fetch: upload-pack's answer ------------------------------------------------------
# selector: bit 0 = V2, bits 1.. = parser (0 response, 1 ls-refs, 2 V1 advertisement),
# bit 3 = client expects a pack, bit 4 = client negotiates
def fetch(selector, name, data):
    write("fetch_response", name, bytes([selector]) + data)


fetch(
    0b1,
    "v2-acks-ready-pack",
    pkt("acknowledgments\n") + pkt(f"ACK {A}\n") + pkt("ready\n") + DELIM + pkt("packfile\n") + band(1, b"PACK\x00\x00\x00\x02\x00\x00\x00\x00") + FLUSH,
)
fetch(0b1, "v2-nak", pkt("acknowledgments\n") + pkt("NAK\n") + FLUSH)
fetch(
    0b1,
    "v2-shallow-wanted-pack",
    pkt("shallow-info\n") + pkt(f"shallow {A}\n") + pkt(f"unshallow {B}\n") + DELIM
    + pkt("wanted-refs\n") + pkt(f"{C} refs/heads/main\n") + DELIM
    + pkt("packfile\n") + band(2, "Enumerating objects: 3, done.\n") + band(1, b"PACK") + FLUSH,
)
fetch(0b11000, "v1-acks", pkt(f"ACK {A} common\n") + pkt(f"ACK {B} ready\n") + pkt("NAK\n") + pkt(f"ACK {B}\n") + b"PACK")
fetch(0b11000, "v1-shallow", pkt(f"shallow {A}\n") + pkt(f"unshallow {B}\n") + FLUSH + pkt("NAK\n") + b"PACK")
fetch(0b10000, "v1-nak", pkt("NAK\n"))
fetch(
    0b011,
    "v2-ls-refs",
    pkt(f"{A} HEAD symref-target:refs/heads/main\n") + pkt(f"{A} refs/heads/main\n")
    + pkt(f"{B} refs/tags/v1 peeled:{C}\n") + pkt(f"unborn HEAD symref-target:refs/heads/x\n") + FLUSH,
)
fetch(
    0b100,
    "v1-advertisement",
    f"{A} HEAD\0report-status side-band-64k quiet symref=HEAD:refs/heads/main agent=git/2.47\n".encode()
    + pkt(f"{A} refs/heads/main\n") + pkt(f"{B} refs/tags/v1\n") + pkt(f"{C} refs/tags/v1^{{}}\n")
    + pkt(f"shallow {A}\n") + FLUSH,
)

# ---- REST answers ---------------------------------------------------------------------
user = {"id": 1, "login": "alice", "full_name": "Alice", "email": "alice@example.com"}
label = {"id": 7, "name": "tier:high", "color": "e11d21", "description": "high"}
branch = {"ref": "feature", "sha": A, "repo_id": 3}
pull = {
    "number": 12, "state": "open", "merged": False, "user": user, "head": branch,
    "base": {"ref": "staging", "sha": B, "repo_id": 3}, "labels": [label],
    "title": "tier: reasons", "html_url": "http://127.0.0.1:3000/o/r/pulls/12",
}
rest = {
    "user": user,
    "pull": pull,
    "pulls": [pull, pull],
    "issue": {"number": 12, "state": "open", "pull_request": {"merged": False}},
    "files": [
        {"filename": "src/lib.rs", "status": "changed", "additions": 3, "deletions": 1},
        {"filename": "b.rs", "status": "renamed", "additions": 0, "deletions": 0, "previous_filename": "a.rs"},
    ],
    "reviews": [
        {"id": 5, "user": user, "state": "APPROVED", "body": "", "commit_id": A, "official": True,
         "stale": False, "dismissed": False, "submitted_at": "2026-12-01T10:00:00Z"},
        {"id": 6, "user": None, "state": "REQUEST_CHANGES", "official": "true", "stale": None},
    ],
    "labels": [label],
    "statuses": [
        {"id": 2, "status": "success", "context": "qa-review", "description": "2 approvals",
         "target_url": "", "creator": user, "created_at": "2026-12-01T10:00:00Z",
         "updated_at": "2026-12-01T10:00:00Z"},
    ],
    "teams": [{"id": 4, "name": "qa", "permission": "write", "organization": {"id": 1, "username": "org"}}],
    "timeline": [None, {"id": 9, "type": "comment", "body": "/qa-recheck", "user": user,
                        "created_at": "2026-12-01T10:00:00Z"}],
    "timeline-null": None,
    "release": {"id": 1, "tag_name": "v0.1.0", "assets": [
        {"id": 2, "name": "SHA256SUMS", "size": 120, "browser_download_url": "http://x/a"}]},
    "branch": {"name": "staging", "commit": {"id": A, "message": "m"}, "protected": True},
    "compare": {"total_commits": 2, "commits": [{"sha": A}]},
    "comments": [{"id": 3, "body": "shipgate", "user": user, "html_url": ""}],
    "settings": {"max_response_items": 50, "default_paging_num": 30},
    "version": {"version": "1.22.6"},
    "repository": {"id": 3, "name": "r", "full_name": "o/r", "default_branch": "main",
                   "permissions": {"admin": False, "push": True, "pull": True}},
    "protections": [{"branch_name": "main", "rule_name": "main", "enable_status_check": True,
                     "status_check_contexts": ["qa-review", "security-review"],
                     "required_approvals": 2, "dismiss_stale_approvals": True}],
    "error": {"message": "token does not have at least one of required scope(s)", "url": "x"},
}
for name, value in rest.items():
    write("rest_types", name, json.dumps(value))

# ---- event payloads: first byte = index into event_payload.rs NAMES --------------------
events = {
    "pull_request": (0, {"action": "opened", "number": 12, "pull_request": pull}),
    "pull_request_target": (1, {"action": "synchronized", "pull_request": pull}),
    "review": (2, {"action": "reviewed", "pull_request": pull, "review": {"type": "pull_request_review_approved", "content": ""}}),
    "review-comment": (5, {"action": "reviewed", "pull_request": pull}),
    "issue_comment": (6, {"action": "created", "issue": {"number": 12, "pull_request": {"merged": False}},
                          "comment": {"id": 3, "body": "/qa-recheck", "user": user}, "is_pull": True}),
    "push": (7, {"ref": "refs/heads/main", "before": A, "after": B, "commits": []}),
    "workflow_dispatch": (8, {"inputs": {"pr": "12"}, "ref": "refs/heads/main"}),
    "schedule": (9, {}),
}
for name, (selector, payload) in events.items():
    write("event_payload", name, bytes([selector]) + json.dumps(payload).encode())

# ---- config ---------------------------------------------------------------------------
default = (ROOT.parent / "src" / "config" / "default-config.yml").read_text()
write("config_yaml", "default", default)
write("config_yaml", "small", "tier:\n  max_lines: 200\n  high_paths: [\"db/**\"]\nreview:\n  required_approvals: 1\n")
write("config_yaml", "unknown-key", "tier:\n  max_line: 200\n")
write("config_yaml", "wrong-type", "sync:\n  max_attempts: three\n")
write("config_yaml", "anchors", "a: &x [1, 2]\ntier:\n  risk_labels: *x\n")
write("config_yaml", "clauses", "qa AND (security, platform)")
write("config_yaml", "empty", "")

# ---- .gitattributes: text, NUL, paths --------------------------------------------------
write("gitattributes", "linguist", "gen/** linguist-generated\n*.pb.go linguist-generated=true\nthird/** linguist-vendored\n\0gen/a.rs\nx.pb.go\nthird/y\nsrc/lib.rs\n")
write("gitattributes", "quoted", "# comment\n[attr]binary -diff\n\"with space/*\" linguist-vendored\nvendor/** -linguist-vendored\n!x linguist-generated=false\n\0with space/a\nvendor/b\n")
write("gitattributes", "anchored", "/docs/** linguist-documentation\n/*.min.js linguist-generated\nsrc/**/*.gen.ts linguist-generated\n\0a.min.js\nsrc/x/y.gen.ts\n")

# ---- config globs: one per line, NUL, paths ---------------------------------------------
globs = [line.strip()[3:-1] for line in default.splitlines() if line.strip().startswith('- "')]
write("config_globs", "default", "\n".join(globs) + "\0db/migrations/1.sql\nsrc/auth/x.rs\nCargo.lock\nREADME.md\n")
write("config_globs", "classes", "**/*.{md,rst}\n[a-c]?/**\n**/\\*literal\n\0a1/x\ndocs/a.md\n*literal\n")
