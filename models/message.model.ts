import { DataTypes, Model } from "sequelize";
import type { CreationOptional, InferAttributes, InferCreationAttributes, Sequelize } from "sequelize";

/** A chat message; `seq` is its gap-free position in the room. Owned by the messages service. */
export class Message extends Model<InferAttributes<Message>, InferCreationAttributes<Message>> {
  declare id: CreationOptional<number>;
  declare room_id: number;
  declare seq: number;
  declare sender_id: number;
  declare content: string;
  declare client_msg_id: CreationOptional<string | null>;
  declare created_at: CreationOptional<Date>;
  declare edited_at: CreationOptional<Date | null>;
  declare deleted_at: CreationOptional<Date | null>;
}

export function initMessage(sequelize: Sequelize): typeof Message {
  Message.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      room_id: { type: DataTypes.INTEGER, allowNull: false },
      seq: { type: DataTypes.INTEGER, allowNull: false },
      sender_id: { type: DataTypes.INTEGER, allowNull: false },
      content: { type: DataTypes.TEXT, allowNull: false },
      client_msg_id: { type: DataTypes.STRING(64), allowNull: true },
      created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      edited_at: { type: DataTypes.DATE, allowNull: true },
      deleted_at: { type: DataTypes.DATE, allowNull: true },
    },
    { sequelize, tableName: "messages", timestamps: false },
  );
  return Message;
}

/** The per-room message counter, locked and bumped in the same transaction as each insert. */
export class RoomSequence extends Model<InferAttributes<RoomSequence>, InferCreationAttributes<RoomSequence>> {
  declare room_id: number;
  declare last_seq: number;
}

export function initRoomSequence(sequelize: Sequelize): typeof RoomSequence {
  RoomSequence.init(
    {
      room_id: { type: DataTypes.INTEGER, primaryKey: true },
      last_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    { sequelize, tableName: "room_sequences", timestamps: false },
  );
  return RoomSequence;
}
