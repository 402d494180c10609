/** The in-memory presence store (one process without Redis) against the PresenceStore contract. */
import { memoryPresenceStore } from "../../lib/presence-store";
import { presenceStoreContract } from "../helpers/realtime";

describe("memoryPresenceStore", () => {
  presenceStoreContract(() => memoryPresenceStore());
});
