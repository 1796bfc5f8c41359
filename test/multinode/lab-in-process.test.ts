/**
 * `outpost lab --in-process`: the same shipped scenarios with every node in this process
 * (connection gater partitions, injected faults), and the broken node caught.
 */
import { strict as assert } from 'node:assert'
import { runScenario } from '../../node/lab/run.js'
import { parseScenario } from '../../node/lab/scenario.js'
import { runCli } from '../helpers/cli.js'
import { assertBrokenNamed, assertHeld, BROKEN_SCENARIO, runShipped, shippedScenario, SHORT_SCENARIOS } from '../helpers/lab-runs.js'
import { note } from '../helpers/lab-hooks.js'
import { removeDir, tempDir } from '../helpers/nodes.js'

describe('outpost lab in one process', function () {
  this.timeout(120_000)

  for (const name of SHORT_SCENARIOS) {
    it(`holds every check in the shipped scenario ${name}`, async () => {
      assertHeld(await runShipped(name, 'in-process'), await shippedScenario(name))
    })
  }

  it('fails naming the node without sync and the messages it lacks', async () => {
    await assertBrokenNamed(await runScenario(parseScenario(BROKEN_SCENARIO), { mode: 'in-process', progress: note }))
  })

  it('refuses a scenario with a mistake before starting anything, saying where it is', async () => {
    const dir = await tempDir('outpost-lab-cli-')
    try {
      const r = await runCli(['lab', 'no-such-scenario', '--in-process'], { dataDir: dir })
      assert.equal(r.code, 1)
      assert.match(r.stderr, /no scenario file no-such-scenario, and no shipped scenario of that name/)
    } finally {
      await removeDir(dir)
    }
  })
})
