#!/bin/bash
# `cordon log --net` shows the records of HTTP requests the proxy read
# (allowed or refused, plain or inside an intercepted tunnel): method,
# path, status and bytes in the timeline, a request count per destination
# in the table. Golden output from a log as the proxy writes it.
. "$(dirname "$0")/../lib.sh"

RLOG=$T/requests.jsonl
$PY - <<'PY' | $PY "$(dirname "$0")/alog.py" chain "$RLOG" "$(printf 'cd%.0s' $(seq 16))"
import json
recs = [dict(type="session_start", argv=["x"], cwd="/w", user="u", uid=1, policy_digest="sha256:0")]
def net(host, port, proto, dec, rule, reason, up, down, **kw):
    recs.append(dict(type="net", host=host, port=port, address="192.0.2.1", protocol=proto,
                     decision=dec, rule=rule, reason=reason, bytes_up=up, bytes_down=down,
                     duration_ms=3, **kw))
rr = "rules.test: methods GET; paths /ok/*"
net("rules.test", 80, "transparent", "deny", rr,
    "denied by network.rules: no rule for this host allows the method POST", 0, 0,
    method="POST", path="/other", status=403)
net("rules.test", 80, "transparent", "allow", "*.test:*", None, 120, 0)
net("rules.test", 80, "transparent", "allow", rr, None, 78, 155, method="GET", path="/ok/a", status=200)
net("rules.test", 80, "transparent", "allow", rr, None, 80, 0, method="GET", path="/ok/b", status=None)
net("rules.test", 80, "transparent", "allow", "*.test:*", None, 158, 155)
net("api.test", 443, "http-connect", "allow", "*.test:*", None, 137, 154, method="GET", path="/v1",
    status=200, intercepted=True)
net("api.test", 443, "http-connect", "allow", "*.test:*", None, 600, 4000, intercepted=True)
recs.append(dict(type="session_end", status=0, reason="exit", duration_ms=5, counters={}))
for r in recs:
    print(json.dumps(r))
PY
cat > "$T/expected" <<'EOF2'
00:00:01.000  net   deny rules.test:80 POST /other -> 403 rule rules.test: methods GET; paths /ok/* (denied by network.rules: no rule for this host allows the method POST)
00:00:02.000  net   allow rules.test:80 rule *.test:*
00:00:03.000  net   allow rules.test:80 GET /ok/a -> 200, 78 B up, 155 B down rule rules.test: methods GET; paths /ok/*
00:00:04.000  net   allow rules.test:80 GET /ok/b -> no response, 80 B up, 0 B down rule rules.test: methods GET; paths /ok/*
00:00:05.000  net   allow rules.test:80 rule *.test:*
00:00:06.000  net   allow api.test:443 GET /v1 -> 200, 137 B up, 154 B down, TLS intercepted rule *.test:*
00:00:07.000  net   allow api.test:443 rule *.test:*

Network (3 destinations)
  HOST                              PORT  DECISION RULE                      COUNT  LAST SEEN
  rules.test                          80  denied   rules.test: methods GET; paths /ok/*      0  2026-01-01T00:00:01.000000Z  (1 HTTP request)
  rules.test                          80  allowed  *.test:*                      2  2026-01-01T00:00:05.000000Z  (2 HTTP requests)
  api.test                           443  allowed  *.test:*                      1  2026-01-01T00:00:07.000000Z  (1 HTTP request)
EOF2
expect_output "the synthetic log verifies" "OK \\(9 records" "$CORDON" log verify --file "$RLOG"
TZ=UTC "$CORDON" log --file "$RLOG" --all --net > "$T/got" 2>&1
check "cordon log --net: requests in the timeline and counted per destination (golden)" \
	diff -u "$T/expected" "$T/got"
expect_output "control: a connection's record stays one line without a request" \
	"allow api\\.test:443 rule \\*\\.test:\\*$" "$CORDON" log --file "$RLOG" --all --net

done_testing
