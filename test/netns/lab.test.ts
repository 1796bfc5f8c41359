/**
 * `outpost lab` with real node processes in network namespaces: every shipped short
 * scenario holds its checks, and a node started without sync fails them by name. Needs
 * root; without it the lab says so and these tests fail.
 */
import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LabReport } from '../../node/lab/report.js'
import { runCli } from '../helpers/cli.js'
import { assertBrokenNamed, assertHeld, BROKEN_SCENARIO, runShipped, shippedScenario, SHORT_SCENARIOS } from '../helpers/lab-runs.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

describe('outpost lab in network namespaces', function () {
  this.timeout(180_000)

  for (const name of SHORT_SCENARIOS) {
    it(`holds every check in the shipped scenario ${name}`, async () => {
      assertHeld(await runShipped(name, 'namespaces'), await shippedScenario(name))
    })
  }

  it('fails, exit status 1, naming the node without sync and the messages it lacks; writes the HTML report', async () => {
    const dir = await tempDir('outpost-lab-cli-')
    try {
      const file = join(dir, 'broken.yaml')
      await writeFile(file, BROKEN_SCENARIO)
      const html = join(dir, 'report.html')
      const r = await runCli(['lab', file, '--html', html], { dataDir: dir, timeoutMs: 150_000 })
      assert.equal(r.code, 1, `exit status 1 when a check fails; stderr:\n${r.stderr}`)
      const report = r.json as LabReport
      for (const field of ['scenario', 'seed', 'nodes', 'sent', 'acknowledged', 'lost', 'duplicates', 'orderMismatches', 'converged', 'convergenceMs', 'latencyMs']) {
        assert.ok(field in report, `the JSON report has ${field}`)
      }
      assert.equal(report.scenario, 'broken-sync')
      assert.equal(report.mode, 'namespaces')
      await assertBrokenNamed(report)
      assert.match(r.stderr, /\[lab [\d.]+ s\] .*partition/, 'progress on stderr')
      const { readFile } = await import('node:fs/promises')
      assert.match(await readFile(html, 'utf8'), /n3 lacks/)
    } finally {
      await removeDir(dir)
    }
  })
})
