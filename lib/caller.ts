import type { Context } from "moleculer";
import type { AuthUser, ChatMeta } from "../types";
import { errors } from "./errors";

/** The authenticated user of a call (set by a gateway from a verified token), or a 401. */
export function callerOf(ctx: Context<unknown, ChatMeta>): AuthUser {
  if (!ctx.meta.user) throw errors.unauthorized();
  return ctx.meta.user;
}
