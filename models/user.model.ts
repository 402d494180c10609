import { DataTypes, Model } from "sequelize";
import type { CreationOptional, InferAttributes, InferCreationAttributes, Sequelize } from "sequelize";

/** An account. Owned by the auth service. */
export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<number>;
  declare username: string;
  declare email: CreationOptional<string>;
  declare first_name: CreationOptional<string>;
  declare password_hash: string;
  declare created_at: CreationOptional<Date>;
  declare last_seen_at: CreationOptional<Date | null>;
}

export function initUser(sequelize: Sequelize): typeof User {
  User.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      username: { type: DataTypes.STRING(150), allowNull: false, unique: true },
      email: { type: DataTypes.STRING(254), allowNull: false, defaultValue: "" },
      first_name: { type: DataTypes.STRING(150), allowNull: false, defaultValue: "" },
      password_hash: { type: DataTypes.STRING(255), allowNull: false },
      created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      last_seen_at: { type: DataTypes.DATE, allowNull: true },
    },
    { sequelize, tableName: "users", timestamps: false },
  );
  return User;
}
