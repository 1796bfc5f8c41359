import { access, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { REPO_ROOT, runCli, startDaemon, type Daemon } from './cli.js'
import { removeDir, tempDir } from './nodes.js'

/**
 * End-to-end UI tests: real `outpost start` processes on loopback, and Debian's Chromium
 * (`apt-get install -y chromium`, .ci/run does it) driven by playwright-core.
 */
export const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? '/usr/bin/chromium'
/** Where the tests write the screenshots the README shows. */
export const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots')

/** `extraArgs`: more Chromium switches (the UI benchmark unties frames from the display's 60 Hz). */
export async function launchBrowser (extraArgs: string[] = []): Promise<Browser> {
  try {
    await access(CHROMIUM)
  } catch {
    throw new Error(`Chromium is not at ${CHROMIUM}: install it (apt-get install -y chromium) or set OUTPOST_CHROMIUM`)
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox as root; and no background traffic: this machine has no internet, and
    // Chromium must send nothing outside loopback.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', ...extraArgs]
  })
}

export interface UiNode {
  name: string
  dataDir: string
  daemon: Daemon
  /** the API base URL */
  api: string
  peerId: string
  /** calls the API with the node's token (as the CLI does), for setting up a test */
  call: <T = any>(method: 'GET' | 'POST', path: string, body?: unknown) => Promise<T>
  /** a new browser context signed in through a new sign-in link, on the main view */
  open: (browser: Browser, options?: { locale?: string, colorScheme?: 'light' | 'dark' }) => Promise<{ context: BrowserContext, page: Page }>
  stop: () => Promise<void>
}

const LOCAL = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0']

/** Starts a node named `name` (a fresh data directory), optionally dialing `peers`. */
export async function startUiNode (name: string, peers: string[] = [], dataDir?: string): Promise<UiNode> {
  const dir = dataDir ?? await tempDir(`outpost-ui-${name}-`)
  if (dataDir == null) {
    const init = await runCli(['init', '--name', name], { dataDir: dir })
    if (init.code !== 0) throw new Error(`outpost init failed: ${init.stderr}`)
  }
  const daemon = await startDaemon({ dataDir: dir, args: [...LOCAL, ...peers.flatMap(p => ['--peer', p])] })
  const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim()
  const api = daemon.ready.api
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(api + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`)
    return (text === '' ? undefined : JSON.parse(text)) as T
  }
  let first = true
  return {
    name,
    dataDir: dir,
    daemon,
    api,
    peerId: daemon.ready.peerId,
    call,
    open: async (browser, options = {}) => {
      // The ready line's link is good once; later contexts ask for a new one.
      const link = first ? daemon.ready.ui : (await call<{ ui: string }>('POST', '/v1/ui/link', {})).ui
      first = false
      const context = await browser.newContext({ locale: options.locale ?? 'en-US', colorScheme: options.colorScheme ?? 'light', viewport: { width: 1280, height: 800 }, acceptDownloads: true })
      const page = await context.newPage()
      await page.goto(link)
      return { context, page }
    },
    stop: async () => {
      await daemon.stop()
      if (dataDir == null) await removeDir(dir)
    }
  }
}

/** A group made on `owner` and joined by every other node (through the API); its id. */
export async function sharedGroup (name: string, owner: UiNode, others: UiNode[]): Promise<string> {
  const { groupId } = await owner.call<{ groupId: string }>('POST', '/v1/groups', { name })
  for (const node of others) {
    const { invite } = await owner.call<{ invite: string }>('GET', `/v1/groups/${groupId}/invite`)
    await node.call('POST', '/v1/groups/join', { invite })
  }
  return groupId
}

export async function screenshot (page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true })
  // The bundled fonts load as a page first uses their characters.
  await page.evaluate(async () => { await document.fonts.ready })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) })
}
