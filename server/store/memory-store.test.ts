import { storeContract } from "./store.contract.ts";
import { MemoryStore } from "./memory-store.ts";
import { epochKey } from "../shows/epoch-key.ts";

storeContract("MemoryStore", async () => {
  const store = new MemoryStore();
  return {
    store,
    // The process is the backend: what it holds after close is what a reader of this process sees.
    afterClose: async () => ({
      kept:
        store
          .flushSync([{ show: "s", epoch: "e", deltas: [], acts: ["a"] }])
          .totals.get(epochKey("s", "e"))
          ?.get("a") ?? 0,
      released: true,
    }),
    cleanup: () => store.close(),
  };
});
