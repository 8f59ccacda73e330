import { triggersSuite } from "./triggers-suite.js";

triggersSuite({ args: [], label: "embedded: SQLite queue" });
