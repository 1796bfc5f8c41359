import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.js'
import { CLI_MAIN, exited, killAll, onStdoutLines, runCli, spawnTracked } from '../helpers/cli.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

describe('UI: an encrypted data directory unlocked from the browser', function () {
  this.timeout(90_000)
  let browser: Browser
  let dir: string

  before(async () => {
    browser = await launchBrowser()
    dir = await tempDir('outpost-ui-unlock-')
  })

  after(async () => {
    await browser?.close()
    await killAll()
    await removeDir(dir)
  })

  it('start --unlock-in-browser serves a passphrase screen; a wrong one is refused, the right one starts the node on the same address', async () => {
    const passFile = join(dir, 'pass')
    await writeFile(passFile, 'correct horse battery staple\n')
    const data = join(dir, 'data')
    const init = await runCli(['init', '--name', 'Vera', '--passphrase-file', passFile], { dataDir: data })
    assert.equal(init.code, 0, init.stderr)

    const proc = spawnTracked(process.execPath, [CLI_MAIN, 'start', '--data', data, '--json', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--unlock-in-browser'])
    const lines: any[] = []
    let wake = (): void => {}
    onStdoutLines(proc, line => { try { lines.push(JSON.parse(line)) } catch {} wake() })
    const next = async (what: string, test: (l: any) => boolean): Promise<any> => {
      const deadline = Date.now() + 30_000
      while (Date.now() < deadline) {
        const found = lines.find(test)
        if (found != null) return found
        await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 500) })
      }
      throw new Error(`no ${what} line from the node`)
    }
    const locked = await next('locked', l => l.locked === true)
    assert.equal(locked.ready, false)
    const origin = new URL(locked.ui).origin

    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(locked.ui)
    await page.getByRole('heading', { name: 'Unlock Outpost' }).waitFor()
    const box = page.getByLabel('Passphrase')
    await box.fill('wrong horse')
    await page.getByRole('button', { name: 'Unlock' }).click()
    await page.getByRole('alert').getByText('does not unlock').waitFor()
    assert.equal(lines.some(l => l.ready === true), false, 'still locked')

    await box.fill('correct horse battery staple')
    await page.getByRole('button', { name: 'Unlock' }).click()
    const ready = await next('ready', l => l.ready === true)
    assert.equal(ready.api, origin, 'the node took the same address')
    // The session made while locked carries over: the main view, signed in.
    await page.getByText('Create or join a group to start.').waitFor({ timeout: 30_000 })
    assert.equal(await page.evaluate(async () => ((await (await fetch('/v1/status')).json()) as { name: string }).name), 'Vera')
    await context.close()
    proc.kill('SIGTERM')
    await exited(proc)
  })
})
