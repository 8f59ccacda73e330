// The web console in headless Chromium, as a user drives it: sign in (a wrong token refused),
// write a function in the editor and deploy it, call it from the request builder, find its
// invocation and log line, deploy an edit and roll it back, put and read a key, and the same
// screens at a phone's width. LITEFAAS_SCREENSHOTS=<dir> keeps a picture of each main screen.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { eventually } from "../kit/eventually.js";
import { startPlatform, type Platform } from "../kit/platform.js";
import { chromiumService, describeWith } from "../kit/services.js";

const browserCheck = chromiumService();
const shots = process.env["LITEFAAS_SCREENSHOTS"];

const code = (version: number) => `// Greets whoever asks, and says which version answered.
export default {
  fetch(request: Request): Response {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    console.log(\`greeting \${name} v${version}\`);
    return new Response(\`hello \${name} from v${version}\`);
  },
};
`;

async function shot(page: Page, name: string): Promise<void> {
  if (shots === undefined || shots === "") return;
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Replaces the editor's text as typing would (CodeMirror gets input events, not a value). */
async function setEditorText(page: Page, text: string): Promise<void> {
  await page.locator('.editor[data-ready="true"] .cm-content').click();
  await page.keyboard.press("Control+a");
  await page.keyboard.insertText(text);
}

describeWith(browserCheck, "web console in Chromium", () => {
  let platform: Platform;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const gateway = async (path: string) => (await platform.fetch(path)).text();

  before(async () => {
    platform = await startPlatform();
    browser = await chromium.launch({
      executablePath: browserCheck.url,
      // root in CI: Chromium's own sandbox needs user namespaces it may not get
      args: ["--no-sandbox"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });
  after(async () => {
    await browser.close();
    await platform.dispose();
    assert.deepEqual(pageErrors, [], "the page threw");
  });

  void it("refuses a wrong token, and signs in with the admin token by keyboard alone", async () => {
    await page.goto(`${platform.url}/console/`);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate("document.activeElement?.id"), "token");
    await page.keyboard.type("not-the-admin-token-at-all-0123456789");
    await page.keyboard.press("Enter");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /UNAUTHORIZED/);
    assert.match(await alert.innerText(), /LITEFAAS_TOKEN/);
    await shot(page, "sign-in");
    await page.getByLabel("Admin token").fill(platform.token);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Functions" }).waitFor();
    await page.getByText("No functions yet").waitFor();
  });

  void it("deploys a function written in the editor, and calls it from the request builder", async () => {
    await page
      .getByRole("navigation", { name: "Console" })
      .getByRole("link", { name: "New function" })
      .click();
    await page.getByLabel("Project").fill("web");
    await page.getByLabel("Name").fill("greet");
    await setEditorText(page, code(1));
    await shot(page, "new-function");
    await page.getByRole("button", { name: "Deploy" }).click();
    await page.waitForURL(/#\/functions\/web\/greet\/test$/);
    assert.equal(await gateway("/fn/web/greet?name=curl"), "hello curl from v1");
    // what was typed is what was kept
    const source = (await (
      await platform.fetch("/admin/v1/functions/web/greet/source", {
        headers: { authorization: `Bearer ${platform.token}` },
      })
    ).json()) as { text: string };
    assert.equal(source.text, code(1));
    await page.getByLabel("Path").fill("/?name=browser");
    await page.getByRole("button", { name: "Send" }).click();
    const body = page.getByTestId("response-body");
    await body.waitFor();
    assert.equal(await body.innerText(), "hello browser from v1");
    assert.match(await page.getByRole("region", { name: "Response" }).innerText(), /HTTP 200/);
    await shot(page, "test-request");
  });

  void it("shows the invocation with its record and log line", async () => {
    await page.getByRole("link", { name: "Invocations" }).click();
    // the list refreshes itself; records reach the store within moments. Both calls' records
    // must be in before the newest (the browser's, made after curl's) is the first row
    const rows = page.locator("table.records tbody tr");
    await rows.nth(1).waitFor();
    await rows.first().getByRole("link").click();
    const record = page.getByRole("complementary", { name: "Invocation" });
    await record.getByText("greeting browser v1").waitFor();
    const text = await record.innerText();
    assert.match(text, /http, attempt 1/);
    assert.match(text, /HTTP 200/);
    assert.match(text, /GB-s/);
    await shot(page, "invocation");
    await page.getByRole("link", { name: "Logs" }).click();
    await page.locator("ol.log").getByText("greeting browser v1").waitFor();
    await page.getByLabel("Text").fill("curl");
    await page.locator("ol.log").getByText("greeting curl v1").waitFor();
    await eventually("the filter to hide other lines", async () => {
      const lines = await page.locator("ol.log li").allInnerTexts();
      return lines.length > 0 && lines.every((l) => l.includes("curl"));
    });
    await shot(page, "logs");
  });

  void it("deploys an edit as version 2, and rolls back to version 1 in one click", async () => {
    await page.getByRole("link", { name: "Code" }).click();
    await page.locator('.editor[data-ready="true"]').waitFor();
    assert.match(await page.locator(".cm-content").innerText(), /from v1/);
    await setEditorText(page, code(2));
    await page.getByRole("button", { name: "Deploy" }).click();
    await page.getByRole("status").getByText("Deployed v2").waitFor();
    assert.equal(await gateway("/fn/web/greet?name=a"), "hello a from v2");
    await shot(page, "code");
    await page.getByRole("link", { name: "Versions" }).click();
    await page.getByRole("button", { name: "Roll back to v1" }).click();
    await page.locator("tr.live").getByText("v1").waitFor();
    assert.equal(await gateway("/fn/web/greet?name=b"), "hello b from v1");
    assert.match(await page.locator(".meta").innerText(), /live v1/);
    await shot(page, "versions");
  });

  void it("puts a key in the function's store and reads it back", async () => {
    await page.getByRole("link", { name: "Data" }).click();
    await page.getByLabel("Key", { exact: true }).fill("color");
    await page.getByLabel("Value", { exact: true }).fill("blue");
    await page.getByRole("button", { name: "Put" }).click();
    await page
      .getByRole("status")
      .getByText(/saved, revision/)
      .waitFor();
    const stored = await platform.fetch("/admin/v1/functions/web/greet/kv/color", {
      headers: { authorization: `Bearer ${platform.token}` },
    });
    assert.equal(await stored.text(), "blue");
    await page.getByLabel("Value", { exact: true }).fill("");
    await page.getByRole("button", { name: "color", exact: true }).click();
    await eventually(
      "the value read back",
      async () => (await page.getByLabel("Value", { exact: true }).inputValue()) === "blue",
    );
    await shot(page, "data");
    await page.getByRole("button", { name: "Delete color" }).click();
    await page.getByText("No keys.").waitFor();
    const gone = await platform.fetch("/admin/v1/functions/web/greet/kv/color", {
      headers: { authorization: `Bearer ${platform.token}` },
    });
    assert.equal(gone.status, 404);
  });

  void it("shows health at a glance, and fits a phone's width", async () => {
    await page.goto(`${platform.url}/console/#/`);
    const row = page.locator("table.list tbody tr", { hasText: "greet" });
    await row.waitFor();
    assert.match(await row.innerText(), /v1/);
    await page.getByRole("link", { name: "greet" }).click();
    await page.getByRole("heading", { name: "Health" }).waitFor();
    await eventually("the invocations counted", async () =>
      /Invocations\s*[1-9]/.test(await page.locator(".figures").innerText()),
    );
    await shot(page, "overview");
    await page.goto(`${platform.url}/console/#/`);
    await row.waitFor();
    await shot(page, "functions");
    await page.setViewportSize({ width: 375, height: 740 });
    for (const hash of [
      "#/",
      "#/functions/web/greet/overview",
      "#/functions/web/greet/invocations",
    ]) {
      await page.goto(`${platform.url}/console/${hash}`);
      await page.locator("main h1").waitFor();
      const width = await page.evaluate("document.documentElement.scrollWidth");
      assert.ok(
        typeof width === "number" && width <= 375,
        `${hash} is ${String(width)} px wide at 375`,
      );
    }
    await shot(page, "phone");
  });
});
