import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Op } from "sequelize";
import type { Transaction } from "sequelize";
import { configOf } from "../lib/broker-config";
import { cacheKeys, invalidate } from "../lib/cache-keys";
import { isUniqueViolation } from "../lib/database";
import { callerOf } from "../lib/caller";
import { ErrorCode, errors } from "../lib/errors";
import { memoryFailureCounter, redisFailureCounter } from "../lib/failure-counter";
import type { FailureCounter } from "../lib/failure-counter";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../lib/passwords";
import { closeRedisClient, createRedisClient } from "../lib/redis";
import { signAccessToken, signRefreshToken, userFromAccessToken, verifyToken } from "../lib/tokens";
import { DbMixin } from "../mixins/db.mixin";
import type { DbThis } from "../mixins/db.mixin";
import { RefreshToken, initRefreshToken } from "../models/refresh-token.model";
import { User, initUser } from "../models/user.model";
import type { AuthUser, ChatMeta, PublicUserDTO, TokenPair, UserDTO } from "../types";

export interface RegisterParams {
  username: string;
  password: string;
  password2?: string;
  email?: string;
  first_name?: string;
}
export interface LoginParams {
  username: string;
  password: string;
}
export interface RefreshParams {
  refresh: string;
}
export interface ResolveTokenParams {
  token: string;
}
export interface UpdateMeParams {
  email?: string;
  first_name?: string;
}
export interface UsersByIdsParams {
  ids: number[];
}

interface AuthMethods {
  issueTokens(this: AuthThis, user: AuthUser, family: string, t?: Transaction): Promise<TokenPair>;
}
type AuthThis = Service & DbThis & AuthMethods & { failures: FailureCounter; redis: Redis | null };

/** Failed logins allowed per account and per client IP within the window; then 429 until it ends. */
export const MAX_FAILED_LOGINS_PER_ACCOUNT = 10;
export const MAX_FAILED_LOGINS_PER_IP = 100;
const FAILED_LOGIN_WINDOW_SEC = 15 * 60;

const INVALID_CREDENTIALS = "No active account found with the given credentials";

function toUserDTO(user: User): UserDTO {
  return { id: user.id, username: user.username, email: user.email, first_name: user.first_name };
}

const AuthService: ServiceSchema<ServiceSettingSchema, AuthThis> = {
  name: "auth",
  mixins: [
    DbMixin((sequelize) => {
      initUser(sequelize);
      initRefreshToken(sequelize);
    }),
  ],

  actions: {
    /** Creates an account and logs it in (POST /api/register/). */
    register: {
      visibility: "published",
      params: {
        // Django's username rule: letters, digits and @ . + - _
        username: { type: "string", min: 1, max: 150, pattern: /^[\w.@+-]+$/ },
        password: { type: "string", min: 8, max: 128 },
        password2: { type: "string", optional: true },
        email: { type: "string", optional: true, max: 254 },
        first_name: { type: "string", optional: true, max: 150 },
      },
      async handler(this: AuthThis, ctx: Context<RegisterParams, ChatMeta>) {
        const { username, password, password2, email = "", first_name = "" } = ctx.params;
        if (password2 !== undefined && password2 !== password) {
          throw errors.validation({ password2: "Passwords do not match" }, "Passwords do not match");
        }
        if (email !== "" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
          throw errors.validation({ email: "Enter a valid email address" });
        }
        const passwordHash = await hashPassword(password);
        try {
          const result = await this.db.transaction(async (t) => {
            const user = await User.create(
              { username, email, first_name, password_hash: passwordHash },
              { transaction: t },
            );
            const tokens = await this.issueTokens({ id: user.id, username }, randomUUID(), t);
            return { user: toUserDTO(user), ...tokens };
          });
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = "/api/users/me/";
          this.logger.info("user registered", { userId: result.user.id });
          return { ...result, message: "User registered successfully" };
        } catch (err) {
          if (isUniqueViolation(err)) {
            throw errors.badRequest(ErrorCode.USERNAME_TAKEN, "A user with that username already exists.");
          }
          throw err;
        }
      },
    },

    /** Exchanges username and password for a token pair (POST /api/token/). */
    login: {
      visibility: "published",
      params: {
        username: { type: "string", min: 1, max: 150 },
        password: { type: "string", min: 1, max: 1024 },
      },
      async handler(this: AuthThis, ctx: Context<LoginParams, ChatMeta>): Promise<TokenPair> {
        const keys = [`login:user:${ctx.params.username.toLowerCase()}`, `login:ip:${ctx.meta.ip ?? "unknown"}`];
        const [accountFailures, ipFailures] = await Promise.all(keys.map((key) => this.failures.count(key)));
        if (accountFailures >= MAX_FAILED_LOGINS_PER_ACCOUNT || ipFailures >= MAX_FAILED_LOGINS_PER_IP) {
          const waits = await Promise.all(keys.map((key) => this.failures.resetIn(key)));
          throw errors.rateLimited(Math.max(1, ...waits));
        }
        const user = await User.findOne({ where: { username: ctx.params.username } });
        const matches = await verifyPassword(ctx.params.password, user?.password_hash ?? (await dummyPasswordHash()));
        if (!user || !matches) {
          await Promise.all(keys.map((key) => this.failures.fail(key)));
          throw errors.unauthorized(INVALID_CREDENTIALS, ErrorCode.INVALID_CREDENTIALS);
        }
        await this.failures.reset(keys[0]);
        return this.db.transaction((t) => this.issueTokens({ id: user.id, username: user.username }, randomUUID(), t));
      },
    },

    /**
     * Rotates a refresh token (POST /api/token/refresh/). A token that was already rotated is proof
     * of theft or replay: the whole family is revoked and the caller must log in again.
     */
    refresh: {
      visibility: "published",
      params: { refresh: { type: "string", min: 1, max: 4096 } },
      async handler(this: AuthThis, ctx: Context<RefreshParams, ChatMeta>): Promise<TokenPair> {
        const config = configOf(this.broker);
        const claims = verifyToken(config.jwtSecret, ctx.params.refresh, "refresh");
        const outcome = await this.db.transaction(async (t) => {
          const now = new Date();
          const [rotated] = await RefreshToken.update(
            { revoked_at: now },
            { where: { jti: claims.jti, revoked_at: null, expires_at: { [Op.gt]: now } }, transaction: t },
          );
          if (rotated !== 1) {
            await RefreshToken.update(
              { revoked_at: now },
              { where: { family: claims.family, revoked_at: null }, transaction: t },
            );
            return null;
          }
          const user = await User.findByPk(claims.user_id, { transaction: t });
          if (!user) return null;
          return this.issueTokens({ id: user.id, username: user.username }, claims.family, t);
        });
        if (!outcome) {
          this.logger.warn("refresh token reuse or unknown token; family revoked", { userId: claims.user_id });
          throw errors.unauthorized("Token is invalid or has been revoked");
        }
        return outcome;
      },
    },

    /** Verifies an access token for the gateways; returns the caller. */
    resolveToken: {
      visibility: "public",
      params: { token: { type: "string", min: 1, max: 4096 } },
      handler(this: AuthThis, ctx: Context<ResolveTokenParams>): AuthUser {
        return userFromAccessToken(configOf(this.broker).jwtSecret, ctx.params.token);
      },
    },

    /** The caller's profile (GET /api/users/me/). */
    me: {
      visibility: "published",
      async handler(this: AuthThis, ctx: Context<unknown, ChatMeta>): Promise<UserDTO> {
        const user = await User.findByPk(callerOf(ctx).id);
        if (!user) throw errors.notFound("User");
        return toUserDTO(user);
      },
    },

    /** Updates the caller's email and first name (PUT /api/users/me/); the username is permanent. */
    updateMe: {
      visibility: "published",
      params: {
        email: { type: "string", optional: true, max: 254 },
        first_name: { type: "string", optional: true, max: 150 },
      },
      async handler(this: AuthThis, ctx: Context<UpdateMeParams, ChatMeta>): Promise<UserDTO> {
        const { email, first_name } = ctx.params;
        if (email !== undefined && email !== "" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
          throw errors.validation({ email: "Enter a valid email address" });
        }
        const userId = callerOf(ctx).id;
        const user = await this.db.transaction(async (t) => {
          const found = await User.findByPk(userId, { transaction: t, lock: t.LOCK.UPDATE });
          if (!found) throw errors.notFound("User");
          if (email !== undefined) found.email = email;
          if (first_name !== undefined) found.first_name = first_name;
          return found.save({ transaction: t });
        });
        await invalidate(this.broker, cacheKeys.user(userId));
        return toUserDTO(user);
      },
    },

    /** Public profile of one user, cached; null when unknown. */
    user: {
      visibility: "public",
      params: { id: { type: "number", integer: true, positive: true } },
      cache: { keys: ["id"], ttl: 300 },
      async handler(this: AuthThis, ctx: Context<{ id: number }>): Promise<PublicUserDTO | null> {
        const user = await User.findByPk(ctx.params.id, { attributes: ["id", "username", "first_name"] });
        return user ? { id: user.id, username: user.username, first_name: user.first_name } : null;
      },
    },

    /** Public profiles of several users, in no particular order; unknown ids are left out. */
    usersByIds: {
      visibility: "public",
      params: { ids: { type: "array", items: { type: "number", integer: true, positive: true }, max: 1000 } },
      async handler(this: AuthThis, ctx: Context<UsersByIdsParams>): Promise<PublicUserDTO[]> {
        if (ctx.params.ids.length === 0) return [];
        const users = await User.findAll({
          where: { id: { [Op.in]: [...new Set(ctx.params.ids)] } },
          attributes: ["id", "username", "first_name"],
        });
        return users.map((u) => ({ id: u.id, username: u.username, first_name: u.first_name }));
      },
    },
  },

  methods: {
    async issueTokens(this: AuthThis, user: AuthUser, family: string, t?: Transaction): Promise<TokenPair> {
      const config = configOf(this.broker);
      const refresh = signRefreshToken(config.jwtSecret, user.id, family, config.refreshTokenTtlSec);
      await RefreshToken.create(
        { jti: refresh.jti, user_id: user.id, family, expires_at: refresh.expiresAt },
        { transaction: t },
      );
      return { access: signAccessToken(config.jwtSecret, user, config.accessTokenTtlSec), refresh: refresh.token };
    },
  },

  started(this: AuthThis) {
    const { redisUrl, namespace } = configOf(this.broker);
    this.redis = redisUrl ? createRedisClient(redisUrl) : null;
    this.redis?.on("error", () => undefined); // failures surface on the commands, where they are handled
    this.failures = this.redis
      ? redisFailureCounter(this.redis, namespace, FAILED_LOGIN_WINDOW_SEC, (err) =>
          this.logger.warn("login throttling unavailable", String(err)),
        )
      : memoryFailureCounter(FAILED_LOGIN_WINDOW_SEC);
  },

  async stopped(this: AuthThis) {
    if (this.redis) await closeRedisClient(this.redis);
  },
};

export default AuthService;
