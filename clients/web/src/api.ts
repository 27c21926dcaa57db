// gRPC-web clients for the same origin (Envoy), with transparent token refresh.
//
// Every call but the public auth calls carries `authorization: Bearer <access token>`. Before a call
// the access token is refreshed when it is about to expire; a call that still fails with
// UNAUTHENTICATED is retried once after a refresh. Concurrent refreshes share one RefreshToken call,
// because refresh tokens are single use (a second use would revoke the whole session).
import { getOption } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { policy } from "./gen/wuffchat/api/v1/policy_pb";
import { lang } from "./i18n";
import { AuthService } from "./gen/wuffchat/auth/v1/auth_service_pb";
import { ConversationService } from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import * as session from "./session";

let refreshing: Promise<void> | null = null;
let onSessionLost: () => void = () => {};

export function whenSessionLost(callback: () => void): void {
  onSessionLost = callback;
}

async function refreshNow(): Promise<void> {
  refreshing ??= (async () => {
    try {
      const token = session.refreshToken();
      if (!token) throw new ConnectError("no session", Code.Unauthenticated);
      const reply = await authPublic.refreshToken({ refreshToken: token });
      if (!reply.tokens) throw new ConnectError("no tokens", Code.Unauthenticated);
      session.store(reply.tokens);
    } catch (err) {
      session.clearTokens();
      onSessionLost();
      throw err;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const language: Interceptor = (next) => async (req) => {
  req.header.set("accept-language", lang()); // the server answers (and words field reasons) in the UI language
  return next(req);
};

const bearer: Interceptor = (next) => async (req) => {
  // public methods (the way in) come from the contracts' method policy, as on the server
  if (getOption(req.method, policy).public) return next(req);
  if (!session.accessIsFresh()) await refreshNow();
  req.header.set("authorization", `Bearer ${session.access()}`);
  try {
    return await next(req);
  } catch (err) {
    if (ConnectError.from(err).code !== Code.Unauthenticated) throw err;
    await refreshNow();
    // A unary request is replayed once with the new token; a stream's request iterable is spent,
    // so its caller retries (see chat.ts).
    if (req.stream) throw err;
    req.header.set("authorization", `Bearer ${session.access()}`);
    return next(req);
  }
};

function transport(interceptors: Interceptor[]) {
  return createGrpcWebTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors });
}

const authPublic = createClient(AuthService, transport([language]));
export const auth = createClient(AuthService, transport([language, bearer]));
export const conversations = createClient(ConversationService, transport([language, bearer]));
