// Web Worker: solve the ALTCHA-style proof of work off the main thread.
// Find `number` in 0..max with hex(SHA-256(salt + decimal(number))) === challenge.

type Task = { salt: string; challenge: string; maxNumber: number };
type Result = { number: number } | { error: string };

const BATCH = 1000; // digests in flight at once; WebCrypto is async, batching keeps it fast

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  let out = "";
  for (const byte of new Uint8Array(buffer)) out += byte.toString(16).padStart(2, "0");
  return out;
}

async function solve(task: Task): Promise<Result> {
  for (let start = 0; start <= task.maxNumber; start += BATCH) {
    const end = Math.min(start + BATCH - 1, task.maxNumber);
    const candidates: Promise<string>[] = [];
    for (let n = start; n <= end; n++) {
      candidates.push(crypto.subtle.digest("SHA-256", encoder.encode(task.salt + String(n))).then(hex));
    }
    const digests = await Promise.all(candidates);
    const found = digests.indexOf(task.challenge);
    if (found >= 0) return { number: start + found };
  }
  return { error: "unsolvable" };
}

// A dedicated worker's global scope; typed as a Worker so postMessage takes one argument.
const scope = self as unknown as Worker;
scope.onmessage = async (event: MessageEvent<Task>) => {
  scope.postMessage(await solve(event.data));
};
