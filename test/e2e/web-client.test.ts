/**
 * The /test page in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
 * browser). Two browser contexts are two users chatting. Screenshots go to test-artifacts/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startEmbedded } from "../helpers/app";
import type { TestApp } from "../helpers/app";
import { uniqueName } from "../helpers/http";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(__dirname, "..", "..", "test-artifacts");
const haveBrowser = existsSync(CHROMIUM);

// In CI a missing browser is a failure (.ci/run installs it); on a laptop without it the suite is skipped.
const describeBrowser = haveBrowser || process.env.CI === "true" ? describe : describe.skip;

describeBrowser("web client at /test (Chromium)", () => {
  let app: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!haveBrowser) throw new Error(`Chromium not found at ${CHROMIUM}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    app = await startEmbedded({ MSG_RATE_PER_SEC: "100", MSG_BURST: "100" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await app?.stop();
  });

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    // An alert would mean user content ran as HTML.
    page.on("dialog", (dialog) => {
      throw new Error(`unexpected dialog: ${dialog.message()}`);
    });
    await page.goto(`${app.baseUrl}/`);
    await page.waitForURL(/\/test\/$/);
    return page;
  }

  async function register(page: Page, username: string): Promise<void> {
    await page.getByLabel("Username", { exact: true }).nth(1).fill(username);
    await page.getByLabel("Password (8 characters or more)").fill("correct-horse");
    await page.getByLabel("Repeat the password").fill("correct-horse");
    await page.getByRole("button", { name: "Register" }).click();
    await page.locator("#conn-state[data-state='connected']").waitFor();
    await expectText(page, "#whoami", `Signed in as ${username}`);
  }

  async function expectText(page: Page, selector: string, text: string): Promise<void> {
    await page.locator(selector, { hasText: text }).first().waitFor({ timeout: 10_000 });
  }

  function messageItem(page: Page, text: string) {
    return page.locator("#messages .message", { has: page.locator(".content", { hasText: text }) });
  }

  test("two users chat: rooms, presence, typing, edit, delete, reload, XSS as text", async () => {
    const aliceName = uniqueName("alice");
    const bobName = uniqueName("bob");
    const roomName = uniqueName("e2e");
    const alice = await openPage();
    const bob = await openPage();
    await register(alice, aliceName);
    await register(bob, bobName);

    // Each sees the other online.
    await expectText(alice, "#online li", bobName);
    await expectText(bob, "#online li", aliceName);

    // Alice creates a room; it appears live in Bob's list; Bob joins.
    await alice.getByLabel("New group room").fill(roomName);
    await alice.getByRole("button", { name: "Create" }).click();
    await expectText(alice, "#room-title", roomName);
    await bob.locator("#rooms .room-item", { hasText: roomName }).click();
    await bob.getByRole("button", { name: "Join", exact: true }).click();
    await bob.locator("#composer:not([disabled])").waitFor();
    await expectText(alice, "#members li", bobName);

    // Messages both ways, sent with Enter.
    await alice.getByLabel("Message", { exact: true }).fill("hello bob");
    await alice.getByLabel("Message", { exact: true }).press("Enter");
    await messageItem(bob, "hello bob").waitFor();
    await bob.getByLabel("Message", { exact: true }).fill("hi alice");
    await bob.getByLabel("Message", { exact: true }).press("Enter");
    await messageItem(alice, "hi alice").waitFor();

    // Typing indicator.
    await bob.getByLabel("Message", { exact: true }).pressSequentially("typing…", { delay: 20 });
    await expectText(alice, "#typing", `${bobName} is typing`);
    await bob.getByLabel("Message", { exact: true }).fill("");

    // Character counter.
    await bob.getByLabel("Message", { exact: true }).fill("x".repeat(1001));
    await expectText(bob, "#counter", "1001/1000");
    expect(await bob.locator("#send").isDisabled()).toBe(true);
    await bob.getByLabel("Message", { exact: true }).fill("");

    // Edit and delete, seen by the other side.
    await messageItem(alice, "hello bob").getByRole("button", { name: "Edit" }).click();
    await alice.locator(".edit-input").fill("hello bob (edited)");
    await alice.locator(".save-edit").click();
    await messageItem(bob, "hello bob (edited)").waitFor();
    await messageItem(alice, "hi alice").waitFor();
    await messageItem(alice, "hello bob (edited)").getByRole("button", { name: "Delete" }).click();
    await messageItem(bob, "message deleted").waitFor();

    // User content is text, never HTML.
    const xss = "<img src=x onerror=alert(1)>";
    await alice.getByLabel("Message", { exact: true }).fill(xss);
    await alice.getByLabel("Message", { exact: true }).press("Enter");
    await messageItem(bob, xss).waitFor();
    expect(await bob.locator("#messages img").count()).toBe(0);
    expect(await messageItem(bob, xss).locator(".content").textContent()).toBe(xss);
    await bob.screenshot({ path: join(ARTIFACTS, "chat-bob.png") });
    await alice.screenshot({ path: join(ARTIFACTS, "chat-alice.png") });

    // A reload keeps the session and the history.
    await bob.reload();
    await bob.locator("#conn-state[data-state='connected']").waitFor();
    await bob.locator("#rooms .room-item", { hasText: roomName }).click();
    await messageItem(bob, "hi alice").waitFor();
    await messageItem(bob, xss).waitFor();
    await messageItem(bob, "message deleted").waitFor();
    const seqs = await bob
      .locator("#messages .message")
      .evaluateAll((items) => items.map((li) => Number(li.getAttribute("data-seq"))));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // Bob drops off; what Alice sends meanwhile arrives once each after his client reconnects and catches up.
    await bob.evaluate("window.chatSocket.disconnect()");
    await bob.locator("#conn-state[data-state='reconnecting']").waitFor();
    for (const text of ["missed 1", "missed 2", "missed 3"]) {
      await alice.getByLabel("Message", { exact: true }).fill(text);
      await alice.getByLabel("Message", { exact: true }).press("Enter");
      await messageItem(alice, text).waitFor();
    }
    await bob.evaluate("window.chatSocket.connect()");
    await bob.locator("#conn-state[data-state='connected']").waitFor();
    await messageItem(bob, "missed 3").waitFor();
    const afterReconnect = await bob
      .locator("#messages .message .content")
      .evaluateAll((items) => items.map((item) => item.textContent));
    expect(afterReconnect.filter((text) => text?.startsWith("missed "))).toEqual(["missed 1", "missed 2", "missed 3"]);

    // Bob leaves: Alice sees him offline once his page is gone.
    await bob.close();
    await alice
      .locator(`#online li[data-user-id]`, { hasText: bobName })
      .waitFor({ state: "detached", timeout: 10_000 });
  }, 120_000);

  test("tester panel: a REST call and a raw WebSocket frame round-trip", async () => {
    const page = await openPage();
    const name = uniqueName("tester");
    await register(page, name);
    await page.getByRole("button", { name: "API tester" }).click();

    await page.getByLabel("Method").selectOption("GET");
    await page.getByLabel("Path", { exact: true }).first().fill("/api/users/me/");
    await page.getByRole("button", { name: "Send request" }).click();
    await expectText(page, "#rest-status", "200");
    await expectText(page, "#rest-response", name);

    await page.locator("#ws-path").fill("/ws/online/");
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    await expectText(page, "#ws-log li", "online_users_update");

    // A room of one's own, then a heartbeat frame on its chat socket comes back as online_status.
    await page.locator("#rest-method").selectOption("POST");
    await page.locator("#rest-path").fill("/api/rooms/");
    await page.locator("#rest-body").fill(JSON.stringify({ name: uniqueName("tester-room") }));
    await page.getByRole("button", { name: "Send request" }).click();
    await expectText(page, "#rest-status", "201");
    const roomId = JSON.parse((await page.locator("#rest-response").textContent()) ?? "{}").id as number;
    await page.locator("#ws-path").fill(`/ws/chat/${roomId}/`);
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    await page.locator("#ws-log li", { hasText: "online_status" }).first().waitFor();
    await page.locator("#ws-frame").fill(JSON.stringify({ message: "from the tester" }));
    await page.getByRole("button", { name: "Send frame" }).click();
    await expectText(page, "#ws-log li", '"message":"from the tester"');
    await page.screenshot({ path: join(ARTIFACTS, "tester.png") });
  }, 60_000);

  test("readable on a phone-sized viewport", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${app.baseUrl}/test/`);
    await register(page, uniqueName("phone"));
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, "phone.png") });
  }, 60_000);
});
