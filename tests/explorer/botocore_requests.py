"""botocore's requests for the cases of corpus.json, with the corpus's
credentials and clock: one JSON object per case (method, url, headers
without the per-call ones, body base64) on stdout, in corpus order. The
request is captured as it would be sent and never leaves the process.

    python tests/explorer/botocore_requests.py tests/explorer/corpus.json
"""
import base64
import datetime
import json
import sys

import botocore.auth
import botocore.session
from botocore.config import Config

# Headers that differ per call or per client: not part of the comparison.
PER_CALL = {"user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "x-amz-user-agent"}


class Captured(Exception):
    pass


def sorted_params(value):
    """The parameters in name order, as the explorer iterates them."""
    if isinstance(value, dict):
        return {k: sorted_params(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_params(v) for v in value]
    return value


def main() -> None:
    corpus = json.load(open(sys.argv[1]))
    creds = corpus["credentials"]
    fixed = datetime.datetime.strptime(corpus["time"], "%Y-%m-%dT%H:%M:%SZ")
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
    session = botocore.session.get_session()
    for case in corpus["cases"]:
        client = session.create_client(
            case["service"],
            region_name=case["region"],
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
            aws_session_token=creds["session_token"],
            config=Config(retries={"total_max_attempts": 1}),
        )

        def unsigned(request, **_):
            for name in list(request.headers.keys()):
                if name.lower() in PER_CALL:
                    del request.headers[name]

        captured = {}

        def capture(request, **_):
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            captured.update(
                method=request.method,
                url=request.url,
                headers={
                    k.lower(): (v.decode() if isinstance(v, bytes) else v)
                    for k, v in request.headers.items()
                    if k.lower() not in PER_CALL
                },
                body=base64.b64encode(body).decode(),
            )
            raise Captured()

        client.meta.events.register("before-sign", unsigned)
        client.meta.events.register("before-send", capture)
        try:
            client._make_api_call(case["operation"], sorted_params(case["params"]))
        except Captured:
            pass
        print(json.dumps(captured, sort_keys=True))


if __name__ == "__main__":
    main()
