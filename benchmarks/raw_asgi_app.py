"""The floor under any Python feature server on this machine: an ASGI app that reads the
body and answers a fixed feast-shaped JSON, with no store behind it.

bench_http.py serves it with granian exactly as infra/serve.sh serves ours (2 workers,
uvloop, HTTP/1.1) and loads it like the real servers: whatever latency this app shows at a
rate is the part no feature server written in Python here could remove.
"""

BODY = (b'{"metadata":{"feature_names":["ticker","ret_1d"]},'
        b'"results":[{"values":["AAPL"],"statuses":["PRESENT"]},'
        b'{"values":[0.0123],"statuses":["PRESENT"]}]}')
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
