import { createMemoryBus } from "../../src/backends/memory-bus/index.js";
import { busConformance } from "../ports/bus-conformance.js";

busConformance("memory", () => {
  const bus = createMemoryBus();
  return Promise.resolve({ a: bus, b: bus, cleanup: () => Promise.resolve() });
});
