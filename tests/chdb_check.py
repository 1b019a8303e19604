"""Run SQL statements (a JSON list on stdin) in chdb, ClickHouse in-process, one session.

The session has a storage policy `tiered` with volumes hot/warm/cold/archive (one local disk
each), like a server set up for Lyceum's TTL tiering.

Prints a JSON list with each statement's TSV output. Exits non-zero with the statement and
chdb's error when one fails, so the Rust test shows which generated SQL is invalid.
"""
import json
import os
import sys
import tempfile

try:
    from chdb import session
except ImportError as e:  # pragma: no cover - reported to the Rust test
    sys.exit(f"chdb is not installed for {sys.executable}: {e} (scripts/test.sh installs chdb-core)")

statements = json.load(sys.stdin)
outputs = []
TIERS = ("hot", "warm", "cold", "archive")

# chdb's background merges may still write while the folder goes: a leftover temp file is no
# verdict on the SQL.
with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as path:
    disks = "".join(f"<{t}><path>{path}/{t}/</path></{t}>" for t in TIERS)
    volumes = "".join(f"<{t}><disk>{t}</disk></{t}>" for t in TIERS)
    config = os.path.join(path, "config.xml")
    with open(config, "w") as f:
        f.write(
            "<clickhouse><storage_configuration>"
            f"<disks>{disks}</disks><policies><tiered><volumes>{volumes}</volumes></tiered></policies>"
            "</storage_configuration></clickhouse>"
        )
    s = session.Session(f"file:{path}/db?config-file={config}")
    for sql in statements:
        try:
            outputs.append(str(s.query(sql, "TSV")))
        except Exception as e:  # noqa: BLE001 - any chdb failure is the answer
            sys.exit(f"statement failed:\n{sql}\n\nchdb: {e}")
    s.close()
print(json.dumps(outputs))
