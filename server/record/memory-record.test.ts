import { MemoryRecord } from "./memory-record.ts";
import { recordContract } from "./record.contract.ts";

recordContract("MemoryRecord", async () => {
  const record = new MemoryRecord();
  return { record, cleanup: () => record.close() };
});
