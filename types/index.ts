/** What crosses the wire: the caller on ctx.meta, and the DTOs every service returns. */

export interface AuthUser {
  id: number;
  username: string;
}

/** Context meta of every chat call. `user` is set only by the gateway from a verified token. */
export interface ChatMeta {
  user?: AuthUser;
  /** Client IP, set by the gateway; used for login throttling. */
  ip?: string;
  $statusCode?: number;
  /** Location header of a 201 answer. */
  $location?: string;
  $responseHeaders?: Record<string, string>;
}

export interface UserDTO {
  id: number;
  username: string;
  email: string;
  first_name: string;
}

export interface PublicUserDTO {
  id: number;
  username: string;
  first_name: string;
}

export interface TokenPair {
  access: string;
  refresh: string;
}

export type RoomType = "direct" | "group";
export type MemberRole = "owner" | "admin" | "member";

export interface RoomDTO {
  id: number;
  name: string;
  room_type: RoomType;
  created_by: number;
  created_at: string;
  member_count: number;
  last_seq: number;
}

/** A room as listed to one user: their membership and unread count are included. */
export interface RoomListItemDTO extends RoomDTO {
  is_member: boolean;
  unread_count: number;
  last_read_seq: number;
  /** The newest message, for members only. */
  last_message: MessageDTO | null;
}

export interface MemberDTO {
  id: number;
  username: string;
  first_name: string;
  is_online: boolean;
  role: MemberRole;
}

export interface MessageDTO {
  id: number;
  room_id: number;
  seq: number;
  sender: AuthUser;
  content: string;
  client_msg_id: string | null;
  created_at: string;
  edited_at: string | null;
  is_deleted: boolean;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Payload of the `chat.message`, `chat.message_updated` and `chat.message_deleted` events. */
export interface MessageEvent {
  message: MessageDTO;
}

/** Payload of `room.member_joined` / `room.member_left`. */
export interface MembershipEvent {
  room_id: number;
  user: AuthUser;
}

/** Payload of `room.deleted`. */
export interface RoomDeletedEvent {
  room_id: number;
}

/** Payload of `presence.changed`, broadcast on real online/offline transitions only. */
export interface PresenceEvent {
  user_id: number;
  username: string;
  is_online: boolean;
  /** The user's rooms: whose members hear about the change. */
  room_ids: number[];
}

/** Payload of `room.typing`. */
export interface TypingEvent {
  room_id: number;
  user_id: number;
  username: string;
  typing: boolean;
  /** Clients drop the indicator after this long unless it is refreshed. */
  expires_in_ms: number;
}

/** Payload of `room.read`. */
export interface ReadEvent {
  room_id: number;
  user_id: number;
  seq: number;
}

/** A room member with presence, as plain-WebSocket `online_status` frames list them. */
export interface MemberStatus {
  id: number;
  username: string;
  is_online: boolean;
}
