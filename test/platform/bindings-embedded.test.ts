import { bindingsSuite } from "./bindings-suite.js";

bindingsSuite({ args: [], label: "embedded: SQLite and in-process bus" });
