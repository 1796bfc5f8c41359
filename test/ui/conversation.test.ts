import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, screenshot, sharedGroup, startUiNode, type UiNode } from '../helpers/browser.js'
import { killAll } from '../helpers/cli.js'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** A message row as the reader sees it. */
const row = (page: Page, text: string) => page.getByTestId('history').locator('article.message', { hasText: text })
/** The same row by its message id, whatever its text becomes. */
const byId = (page: Page, id: string) => page.getByTestId('history').locator(`article[data-id="${id}"]`)

describe('UI: the conversation view', function () {
  this.timeout(120_000)
  let browser: Browser
  let ann: UiNode
  let ben: UiNode

  before(async () => {
    browser = await launchBrowser()
    ann = await startUiNode('ann')
    ben = await startUiNode('ben', [ann.daemon.ready.addrs[0]])
  })

  after(async () => {
    await browser?.close()
    await ann?.stop()
    await ben?.stop()
    await killAll()
  })

  async function openBoth (group: string): Promise<{ a: Page, b: Page, close: () => Promise<void> }> {
    const a = await ann.open(browser)
    const b = await ben.open(browser)
    await a.page.getByRole('button', { name: group }).click()
    await b.page.getByRole('button', { name: group }).click()
    return { a: a.page, b: b.page, close: async () => { await a.context.close(); await b.context.close() } }
  }

  it('a reply, a reaction, an edit and a delete made in one UI appear in the other, live', async () => {
    await sharedGroup('Relay desk', ann, [ben])
    const { a, b, close } = await openBoth('Relay desk')
    const original = `Generator check at 1400 ${Date.now()}`
    const box = a.getByRole('textbox', { name: 'Message' })
    await box.fill(original)
    await box.press('Enter')
    await row(b, original).waitFor({ timeout: 15_000 })
    const id = await row(a, original).getAttribute('data-id') as string
    const mine = byId(a, id)
    const theirs = byId(b, id)

    // Ben replies: Ann sees the reply with its quote.
    await theirs.hover()
    await theirs.getByRole('button', { name: 'Reply', exact: true }).click()
    await b.getByText(`Replying to ann: ${original}`).waitFor()
    await b.getByRole('textbox', { name: 'Message' }).fill('Done, tank at 80%')
    await b.getByRole('textbox', { name: 'Message' }).press('Enter')
    const reply = row(a, 'Done, tank at 80%')
    await reply.waitFor({ timeout: 15_000 })
    await reply.getByRole('button', { name: `Reply to ann: ${original}` }).waitFor()
    // The parent shows the reply count, and the thread panel lists the reply.
    await mine.getByRole('button', { name: '1 reply' }).click()
    await a.locator('.thread-panel').getByText('Done, tank at 80%').waitFor()

    // Ann reacts: Ben sees the chip with its count; Ben adds his: 2.
    await mine.hover()
    await mine.getByRole('button', { name: 'Add reaction' }).click()
    await a.getByRole('dialog', { name: 'Pick an emoji' }).getByRole('button', { name: '👍' }).click()
    await theirs.getByRole('button', { name: /^👍 1, reacted by ann/ }).waitFor({ timeout: 15_000 })
    await theirs.getByRole('button', { name: /^👍 1/ }).click()
    await mine.getByRole('button', { name: /^👍 2/ }).waitFor({ timeout: 15_000 })
    await screenshot(a, 'conversation-light-en')

    // Ann edits her message: Ben sees the new text, marked edited.
    const edited = `Generator check moved to 1500 ${Date.now()}`
    await mine.hover()
    await mine.getByRole('button', { name: 'Edit' }).click()
    const editor = a.getByRole('textbox', { name: 'Edit message' })
    await editor.fill(edited)
    await editor.press('Enter')
    await theirs.filter({ hasText: edited }).getByText('(edited)').waitFor({ timeout: 15_000 })

    // Ann deletes it (after confirming): Ben sees the placeholder in its place.
    await mine.hover()
    await mine.getByRole('button', { name: 'Delete' }).click()
    await mine.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click()
    await theirs.getByText('This message was deleted.').waitFor({ timeout: 15_000 })
    assert.equal(await row(b, edited).count(), 0)
    await close()
  })

  it('files chosen with the paperclip or dropped upload with progress, appear in the other UI and download byte-identical', async () => {
    await sharedGroup('File drop', ann, [ben])
    const { a, b, close } = await openBoth('File drop')

    // Through the paperclip's file input.
    const bytes = randomBytes(3 * 1024 * 1024 + 123)
    await a.locator('[data-testid="file-input"]').setInputFiles({ name: 'survey.bin', mimeType: 'application/octet-stream', buffer: bytes })
    await a.getByRole('progressbar', { name: 'Uploading survey.bin' }).waitFor()
    await row(a, 'survey.bin').waitFor({ timeout: 15_000 })
    const card = row(b, 'survey.bin')
    await card.waitFor({ timeout: 15_000 })
    const [download] = await Promise.all([b.waitForEvent('download', { timeout: 30_000 }), card.getByRole('button', { name: 'Download' }).click()])
    assert.equal(download.suggestedFilename(), 'survey.bin')
    assert.equal(sha256(await readFile(await download.path())), sha256(bytes))

    // Dropped on the conversation: a DataTransfer made in the page.
    const text = 'grid ref 4471 9023\n'.repeat(5000)
    await a.locator('section.conversation').evaluate((section, content) => {
      const data = new DataTransfer()
      data.items.add(new File([content], 'grid-refs.txt', { type: 'text/plain' }))
      section.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }))
      section.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    }, text)
    await a.getByRole('progressbar', { name: 'Uploading grid-refs.txt' }).waitFor()
    const dropped = row(b, 'grid-refs.txt')
    await dropped.waitFor({ timeout: 15_000 })
    const [second] = await Promise.all([b.waitForEvent('download', { timeout: 30_000 }), dropped.getByRole('button', { name: 'Download' }).click()])
    assert.equal(sha256(await readFile(await second.path())), sha256(Buffer.from(text)))
    await close()
  })

  it('opens at the latest message, keeps few rows in the DOM, and loads older pages when scrolled to the top', async () => {
    const { groupId } = await ann.call<{ groupId: string }>('POST', '/v1/groups', { name: 'Archive' })
    const pad = (i: number): string => String(i).padStart(3, '0')
    for (let i = 0; i < 300; i++) await ann.call('POST', `/v1/groups/${groupId}/messages`, { text: `log entry ${pad(i)}${i % 7 === 0 ? '\nwith a second line' : ''}` })
    const { context, page } = await ann.open(browser)
    await page.getByRole('button', { name: 'Archive' }).click()
    const history = page.getByTestId('history')
    await row(page, 'log entry 299').waitFor()
    assert.equal(await row(page, 'log entry 000').count(), 0)
    assert.ok(await page.locator('[data-testid="history"] [data-id]').count() < 120, 'only rows near the viewport are in the DOM')

    for (let i = 0; i < 40 && await row(page, 'log entry 000').count() === 0; i++) {
      await history.evaluate(el => { el.scrollTop = 0 })
      await page.waitForTimeout(250)
    }
    await row(page, 'log entry 000').waitFor()
    await page.getByText('This is the start of the conversation.').waitFor()
    assert.ok(await page.locator('[data-testid="history"] [data-id]').count() < 120)
    await context.close()
  })
})
