/*
 * Headless-browser driver for Shopassist's browser tests: runs one scenario, prints one JSON result.
 *
 * Usage: node drive.mjs < scenario.json   (tests call it through tests/browser/driver.py)
 *
 * Scenario: {"viewport": {"width": 1280, "height": 800}, "timeout_ms": 15000,
 *            "steps": [{"do": "goto", "url": "http://127.0.0.1:PORT/"}, ...]}
 * Steps ("as" names a value to return; CSS selectors pierce the widget's open shadow root):
 *   goto {url} | reload | click {selector} | fill {selector, value} | press {selector, key}
 *   wait {selector, state?} | wait_text {selector, text} | wait_count {selector, count}
 *   texts {selector, as} | count {selector, as} | html {selector, as} | eval {expression, as}
 *   screenshot {path, selector?} | sleep {ms}
 * Result: {"ok", "values", "console", "page_errors", "dialogs", "failed_step", "error"}.
 * Uses Debian's chromium (CHROMIUM env var, default /usr/bin/chromium): never downloads a browser.
 */
import { chromium } from 'playwright-core';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function waitForText(page, selector, text, timeout) {
  await page.waitForFunction(
    ([sel, wanted]) => {
      const seen = [];
      const visit = (root) => {
        for (const node of root.querySelectorAll(sel)) seen.push(node.textContent || '');
        for (const node of root.querySelectorAll('*')) if (node.shadowRoot) visit(node.shadowRoot);
      };
      visit(document);
      return seen.some((t) => t.includes(wanted));
    },
    [selector, text],
    { timeout },
  );
}

async function runStep(page, step, values, timeout) {
  const t = step.timeout_ms || timeout;
  switch (step.do) {
    case 'goto':
      await page.goto(step.url, { waitUntil: 'load', timeout: t });
      break;
    case 'reload':
      await page.reload({ waitUntil: 'load', timeout: t });
      break;
    case 'click':
      await page.locator(step.selector).first().click({ timeout: t });
      break;
    case 'fill':
      await page.locator(step.selector).first().fill(step.value, { timeout: t });
      break;
    case 'press':
      await page.locator(step.selector).first().press(step.key, { timeout: t });
      break;
    case 'wait':
      await page.locator(step.selector).first().waitFor({ state: step.state || 'visible', timeout: t });
      break;
    case 'wait_text':
      await waitForText(page, step.selector, step.text, t);
      break;
    case 'wait_count': {
      const deadline = Date.now() + t;
      while ((await page.locator(step.selector).count()) < step.count) {
        if (Date.now() > deadline) throw new Error(`fewer than ${step.count} of ${step.selector}`);
        await page.waitForTimeout(50);
      }
      break;
    }
    case 'texts':
      values[step.as] = await page.locator(step.selector).allTextContents();
      break;
    case 'count':
      values[step.as] = await page.locator(step.selector).count();
      break;
    case 'html':
      values[step.as] = await page.locator(step.selector).evaluateAll((nodes) => nodes.map((n) => n.innerHTML));
      break;
    case 'eval':
      values[step.as] = await page.evaluate(step.expression);
      break;
    case 'screenshot':
      if (step.selector) await page.locator(step.selector).first().screenshot({ path: step.path, timeout: t });
      else await page.screenshot({ path: step.path });
      break;
    case 'sleep':
      await page.waitForTimeout(step.ms);
      break;
    default:
      throw new Error(`unknown step ${JSON.stringify(step.do)}`);
  }
}

async function main() {
  const scenario = JSON.parse(await readStdin());
  const timeout = scenario.timeout_ms || 15000;
  const result = { ok: false, values: {}, console: [], page_errors: [], dialogs: [], failed_step: null, error: null };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, timeout: 30000,
  });
  try {
    const context = await browser.newContext({
      viewport: scenario.viewport || { width: 1280, height: 800 },
      deviceScaleFactor: scenario.scale || 1,
    });
    const page = await context.newPage();
    page.on('console', (msg) => result.console.push(`${msg.type()}: ${msg.text()}`));
    page.on('pageerror', (err) => result.page_errors.push(String(err)));
    page.on('dialog', (dialog) => {
      result.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    const steps = scenario.steps || [];
    for (let i = 0; i < steps.length; i += 1) {
      try {
        await runStep(page, steps[i], result.values, timeout);
      } catch (err) {
        result.failed_step = i;
        result.error = `step ${i} ${JSON.stringify(steps[i])}: ${err.message.split('\n')[0]}`;
        if (scenario.failure_screenshot) await page.screenshot({ path: scenario.failure_screenshot }).catch(() => {});
        return result;
      }
    }
    result.ok = true;
    return result;
  } finally {
    await browser.close();
  }
}

main()
  .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
  .catch((err) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.stack || err) })}\n`);
    process.exitCode = 1;
  });
