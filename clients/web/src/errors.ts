// Friendly messages for gRPC errors in the UI language, chosen by the server's stable reason
// (google.rpc.ErrorInfo, domain "wuffchat"; AIP-193) rather than by the status code alone.
// A rejected field (INVALID_ARGUMENT with google.rpc.BadRequest field violations) is named with its
// reason: the violation's LocalizedMessage when it has one in our language; else our own sentence for a
// protovalidate rule id (`string.email`); else the server's description, which the server writes in the
// call's language (accept-language) for its own checks ("password too common"). Everything else gets a
// fixed sentence; the server's message is never shown.
import { Code, ConnectError } from "@connectrpc/connect";
import { type BadRequest_FieldViolation, BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb";
import { lang, t } from "./i18n";

const DOMAIN = "wuffchat";

export function reason(err: ConnectError): string | null {
  const info = err.findDetails(ErrorInfoSchema).find((found) => found.domain === DOMAIN);
  return info ? info.reason : null;
}

export function retryAfterSeconds(err: ConnectError): number | null {
  const raw = err.metadata.get("retry-after");
  const seconds = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function waitText(err: ConnectError): string {
  const seconds = retryAfterSeconds(err);
  return seconds === null ? t().waitMoment : seconds === 1 ? t().waitOne : t().waitSeconds(seconds);
}

const BY_REASON: Record<string, (err: ConnectError) => string> = {
  RATE_LIMITED: (err) => t().rateLimited(waitText(err)),
  LOGIN_THROTTLED: (err) => t().loginThrottled(waitText(err)),
  CONVERSATION_EXPIRED: () => t().expired,
  CONVERSATION_NOT_FOUND: () => t().notFound,
  LOGIN_FAILED: () => t().loginFailed,
  SESSION_INVALID: () => t().sessionInvalid,
  CAPTCHA_INVALID: () => t().captchaInvalid,
  EMAIL_TAKEN: () => t().exists,
  UNAVAILABLE: () => t().unavailable,
};

/** "Passwort: Dieses Passwort ist zu verbreitet …" for one field violation. */
export function violationText(violation: BadRequest_FieldViolation): string {
  const localized = violation.localizedMessage;
  const own = localized && localized.locale.toLowerCase().startsWith(lang()) ? localized.message : "";
  const why = own || t().rules[violation.reason] || violation.description || t().invalid;
  const leaf = violation.field.split(".").pop()?.replace(/\[\d+\]$/, "") ?? "";
  const label = t().fields[leaf];
  return label ? `${label}: ${why}` : why;
}

/** The field violations of an INVALID_ARGUMENT, each as one sentence. */
export function fieldReasons(err: ConnectError): string[] {
  return err.findDetails(BadRequestSchema).flatMap((bad) => bad.fieldViolations.map(violationText));
}

export function isExpired(error: unknown): boolean {
  const err = ConnectError.from(error);
  const known = reason(err);
  return known === null ? err.code === Code.FailedPrecondition : known === "CONVERSATION_EXPIRED";
}

export function friendlyMessage(error: unknown): string {
  const err = ConnectError.from(error);
  const known = reason(err);
  const byReason = known === null ? undefined : BY_REASON[known];
  if (byReason) return byReason(err);
  switch (err.code) {
    case Code.ResourceExhausted:
      return t().rateLimited(waitText(err));
    case Code.FailedPrecondition:
      return t().expired;
    case Code.Unauthenticated:
      return t().unauthenticated;
    case Code.InvalidArgument: {
      const reasons = fieldReasons(err);
      return reasons.length > 0 ? reasons.join(" ") : t().invalid;
    }
    case Code.AlreadyExists:
      return t().exists;
    case Code.NotFound:
      return t().notFound;
    case Code.PermissionDenied:
      return t().forbidden;
    case Code.Unimplemented:
      return t().unimplemented;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return t().unavailable;
    default:
      return t().generic;
  }
}
