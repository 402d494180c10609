import { DataTypes, Model } from "sequelize";
import type { CreationOptional, InferAttributes, InferCreationAttributes, Sequelize } from "sequelize";

export type MemberRole = "owner" | "admin" | "member";

/** A user's membership of a room, with their read position. Owned by the rooms service. */
export class Membership extends Model<InferAttributes<Membership>, InferCreationAttributes<Membership>> {
  declare id: CreationOptional<number>;
  declare room_id: number;
  declare user_id: number;
  declare role: MemberRole;
  declare joined_at: CreationOptional<Date>;
  declare last_read_seq: CreationOptional<number>;
}

export function initMembership(sequelize: Sequelize): typeof Membership {
  Membership.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      room_id: { type: DataTypes.INTEGER, allowNull: false },
      user_id: { type: DataTypes.INTEGER, allowNull: false },
      role: { type: DataTypes.STRING(10), allowNull: false },
      joined_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      last_read_seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    { sequelize, tableName: "memberships", timestamps: false },
  );
  return Membership;
}
