import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import { launchBrowser, sharedGroup, startUiNode, type UiNode } from '../helpers/browser.js'
import { killAll } from '../helpers/cli.js'

describe('UI: signing in, and a message live between two nodes', function () {
  this.timeout(120_000)
  let browser: Browser
  let ann: UiNode
  let ben: UiNode
  let groupId: string

  before(async () => {
    browser = await launchBrowser()
    ann = await startUiNode('ann')
    ben = await startUiNode('ben', [ann.daemon.ready.addrs[0]])
    groupId = await sharedGroup('Field team', ann, [ben])
  })

  after(async () => {
    await browser?.close()
    await ann?.stop()
    await ben?.stop()
    await killAll()
  })

  it('the printed link signs in once, leaves no code in the address, and a request without the session is refused', async () => {
    const link = ann.daemon.ready.ui
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/signin\?code=/)
    const { context, page } = await ann.open(browser)
    await page.getByRole('button', { name: 'Field team' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/')
    assert.equal(new URL(page.url()).search, '')
    const cookies = await context.cookies()
    assert.equal(cookies.length, 1)
    assert.equal(cookies[0].httpOnly, true)
    assert.equal(cookies[0].sameSite, 'Strict')
    // The session reaches the API from the page.
    assert.equal(await page.evaluate(async () => (await fetch('/v1/status')).status), 200)

    // The same link a second time: refused.
    const again = await browser.newContext()
    const second = await again.newPage()
    const res = await second.goto(link)
    assert.equal(res?.status(), 401)
    // A browser without the session sees the sign-in screen, and the API refuses it.
    await second.goto(ann.api + '/')
    await second.getByRole('heading', { name: 'Not signed in' }).waitFor()
    assert.equal(await second.evaluate(async () => (await fetch('/v1/status')).status), 401)
    assert.equal(await second.evaluate(async () => (await fetch('/v1/groups', { method: 'POST', body: '{"name":"x"}' })).status), 401)
    await again.close()
    await context.close()
  })

  it('a message typed in one node\'s UI appears in the other\'s, live', async () => {
    const a = await ann.open(browser)
    const b = await ben.open(browser)
    await a.page.getByRole('button', { name: 'Field team' }).click()
    await b.page.getByRole('button', { name: 'Field team' }).click()
    const text = `Convoy leaves at 0600 ${Date.now()}`
    const box = a.page.getByRole('textbox', { name: 'Message' })
    await box.fill(text)
    await box.press('Enter')
    await b.page.getByText(text).waitFor({ timeout: 15_000 })
    const history = await ben.call<Array<{ text: string }>>('GET', `/v1/groups/${groupId}/messages`)
    assert.ok(history.some(m => m.text === text))
    await a.context.close()
    await b.context.close()
  })
})
