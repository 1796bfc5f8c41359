import assert from 'node:assert/strict'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, screenshot, sharedGroup, startUiNode, type UiNode } from '../helpers/browser.js'
import { killAll, runCli } from '../helpers/cli.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

/**
 * The shell around the conversation: the sidebar, search, the partition banner, groups
 * made, shared and joined in the UI, the first-run name, and screenshots of the main views.
 */
describe('UI: the shell (sidebar, search, network, groups, first run)', function () {
  this.timeout(120_000)
  let browser: Browser
  let ann: UiNode
  let ben: UiNode
  let cat: UiNode
  let field: string
  let project: string
  let english: { id: string, text: string }
  let chinese: { id: string, text: string }
  const extraDirs: string[] = []

  before(async () => {
    browser = await launchBrowser()
    ann = await startUiNode('Ann')
    ben = await startUiNode('Ben', [ann.daemon.ready.addrs[0]])
    cat = await startUiNode('Cat', [ann.daemon.ready.addrs[0]])
    field = await sharedGroup('Field team', ann, [ben, cat])
    project = await sharedGroup('项目组', ann, [ben])
    await ann.call('POST', `/v1/groups/${field}/messages`, { text: 'Morning all, radios checked.' })
    const e = await ben.call<{ messageId: string }>('POST', `/v1/groups/${field}/messages`, { text: 'Convoy leaves the depot at 0600, bring spare batteries' })
    english = { id: e.messageId, text: 'Convoy leaves the depot at 0600' }
    await cat.call('POST', `/v1/groups/${field}/messages`, { text: '@Ann the north road is closed after the bridge' })
    const c = await ben.call<{ messageId: string }>('POST', `/v1/groups/${project}/messages`, { text: '项目进度本周完成，周五验收' })
    chinese = { id: c.messageId, text: '项目进度本周完成' }
    await ben.call('POST', `/v1/groups/${project}/messages`, { text: '收到，我来准备材料' })
  })

  after(async () => {
    await browser?.close()
    await ann?.stop()
    await ben?.stop()
    await cat?.stop()
    for (const dir of extraDirs) await removeDir(dir)
    await killAll()
  })

  async function waitForMessages (page: Page): Promise<void> {
    await page.locator('[data-testid=history] [data-id]').first().waitFor({ timeout: 15_000 })
  }

  it('lists groups with unread and mention badges as accessible names, and moves between them with the arrow keys', async () => {
    const { context, page } = await ann.open(browser)
    // The page opens the first group (Field team), which marks it read; Ben wrote twice in
    // 项目组, which Ann has not opened.
    const fieldButton = page.getByRole('button', { name: /^Field team/ })
    await fieldButton.waitFor({ timeout: 15_000 })
    await page.getByRole('button', { name: /^项目组, 2 unread$/ }).waitFor()
    await page.getByRole('heading', { name: 'Direct messages' }).waitFor()
    // Live: a new message elsewhere raises the count without a reload; a mention shows apart.
    await ben.call('POST', `/v1/groups/${project}/messages`, { text: '@Ann 明天上午九点开会' })
    await page.getByRole('button', { name: /^项目组, 3 unread, 1 mention$/ }).waitFor({ timeout: 15_000 })
    await fieldButton.focus()
    await page.keyboard.press('ArrowDown')
    assert.match(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), /^项目组/)
    await page.keyboard.press('Enter')
    await page.locator(`button.group[aria-current="true"][aria-label^="项目组"]`).waitFor()
    await context.close()
  })

  it('search finds a Chinese and an English message, highlights the terms, and a result opens its conversation at the message', async () => {
    const { context, page } = await ann.open(browser)
    await page.getByRole('button', { name: 'Field team' }).first().click()
    await page.getByRole('button', { name: /Search/ }).click()
    const box = page.getByRole('searchbox', { name: 'Search messages' })
    await box.fill('项目进度')
    await box.press('Enter')
    const result = page.locator(`button.result[data-result="${chinese.id}"]`)
    await result.waitFor()
    assert.equal(await result.locator('mark').first().textContent(), '项目进度')
    assert.match(await result.textContent() ?? '', /项目组/)
    assert.match(await result.textContent() ?? '', /Ben/)
    // Keyboard: Tab to the result and Enter opens it.
    await result.focus()
    await page.keyboard.press('Enter')
    await page.locator('button.group[aria-current="true"][aria-label^="项目组"]').waitFor()
    const row = page.locator(`[data-id="${chinese.id}"]`)
    await row.waitFor({ timeout: 15_000 })
    assert.ok(await row.isVisible())

    await box.fill('convoy depot')
    await box.press('Enter')
    const en = page.locator(`button.result[data-result="${english.id}"]`)
    await en.waitFor()
    assert.deepEqual(await en.locator('mark').allTextContents(), ['Convoy', 'depot'])
    await en.click()
    await page.locator('button.group[aria-current="true"][aria-label^="Field team"]').waitFor()
    await page.locator(`[data-id="${english.id}"]`).waitFor({ timeout: 15_000 })
    assert.ok(await page.locator(`[data-id="${english.id}"]`).isVisible())
    // Escape closes the panel.
    await page.keyboard.press('Escape')
    await page.getByRole('complementary').waitFor({ state: 'detached' })
    await context.close()
  })

  it('creates a group in a dialog, shows its invite as text and as a QR code, and another node joins by pasting it', async () => {
    const a = await ann.open(browser)
    await a.page.getByRole('button', { name: 'New group', exact: true }).click()
    const dialog = a.page.getByRole('dialog', { name: 'New group' })
    await dialog.getByRole('textbox', { name: 'Group name' }).fill('Night shift')
    await dialog.getByRole('button', { name: 'Create' }).click()
    await dialog.getByRole('img', { name: 'QR code of the invite' }).locator('svg').waitFor()
    const invite = await dialog.getByRole('textbox', { name: 'Invite text' }).inputValue()
    assert.ok(invite.length > 20)
    await dialog.getByRole('button', { name: 'Copy invite' }).waitFor()
    await screenshot(a.page, 'invite-light-en')
    // Tab stays inside the dialog.
    for (let i = 0; i < 6; i++) await a.page.keyboard.press('Tab')
    assert.ok(await dialog.evaluate(d => d.contains(document.activeElement)))
    await a.page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    await a.page.locator('button.group[aria-current="true"][aria-label^="Night shift"]').waitFor()

    const b = await ben.open(browser)
    await b.page.getByRole('button', { name: /Join a group/ }).click()
    const join = b.page.getByRole('dialog', { name: 'Join a group' })
    await join.getByRole('textbox', { name: 'Paste the invite' }).fill(invite)
    await join.getByRole('button', { name: 'Join', exact: true }).click()
    await join.waitFor({ state: 'detached', timeout: 15_000 })
    await b.page.locator('button.group[aria-current="true"][aria-label^="Night shift"]').waitFor()
    const members = await ann.call<Array<{ peerId: string }>>('GET', `/v1/groups/${(await ann.call<Array<{ groupId: string, name: string }>>('GET', '/v1/groups')).find(g => g.name === 'Night shift')?.groupId ?? ''}/members`)
    assert.ok(members.some(m => m.peerId === ben.peerId))
    await a.context.close()
    await b.context.close()
  })

  it('shows members with roles, presence and safety numbers, and the network panel with the last sync', async () => {
    const { context, page } = await ann.open(browser)
    await page.getByRole('button', { name: 'Field team' }).first().click()
    await waitForMessages(page)
    await page.getByRole('button', { name: 'Group members' }).click()
    const panel = page.getByRole('complementary', { name: 'Members' })
    await panel.getByRole('listitem', { name: /^Ben, member, online/ }).waitFor({ timeout: 15_000 })
    await panel.getByRole('listitem', { name: /^Ann, owner, online/ }).waitFor()
    assert.match(await panel.textContent() ?? '', /Safety number/)
    await panel.getByRole('combobox', { name: 'Role of Ben' }).waitFor()
    await screenshot(page, 'members-light-en')

    await page.getByRole('button', { name: /Network/ }).click()
    const net = page.getByRole('complementary', { name: 'Network' })
    await net.getByText('2 of 2 members reachable').waitFor({ timeout: 15_000 })
    await context.close()
  })

  it('lets the owner change a role, export the audit trail, and remove a member after confirming', async () => {
    const { context, page } = await ann.open(browser)
    await page.locator(`button.group[data-group="${project}"]`).click()
    await page.getByRole('button', { name: 'Group members' }).click()
    const panel = page.getByRole('complementary', { name: 'Members' })
    await panel.getByRole('combobox', { name: 'Role of Ben' }).selectOption('read-only')
    await panel.getByRole('listitem', { name: /^Ben, read-only/ }).waitFor({ timeout: 10_000 })
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export audit trail' }).click()])
    assert.match(download.suggestedFilename(), /audit\.jsonl$/)
    await panel.getByRole('button', { name: 'Remove Ben from the group' }).click()
    const confirm = page.getByRole('dialog', { name: 'Remove Ben?' })
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })
    await panel.getByRole('button', { name: 'Remove Ben from the group' }).click()
    await confirm.getByRole('button', { name: 'Remove', exact: true }).click()
    await panel.getByRole('listitem', { name: /^Ben,/ }).waitFor({ state: 'detached', timeout: 10_000 })
    const members = await ann.call<Array<{ peerId: string }>>('GET', `/v1/groups/${project}/members`)
    assert.ok(!members.some(m => m.peerId === ben.peerId))
    await context.close()
  })

  it('shows a partition banner while a member is unreachable, and clears it when the link heals', async () => {
    const { context, page } = await ann.open(browser)
    await page.getByRole('button', { name: 'Field team' }).first().click()
    await waitForMessages(page)
    const banner = page.getByTestId('partition-banner')
    assert.equal(await banner.count(), 0)
    await cat.daemon.stop()
    await banner.getByText('1 of 2 members reachable').waitFor({ timeout: 20_000 })
    await page.getByRole('button', { name: 'Details' }).click()
    const net = page.getByRole('complementary', { name: 'Network' })
    await net.getByRole('list', { name: 'Not reachable' }).getByText('Cat').waitFor()
    await screenshot(page, 'partition-light-en')

    cat = await startUiNode('Cat', [ann.daemon.ready.addrs[0]], cat.dataDir)
    extraDirs.push(cat.dataDir)
    await banner.waitFor({ state: 'detached', timeout: 30_000 })
    await net.getByText('2 of 2 members reachable').waitFor({ timeout: 10_000 })
    await context.close()
  })

  it('asks for a display name on first run, before the main window', async () => {
    const dir = await tempDir('outpost-ui-firstrun-')
    extraDirs.push(dir)
    const init = await runCli(['init'], { dataDir: dir })
    assert.equal(init.code, 0, init.stderr)
    const dan = await startUiNode('dan', [], dir)
    try {
      const { context, page } = await dan.open(browser)
      await page.getByRole('heading', { name: 'Welcome to Outpost' }).waitFor()
      assert.equal(await page.getByRole('navigation').count(), 0)
      await page.getByRole('textbox', { name: 'Your name' }).fill('Dana 达娜')
      await page.getByRole('button', { name: 'Continue' }).click()
      await page.getByRole('navigation').getByText('Dana 达娜').waitFor()
      assert.equal((await dan.call<{ name: string, named: boolean }>('GET', '/v1/status')).named, true)
      await context.close()
    } finally {
      await dan.daemon.stop()
    }
  })

  it('draws the main views in light and dark, English and Chinese (screenshots)', async () => {
    const shots: Array<{ name: string, locale: string, colorScheme: 'light' | 'dark', panel?: 'search' | 'network' | 'settings' }> = [
      { name: 'main-light-en', locale: 'en-US', colorScheme: 'light' },
      { name: 'main-dark-en', locale: 'en-US', colorScheme: 'dark' },
      { name: 'main-light-zh', locale: 'zh-CN', colorScheme: 'light' },
      { name: 'main-dark-zh', locale: 'zh-CN', colorScheme: 'dark' },
      { name: 'search-dark-en', locale: 'en-US', colorScheme: 'dark', panel: 'search' },
      { name: 'network-light-zh', locale: 'zh-CN', colorScheme: 'light', panel: 'network' },
      { name: 'settings-dark-zh', locale: 'zh-CN', colorScheme: 'dark', panel: 'settings' }
    ]
    for (const shot of shots) {
      const { context, page } = await ann.open(browser, { locale: shot.locale, colorScheme: shot.colorScheme })
      const zh = shot.locale.startsWith('zh')
      await page.locator('button.group').first().waitFor()
      await page.locator(`button.group[data-group="${field}"]`).click()
      await waitForMessages(page)
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), shot.colorScheme)
      await page.getByRole('heading', { name: zh ? '群组' : 'Groups', exact: true }).waitFor()
      if (shot.panel === 'search') {
        await page.getByRole('button', { name: /Search/ }).click()
        const box = page.getByRole('searchbox')
        await box.fill('convoy')
        await box.press('Enter')
        await page.locator('button.result').first().waitFor()
      } else if (shot.panel === 'network') {
        await page.getByRole('button', { name: /网络/ }).click()
        await page.getByText('2 名成员中 2 名可达').waitFor({ timeout: 15_000 })
      } else if (shot.panel === 'settings') {
        await page.getByRole('button', { name: /设置/ }).click()
        await page.getByRole('button', { name: '深色' }).waitFor()
      }
      await screenshot(page, shot.name)
      await context.close()
    }
  })
})
