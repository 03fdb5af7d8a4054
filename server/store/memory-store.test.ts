import { storeContract } from "./store.contract.ts";
import { MemoryStore } from "./memory-store.ts";

storeContract("MemoryStore", async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});
