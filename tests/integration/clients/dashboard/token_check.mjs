// The dashboard of a node that asks for an admin token (tests/integration/admin_auth_test.cpp):
//
//   node token_check.mjs <https dashboard url> <token> <members, comma-separated> <screenshot>
//
// 1. opened as <url>?token=<token>: every member is shown alive, the token has left the
//    address bar and sits in the tab's sessionStorage;
// 2. opened in a new tab without it: the page asks for the token (a prompt, answered with
//    <token>) and then shows the members alive.
// Exits 0 and prints "ok" at the end when everything held. The node's certificate comes from
// the test's own CA, which Chromium does not know: certificate errors are ignored here (the
// test checks the certificate with curl and httplib).
import {chromium} from 'playwright-core';

const [url, token, memberList, shot] = process.argv.slice(2);
const members = memberList.split(',');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function log(line) {
  process.stdout.write(line + '\n');
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ignoreHTTPSErrors: true,
                                          viewport: {width: 1440, height: 1900}});
const member = (name, state) => `#members tr[data-member="${name}"][data-state="${state}"]`;

let exitCode = 1;
try {
  const page = await context.newPage();
  await page.goto(url + '?token=' + encodeURIComponent(token), {waitUntil: 'load'});
  await page.waitForSelector('#status[data-status="live"]', {timeout: 20000});
  for (const name of members) await page.waitForSelector(member(name, 'alive'), {timeout: 20000});
  log(`with ?token=: members alive: ${members.join(', ')}`);
  if (page.url().includes('token=')) throw new Error('the token stayed in the address bar');
  const kept = await page.evaluate(() => sessionStorage.getItem('apiary-admin-token'));
  if (kept !== token) throw new Error('the token is not in sessionStorage');
  log('token removed from the address bar, kept in sessionStorage');
  await page.screenshot({path: shot, fullPage: true});

  const asked = await context.newPage();  // sessionStorage is per tab: this one has none
  let prompts = 0;
  asked.on('dialog', async (dialog) => {
    prompts += 1;
    await dialog.accept(token);
  });
  await asked.goto(url, {waitUntil: 'load'});
  await asked.waitForSelector('#status[data-status="live"]', {timeout: 20000});
  for (const name of members) await asked.waitForSelector(member(name, 'alive'), {timeout: 20000});
  if (prompts < 1) throw new Error('the page never asked for the token');
  log(`without it: asked ${prompts} time(s), then members alive`);
  log('ok');
  exitCode = 0;
} catch (err) {
  log('FAILED: ' + (err && err.stack ? err.stack : err));
} finally {
  await browser.close();
}
process.exit(exitCode);
