// Loads an Apiary node's dashboard in the system's headless Chromium and follows one member
// through a kill, without reloading the page (tests/integration/dashboard_test.cpp runs this):
//
//   node dashboard_check.mjs <dashboard url> <members, comma-separated> <victim> <screenshot dir>
//
// 1. every member is shown alive, the partition map has one colour per member, and the
//    cluster's operations/s figure is positive and changes between two reads;
// 2. prints "ready for the kill" and waits: the test kills <victim> with SIGKILL;
// 3. the victim's row turns suspect, then dead, in the same page load.
// Screenshots go to <screenshot dir>/dashboard-live.png and dashboard-after-kill.png (or
// dashboard-failure.png). Exits 0 and prints "ok" at the end when everything held.
import {chromium} from 'playwright-core';
import path from 'node:path';

const [url, memberList, victim, shotDir] = process.argv.slice(2);
const members = memberList.split(',');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function log(line) {
  process.stdout.write(line + '\n');
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const page = await browser.newPage({viewport: {width: 1440, height: 1900}});
const pageErrors = [];
page.on('pageerror', (err) => pageErrors.push(String(err)));
page.on('console', (msg) => {
  if (msg.type() === 'error') pageErrors.push('console: ' + msg.text());
});

const member = (name, state) => `#members tr[data-member="${name}"][data-state="${state}"]`;
const opsValue = () => page.$eval('#total-ops', (e) => e.dataset.value);

let exitCode = 1;
try {
  await page.goto(url, {waitUntil: 'load'});
  // A marker that a reload would erase.
  await page.evaluate(() => { window.apiaryTestLoad = 'first'; });
  await page.waitForSelector('#status[data-status="live"]', {timeout: 20000});
  for (const name of members) await page.waitForSelector(member(name, 'alive'), {timeout: 20000});
  log(`members alive: ${members.join(', ')}`);

  // The operations/s figure: positive, then a different positive value on a later poll.
  await page.waitForFunction(() => Number(document.getElementById('total-ops').dataset.value) > 0,
                             null, {timeout: 20000});
  const first = await opsValue();
  await page.waitForFunction(
      (before) => {
        const v = document.getElementById('total-ops').dataset.value;
        return Number(v) > 0 && v !== before;
      },
      first, {timeout: 20000});
  const second = await opsValue();
  log(`operations/s: ${first} then ${second} (shown as ` +
      `"${await page.textContent('#total-ops')}")`);

  await page.waitForFunction(
      (n) => document.querySelectorAll('#partition-legend [data-owner]').length === n,
      members.length, {timeout: 20000});
  const owners = await page.$$eval('#partition-legend [data-owner]',
                                   (items) => items.map((e) => `${e.dataset.owner}=${e.dataset.primary}`));
  log(`partition map first owners: ${owners.join(' ')}`);

  const live = path.join(shotDir, 'dashboard-live.png');
  await page.screenshot({path: live, fullPage: true});
  log(`screenshot: ${live}`);

  log('ready for the kill');
  const killWaitStart = Date.now();
  await page.waitForSelector(member(victim, 'suspect'), {timeout: 90000});
  log(`${victim} shown suspect after ${((Date.now() - killWaitStart) / 1000).toFixed(1)} s`);
  await page.waitForSelector(member(victim, 'dead'), {timeout: 90000});
  log(`${victim} shown dead after ${((Date.now() - killWaitStart) / 1000).toFixed(1)} s`);

  if (await page.evaluate(() => window.apiaryTestLoad) !== 'first') {
    throw new Error('the page was reloaded');
  }
  for (const name of members) {
    if (name !== victim) await page.waitForSelector(member(name, 'alive'), {timeout: 5000});
  }
  // Let the charts show the gap and the table its last state.
  await page.waitForTimeout(1500);
  const after = path.join(shotDir, 'dashboard-after-kill.png');
  await page.screenshot({path: after, fullPage: true});
  log(`screenshot: ${after}`);

  if (pageErrors.length > 0) throw new Error('errors in the page: ' + pageErrors.join('; '));
  log('ok');
  exitCode = 0;
} catch (err) {
  log(`FAILED: ${err.stack || err}`);
  if (pageErrors.length > 0) log('page errors: ' + pageErrors.join('; '));
  try {
    const failure = path.join(shotDir, 'dashboard-failure.png');
    await page.screenshot({path: failure, fullPage: true});
    log(`screenshot: ${failure}`);
  } catch (_) {
    // the browser is gone: nothing to capture
  }
} finally {
  await browser.close();
}
process.exit(exitCode);
