// The bus port on NATS core, over two connections (as two processes), against the real server.
import { natsBus } from "../../src/backends/nats-bus/index.js";
import { connectNats } from "../../src/backends/nats/connection.js";
import { busConformance } from "../ports/bus-conformance.js";
import { describeWith, natsService } from "../kit/services.js";

const nats = await natsService();
describeWith(nats, "bus on NATS", () => {
  busConformance("nats", async () => {
    const [one, two] = await Promise.all([
      connectNats({ servers: nats.url }),
      connectNats({ servers: nats.url }),
    ]);
    return {
      a: natsBus(one),
      b: natsBus(two),
      cleanup: async () => {
        await Promise.all([one.close(), two.close()]);
      },
    };
  });
});
