#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# agent_api.py - the selftests' admin client of the fake kube-apiserver
# (used by agent_lib.sh). One long-running process with one kept-alive TLS
# connection: in the test VM every process start costs seconds (python3,
# curl and jq alike), a request here a few milliseconds.
#
# Reads one request per line on stdin, tab separated:
#   METHOD  PATH  CONTENT-TYPE  QUERY  BODY
# (empty fields allowed; BODY is one line of JSON) and answers with the
# response body, or the QUERY's result, then a line "@@ status=CODE"
# (000 when no response could be had). Special METHODs:
#   CONFIG  URL  CA-FILE  TOKEN      where and as whom (before any request;
#                                    started early, the server may not run)
#   FILE    PATH                     a file of JSON lines (an audit log):
#                                    the "response" is the list of them
# QUERY, if not empty, picks a value out of the JSON response:
#   key|key|0|...    keys and list indexes; a string is printed as is,
#                    anything else as JSON, a missing key as nothing
#   py:EXPR          a Python expression over d (the parsed response);
#                    a list or generator prints one line per item

import http.client
import json
import ssl
import sys
import urllib.parse


def pick(data, query):
    if query.startswith("py:"):
        v = eval(query[3:], {"json": json, "d": data})
        if not isinstance(v, (str, dict, int, float, bool)) and \
                v is not None:
            return "\n".join(str(x) for x in v)
    else:
        v = data
        for k in query.split("|"):
            if isinstance(v, list):
                try:
                    v = v[int(k)]
                except (ValueError, IndexError):
                    return ""
            elif isinstance(v, dict) and k in v:
                v = v[k]
            else:
                return ""
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v)


class Client:
    def __init__(self):
        self.url = self.ctx = self.token = self.conn = None

    def request(self, method, path, ctype, body):
        u = urllib.parse.urlsplit(self.url)
        headers = {"Authorization": "Bearer " + self.token,
                   "Accept": "application/json"}
        if body:
            headers["Content-Type"] = ctype or "application/json"
        status, data = 0, b""
        for _ in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(
                        u.hostname, u.port, context=self.ctx, timeout=30)
                self.conn.request(method, path,
                                  body.encode() if body else None, headers)
                r = self.conn.getresponse()
                return r.status, r.read().decode(errors="replace")
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                data = "agent_api.py: %s" % e
        return status, data


def main():
    c = Client()
    for line in sys.stdin:
        f = line.rstrip("\n").split("\t", 4)
        f += [""] * (5 - len(f))
        method, path, ctype, query, body = f
        status, out = 200, ""
        try:
            if method == "CONFIG":
                c.url, c.token = path, query
                c.ctx = ssl.create_default_context(cafile=ctype)
            elif method == "FILE":
                with open(path) as fh:
                    out = [json.loads(x) for x in fh if x.strip()]
            else:
                status, out = c.request(method, path, ctype, body)
            if query and method != "CONFIG":
                if not isinstance(out, list):
                    try:
                        out = json.loads(out)
                    except ValueError:
                        out = None
                out = pick(out, query) if out is not None else ""
            elif isinstance(out, list):
                out = json.dumps(out)
        except Exception as e:     # a test helper: say what broke, go on
            status, out = 0, "agent_api.py: %s: %s" % (type(e).__name__, e)
        sys.stdout.write(out)
        if out and not out.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.write("@@ status=%03d\n" % status)
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
