import { DataTypes, Model } from "sequelize";
import type { CreationOptional, InferAttributes, InferCreationAttributes, Sequelize } from "sequelize";

export type RoomType = "direct" | "group";

/** A chat room. Owned by the rooms service. */
export class Room extends Model<InferAttributes<Room>, InferCreationAttributes<Room>> {
  declare id: CreationOptional<number>;
  declare name: string;
  declare room_type: RoomType;
  /** "<smaller user id>:<larger user id>" for direct rooms, so one pair gets one room; null for groups. */
  declare direct_key: CreationOptional<string | null>;
  declare created_by: number;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;
}

export function initRoom(sequelize: Sequelize): typeof Room {
  Room.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.STRING(100), allowNull: false },
      room_type: { type: DataTypes.STRING(10), allowNull: false },
      direct_key: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      created_by: { type: DataTypes.INTEGER, allowNull: false },
      created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { sequelize, tableName: "rooms", timestamps: false },
  );
  return Room;
}
