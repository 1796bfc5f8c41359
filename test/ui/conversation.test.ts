import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, screenshot, sharedGroup, startUiNode, type UiNode } from '../helpers/browser.js'
import { killAll } from '../helpers/cli.js'
import { removeDir, tempDir, waitFor } from '../helpers/nodes.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('UI: the conversation between two nodes', function () {
  this.timeout(120_000)
  let browser: Browser
  let ann: UiNode
  let ben: UiNode
  let groupId: string
  let a: Page
  let b: Page
  let dir: string

  before(async () => {
    browser = await launchBrowser()
    dir = await tempDir('outpost-ui-conv-')
    ann = await startUiNode('Ann')
    ben = await startUiNode('Ben', [ann.daemon.ready.addrs[0]])
    groupId = await sharedGroup('Survey crew', ann, [ben])
    a = (await ann.open(browser)).page
    b = (await ben.open(browser)).page
    for (const page of [a, b]) page.on('dialog', d => { d.accept().catch(() => {}) })
  })

  after(async () => {
    await browser?.close()
    await ann?.stop()
    await ben?.stop()
    await killAll()
    await removeDir(dir)
  })

  /** The history row whose own text (or file name) contains `text` (not a reply quoting it). */
  const row = (page: Page, text: string) => page.getByTestId('history').locator('li.message').filter({ has: page.locator('.text, .file-name', { hasText: text }) })

  it('a reply, a reaction, an edit and a delete made in one UI appear in the other, live', async () => {
    await a.getByRole('textbox', { name: 'Message' }).fill('Base camp at ridge 4?')
    await a.getByRole('textbox', { name: 'Message' }).press('Enter')
    const onB = row(b, 'Base camp at ridge 4?')
    await onB.waitFor()

    // Ben replies to it.
    await onB.hover()
    await onB.getByRole('button', { name: 'Reply' }).click()
    await b.getByText('Replying to Ann').waitFor()
    await b.getByRole('textbox', { name: 'Message' }).fill('Yes, by 1400')
    await b.getByRole('textbox', { name: 'Message' }).press('Enter')
    const reply = row(a, 'Yes, by 1400')
    await reply.waitFor()
    await reply.getByRole('button', { name: /Ann: Base camp at ridge 4\?/ }).waitFor()

    // Ann reacts to the reply; Ben sees it; Ann toggles it off again.
    await reply.hover()
    await reply.getByRole('button', { name: 'Add reaction' }).click()
    await reply.getByRole('menuitem', { name: '👍' }).click()
    await row(b, 'Yes, by 1400').getByRole('button', { name: '👍 by Ann' }).waitFor()

    // Ann edits her message; Ben sees the new text, marked edited.
    const mine = a.locator(`[data-id="${await row(a, 'Base camp at ridge 4?').getAttribute('data-id') ?? ''}"]`)
    await mine.hover()
    await mine.getByRole('button', { name: 'Edit' }).click()
    const editor = mine.getByRole('textbox', { name: 'Edit' })
    await editor.fill('Base camp at ridge 5?')
    await editor.press('Enter')
    const edited = row(b, 'Base camp at ridge 5?')
    await edited.waitFor()
    await edited.getByText('(edited)').waitFor()
    await screenshot(b, 'conversation-light-en')

    // Ben deletes his reply; on Ann's side the text is gone.
    const his = row(b, 'Yes, by 1400')
    await his.hover()
    await his.getByRole('button', { name: 'Delete' }).click()
    await waitFor('the reply gone on Ann', async () => await row(a, 'Yes, by 1400').count() === 0, 15_000)
    await a.getByTestId('history').getByText('This message was deleted.').waitFor()
    const history = await ann.call<Array<{ text: string, deleted: boolean }>>('GET', `/v1/groups/${groupId}/messages`)
    assert.ok(!history.some(m => m.text.includes('1400')))
  })

  it('a file dropped in one UI shows progress, and downloads in the other byte-identical', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 123)
    // Whether a progress bar for the upload shows, however briefly (loopback is fast).
    await a.evaluate(() => {
      const w = window as unknown as { sawUpload: boolean }
      w.sawUpload = false
      new MutationObserver(() => {
        if (document.querySelector('.upload[role=progressbar]') != null) w.sawUpload = true
      }).observe(document.body, { subtree: true, childList: true })
    })
    // A drop, as a person drags a file in from the desktop.
    await a.evaluate(async ({ base64, name }) => {
      const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0))
      const file = new File([bytes], name, { type: 'application/octet-stream' })
      const dt = new DataTransfer()
      dt.items.add(file)
      const target = document.querySelector('.conversation') as HTMLElement
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }))
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    }, { base64: data.toString('base64'), name: 'survey-grid.bin' })
    assert.equal(await a.evaluate(() => (window as unknown as { sawUpload: boolean }).sawUpload), true, 'an upload progress bar showed')
    const card = row(b, 'survey-grid.bin')
    await card.waitFor({ timeout: 30_000 })
    const download = b.waitForEvent('download', { timeout: 60_000 })
    await card.getByRole('button', { name: 'Download survey-grid.bin' }).click()
    const saved = join(dir, 'download.bin')
    await (await download).saveAs(saved)
    assert.equal(sha(await readFile(saved)), sha(data))

    // And through the paperclip's file input, from Ben to Ann.
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'grid 7 done 项目进度')
    await b.getByTestId('file-input').setInputFiles(path)
    await row(a, 'notes.txt').waitFor({ timeout: 30_000 })
  })

  it('works from the keyboard: arrows move between messages, Tab reaches their actions, Escape returns to the composer', async () => {
    const box = a.getByRole('textbox', { name: 'Message' })
    await box.fill('keyboard check')
    await box.press('Enter')
    await row(a, 'keyboard check').waitFor()
    await a.getByTestId('history').focus()
    await a.keyboard.press('End')
    const focused = await a.evaluate(() => document.activeElement?.closest('li.message')?.textContent ?? '')
    assert.match(focused, /keyboard check/)
    await a.keyboard.press('Tab')
    assert.equal(await a.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Reply')
    await a.keyboard.press('Enter')
    await a.getByText('Replying to Ann').waitFor()
    await a.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Message')
    await a.keyboard.press('Escape')
    assert.equal(await a.getByText('Replying to Ann').count(), 0)
  })

  it('older messages load when the history is scrolled to the top', async () => {
    const { groupId: big } = await ann.call<{ groupId: string }>('POST', '/v1/groups', { name: 'Logbook' })
    for (let i = 0; i < 160; i++) await ann.call('POST', `/v1/groups/${big}/messages`, { text: `entry ${i}` })
    const [first] = await ann.call<Array<{ id: string }>>('GET', `/v1/groups/${big}/messages?limit=1&around=${(await ann.call<Array<{ id: string }>>('GET', `/v1/groups/${big}/messages`))[0].id}`)
    const page = (await ann.open(browser)).page
    await page.getByRole('button', { name: 'Logbook' }).click()
    await row(page, 'entry 159').waitFor()
    const firstRow = page.locator(`[data-id="${first.id}"]`)
    assert.equal(await firstRow.count(), 0, 'the first page holds only the latest')
    for (let i = 0; i < 40 && await firstRow.count() === 0; i++) {
      await page.getByTestId('history').evaluate(el => { el.scrollTop = 0 })
      await page.waitForTimeout(250)
    }
    assert.equal(await firstRow.count(), 1, `the first message loaded (rows: ${await page.locator('li.message').count()})`)
    await page.getByTestId('history').evaluate(el => { el.scrollTop = 0 })
    await row(page, 'entry 0').waitFor()
    await page.getByText('This is the beginning of the conversation.').waitFor()
  })
})
