"""The bottom layer under `interceptors/` and `server/`: per-call state, deliberate errors, tolerant decoding.

`call` holds the running call's facts (request id, client IP, language, principal), `errors` the
localized messages, `abort` and `DependencyUnavailable`, `decoding` the request deserializers that
never raise. It imports neither `interceptors` nor `server`; both import it (tests/test_layers.py).
"""
