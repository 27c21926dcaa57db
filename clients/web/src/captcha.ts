// Get a CAPTCHA from the server and solve it in a Web Worker (WebCrypto SHA-256).
import type { CaptchaSolution, GetCaptchaResponse } from "./gen/wuffchat/auth/v1/auth_service_pb";

type WorkerResult = { number: number } | { error: string };

export function solveCaptcha(captcha: GetCaptchaResponse): Promise<Omit<CaptchaSolution, "$typeName">> {
  return new Promise((resolve, reject) => {
    const worker = new Worker("/captcha-worker.js");
    const timer = window.setTimeout(() => {
      worker.terminate();
      reject(new Error("captcha timeout"));
    }, 60_000);
    worker.onmessage = (event: MessageEvent<WorkerResult>) => {
      window.clearTimeout(timer);
      worker.terminate();
      const result = event.data;
      if ("error" in result) {
        reject(new Error(result.error));
        return;
      }
      resolve({
        algorithm: captcha.algorithm,
        challenge: captcha.challenge,
        salt: captcha.salt,
        number: BigInt(result.number),
        signature: captcha.signature,
      });
    };
    worker.onerror = () => {
      window.clearTimeout(timer);
      worker.terminate();
      reject(new Error("captcha worker failed"));
    };
    worker.postMessage({ salt: captcha.salt, challenge: captcha.challenge, maxNumber: Number(captcha.maxNumber) });
  });
}
