"""What sealing costs per field: AES-256-GCM seal and open, and the email's blind index (HMAC-SHA-256).

Run: .venv/bin/python bench/sealing.py [--rounds 20000]
The end-to-end cost is in bench/conversation.py and bench/login.py (README "Benchmarks"): a SendMessage
seals the slots and two to four messages and opens the slots once; a Login computes one blind index and
opens one email.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.storage.keyring import DataKey, Keyring  # noqa: E402
from server.storage.sealing import Cipher  # noqa: E402

MESSAGE = "Mein Hund zieht beim Spazierengehen ständig an der Leine nach vorne, vor allem morgens am Feld."
SLOTS = {
    "language": "de",
    "symptom": MESSAGE,
    "context": "Meistens morgens auf dem Feld, wenn er Wild riecht. Er ist ein Beagle.",
    "behavior": "leash-pulling",
    "said": {"greeting": [0], "ask_symptom": [0], "explain": [1, 2]},
    "feedback": {"helped": "ja, sehr", "perspective": "spannend"},
}


def per_call_us(fn: object, rounds: int) -> float:
    """Median of 5 runs of `rounds` calls, in microseconds per call."""
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()  # type: ignore[operator]
        runs.append((time.perf_counter() - t0) / rounds * 1e6)
    return statistics.median(runs)


def main(rounds: int) -> None:
    cipher = Cipher(Keyring([DataKey(1, hashlib.sha256(b"bench").digest())]), hashlib.sha256(b"index").digest())
    where = ("conv-id", 3)
    sealed_text = cipher.seal("messages", "text", where, MESSAGE, as_json=False)
    sealed_slots = cipher.seal("conversations", "context", ("conv-id",), SLOTS, as_json=True)
    rows = [
        ("seal a message (97 characters)", lambda: cipher.seal("messages", "text", where, MESSAGE, as_json=False)),
        ("open a message", lambda: cipher.open("messages", "text", where, sealed_text, as_json=False)),
        ("seal the slots (JSON, ~330 B)", lambda: cipher.seal("conversations", "context", ("c",), SLOTS, as_json=True)),
        ("open the slots", lambda: cipher.open("conversations", "context", ("conv-id",), sealed_slots, as_json=True)),
        ("blind index of an email", lambda: cipher.blind("erika.mustermann@example.org")),
    ]  # fmt: skip
    print("| operation | µs per call |")
    print("| --- | --- |")
    for name, fn in rows:
        print(f"| {name} | {per_call_us(fn, rounds):.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20000)
    main(parser.parse_args().rounds)
