import { DataTypes } from "sequelize";
import type { QueryInterface } from "sequelize";

/** Users, refresh tokens, rooms, memberships, messages and the per-room sequence counters. */
export async function up(qi: QueryInterface): Promise<void> {
  const createdAt = () => ({ type: DataTypes.DATE, allowNull: false });

  await qi.createTable("users", {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    username: { type: DataTypes.STRING(150), allowNull: false, unique: true },
    email: { type: DataTypes.STRING(254), allowNull: false, defaultValue: "" },
    first_name: { type: DataTypes.STRING(150), allowNull: false, defaultValue: "" },
    password_hash: { type: DataTypes.STRING(255), allowNull: false },
    created_at: createdAt(),
    last_seen_at: { type: DataTypes.DATE, allowNull: true },
  });

  await qi.createTable("refresh_tokens", {
    jti: { type: DataTypes.STRING(64), primaryKey: true },
    user_id: { type: DataTypes.INTEGER, allowNull: false },
    family: { type: DataTypes.STRING(64), allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    revoked_at: { type: DataTypes.DATE, allowNull: true },
    created_at: createdAt(),
  });
  await qi.addIndex("refresh_tokens", ["family"], { name: "refresh_tokens_family" });
  await qi.addIndex("refresh_tokens", ["user_id"], { name: "refresh_tokens_user_id" });

  await qi.createTable("rooms", {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    name: { type: DataTypes.STRING(100), allowNull: false },
    room_type: { type: DataTypes.STRING(10), allowNull: false },
    direct_key: { type: DataTypes.STRING(64), allowNull: true, unique: true },
    created_by: { type: DataTypes.INTEGER, allowNull: false },
    created_at: createdAt(),
    updated_at: createdAt(),
  });
  await qi.addIndex("rooms", ["room_type", "id"], { name: "rooms_type_id" });

  await qi.createTable("memberships", {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    room_id: {
      type: DataTypes.INTEGER,
      allowNull: false,
      references: { model: "rooms", key: "id" },
      onDelete: "CASCADE",
    },
    user_id: { type: DataTypes.INTEGER, allowNull: false },
    role: { type: DataTypes.STRING(10), allowNull: false },
    joined_at: createdAt(),
    last_read_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  });
  await qi.addIndex("memberships", ["room_id", "user_id"], { name: "memberships_room_user", unique: true });
  await qi.addIndex("memberships", ["user_id"], { name: "memberships_user_id" });

  await qi.createTable("room_sequences", {
    room_id: { type: DataTypes.INTEGER, primaryKey: true },
    last_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  });

  await qi.createTable("messages", {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    room_id: { type: DataTypes.INTEGER, allowNull: false },
    seq: { type: DataTypes.INTEGER, allowNull: false },
    sender_id: { type: DataTypes.INTEGER, allowNull: false },
    content: { type: DataTypes.TEXT, allowNull: false },
    client_msg_id: { type: DataTypes.STRING(64), allowNull: true },
    created_at: createdAt(),
    edited_at: { type: DataTypes.DATE, allowNull: true },
    deleted_at: { type: DataTypes.DATE, allowNull: true },
  });
  // Also the index history reads walk, in both directions.
  await qi.addIndex("messages", ["room_id", "seq"], { name: "messages_room_seq", unique: true });
  await qi.addIndex("messages", ["sender_id", "client_msg_id"], { name: "messages_sender_client_msg", unique: true });
}

export async function down(qi: QueryInterface): Promise<void> {
  for (const table of ["messages", "room_sequences", "memberships", "rooms", "refresh_tokens", "users"]) {
    await qi.dropTable(table);
  }
}
