#!/usr/bin/env node
// End-to-end check of the chat UI in headless Chromium.
//
//   QUARRY_WEB_MODULES=/path/to/data/web/node_modules \
//     node web/e2e/chat.mjs http://127.0.0.1:8080 /tmp/quarry-shots
//
// playwright-core comes from the node_modules that setup installs into the
// data directory (QUARRY_WEB_MODULES); the browser is the system Chromium
// (CHROMIUM, default /usr/bin/chromium). Exits 0 when every step passes;
// otherwise prints the failing step, saves failure.png and exits 1. Any
// console error on the page, uncaught page exception, or request to a host
// other than loopback (or the server under test) fails the run.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [baseArg, shotsArg] = process.argv.slice(2);
if (!baseArg || !shotsArg) {
  console.error('usage: node web/e2e/chat.mjs <base-url> <screenshot-dir>');
  process.exit(1);
}
const BASE = baseArg.replace(/\/+$/, '');
const SHOTS = path.resolve(shotsArg);
const ANSWER_TIMEOUT = 60_000;
const STEP_TIMEOUT = 15_000;

function loadPlaywright() {
  const modules = process.env.QUARRY_WEB_MODULES;
  if (!modules) {
    console.error('chat e2e: QUARRY_WEB_MODULES is not set. Point it at the node_modules folder that setup installs '
      + '(e.g. QUARRY_WEB_MODULES=$PWD/.quarry/web/node_modules after `make setup`).');
    process.exit(1);
  }
  const pkg = path.join(path.resolve(modules), 'playwright-core', 'package.json');
  if (!fs.existsSync(pkg)) {
    console.error(`chat e2e: playwright-core is not installed in ${modules}. Run setup (npm ci from web/package-lock.json) first.`);
    process.exit(1);
  }
  // Resolve as a file inside that folder would, so its own dependencies
  // resolve from the same folder.
  const require = createRequire(path.join(path.resolve(modules), 'quarry-e2e.cjs'));
  try {
    return require('playwright-core');
  } catch {
    return require(path.join(path.resolve(modules), 'playwright-core'));
  }
}

const { chromium } = loadPlaywright();
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`chat e2e: no Chromium at ${executablePath}. Install it (apt-get install chromium) or set CHROMIUM.`);
  process.exit(1);
}
fs.mkdirSync(SHOTS, { recursive: true });

const baseHost = new URL(BASE).hostname.replace(/^\[|\]$/g, '');
function allowedHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h)
    || h === '::1' || h === baseHost;
}

const problems = []; // console errors, page errors, outside requests
let page;
let browser;
let passed = 0;
let current = 'launch the browser';

async function step(name, fn) {
  current = name;
  process.stdout.write(`  ${name} … `);
  await fn();
  if (problems.length) throw new Error(problems.join('\n'));
  passed += 1;
  console.log('ok');
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const sel = {
  message: '[data-testid="message"]',
  answer: '[data-testid="message"][data-kind="answer"]',
};

/** Wait until message `index` is complete; returns what it shows. */
async function waitForAnswer(index) {
  const handle = await page.waitForFunction((i) => {
    const m = document.querySelectorAll('[data-testid="message"]')[i];
    if (!m) return false;
    if (m.dataset.kind === 'error') return { error: m.innerText };
    if (m.dataset.kind && m.dataset.kind !== 'answer') return { error: `expected an answer, got a ${m.dataset.kind}: ${m.innerText}` };
    if (!m.querySelector('[data-testid="thumbs-up"]')) return false; // still streaming
    const chart = m.querySelector('[data-testid="chart"]');
    const charted = chart && chart.offsetParent !== null; // null when the answer has no chart
    if (charted && chart.dataset.rendered !== 'true') return false;
    const text = (s) => (m.querySelector(s)?.textContent || '').trim();
    return {
      kind: m.dataset.kind,
      interpretation: text('[data-testid="interpretation"]'),
      narrative: text('[data-testid="narrative"]'),
      rows: m.querySelectorAll('[data-testid="result-table"] tbody tr').length,
      svg: Boolean(charted && chart.querySelector('svg')),
    };
  }, index, { timeout: ANSWER_TIMEOUT, polling: 100 });
  const got = await handle.jsonValue();
  if (got.error) throw new Error(`message ${index + 1} is not an answer: ${got.error}`);
  return got;
}

async function ask(question) {
  const input = page.locator('[data-testid="question-input"]');
  await page.locator('[data-testid="send-button"]').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('[data-testid="message"]:not([data-kind])') === null
    && !document.querySelector('#composer.busy'));
  await input.click();
  await input.fill(question);
  await input.press('Enter');
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, name) });
}

async function main() {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.route('**', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || allowedHost(url.hostname)) return route.continue();
    problems.push(`request to an outside host was blocked: ${url.href}`);
    return route.abort('blockedbyclient');
  });

  await step('open the page', async () => {
    const res = await page.goto(`${BASE}/`, { waitUntil: 'load' });
    check(res && res.ok(), `GET / answered ${res && res.status()}`);
    await page.locator('[data-testid="question-input"]').waitFor({ state: 'visible' });
  });

  await step('the empty state shows sample questions', async () => {
    await page.locator('[data-testid="sample-question"]').first().waitFor({ state: 'visible' });
    const n = await page.locator('[data-testid="sample-question"]').count();
    check(n > 0, 'no sample questions');
    check(await page.locator(sel.message).count() === 0, 'messages are shown before anything was asked');
  });

  await step('ask "top iOS campaigns by ROAS last month"', async () => {
    await ask('top iOS campaigns by ROAS last month');
    const a = await waitForAnswer(0);
    check(a.svg, 'no chart was drawn (expected an svg inside the rendered chart)');
    check(a.rows >= 1, 'the result table has no rows');
    check(a.narrative.length > 0, 'the narrative is empty');
    check(/\bios\b/i.test(a.interpretation), `the interpretation does not mention iOS: "${a.interpretation}"`);
    await shot('answer.png');
  });

  await step('follow up with "what about Android?"', async () => {
    await ask('what about Android?');
    const a = await waitForAnswer(1);
    check(/android/i.test(a.interpretation), `the interpretation does not mention Android: "${a.interpretation}"`);
    check(!/\bios\b/i.test(a.interpretation), `the interpretation still mentions iOS: "${a.interpretation}"`);
    check(a.rows >= 1, 'the result table has no rows');
    await shot('followup.png');
  });

  await step('the sidebar lists one conversation', async () => {
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation-item"]').length === 1);
  });

  await step('reload and reopen the conversation from the sidebar', async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'load' });
    const item = page.locator('[data-testid="conversation-item"]');
    await item.first().waitFor({ state: 'visible' });
    check(await item.count() === 1, `expected 1 conversation, found ${await item.count()}`);
    await item.first().locator('button').first().click();
    const first = await waitForAnswer(0);
    const second = await waitForAnswer(1);
    check(await page.locator(sel.message).count() === 2, `expected 2 turns, found ${await page.locator(sel.message).count()}`);
    check(/\bios\b/i.test(first.interpretation) && first.rows >= 1 && first.narrative, 'the first turn did not re-render');
    check(/android/i.test(second.interpretation) && second.rows >= 1 && second.narrative, 'the second turn did not re-render');
  });

  await step('thumbs up on the first answer is acknowledged', async () => {
    const first = page.locator(sel.answer).first();
    await first.locator('[data-testid="thumbs-up"]').click();
    await page.waitForFunction(() => {
      const m = document.querySelector('[data-testid="message"][data-kind="answer"]');
      const up = m?.querySelector('[data-testid="thumbs-up"]');
      const status = m?.querySelector('[data-testid="feedback-status"]');
      return up?.getAttribute('aria-pressed') === 'true' && /thank/i.test(status?.textContent || '');
    });
  });

  await step('phone layout', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#menu-toggle').waitFor({ state: 'visible' });
    await page.locator('#sidebar').waitFor({ state: 'hidden', timeout: 3000 })
      .catch(() => { throw new Error('the sidebar stays open on a phone'); });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!overflow, 'the page scrolls sideways on a phone');
    await page.waitForTimeout(300); // let the charts resize to the narrow column
    await shot('phone.png');
  });
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.log('FAILED');
  console.error(`\nchat e2e failed at step "${current}":\n${err && err.message ? err.message : err}`);
  if (problems.length && !(err && err.message && err.message.includes(problems[0]))) {
    console.error(problems.join('\n'));
  }
  if (page) {
    try {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png') });
      console.error(`screenshot: ${path.join(SHOTS, 'failure.png')}`);
    } catch { /* the page is gone */ }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log(`chat: ${passed} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
