import { readFile, writeFile } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidRequestError } from '../errors.js'
import { str, type Command } from './shared.js'

/** Scenarios shipped with Outpost, by name (`outpost lab halves`). */
const SHIPPED = fileURLToPath(new URL('../../../node/lab/scenarios/', import.meta.url))

async function readScenario (arg: string): Promise<{ text: string, name: string }> {
  const candidates = /[/.]/.test(arg) ? [arg] : [`${SHIPPED}${arg}.yaml`, arg]
  for (const path of candidates) {
    try {
      return { text: await readFile(path, 'utf8'), name: basename(path, extname(path)) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InvalidRequestError(`cannot read the scenario ${path}: ${(err as Error).message}`)
    }
  }
  throw new InvalidRequestError(`no scenario file ${arg}, and no shipped scenario of that name (see node/lab/scenarios/)`)
}

export const labCommands: Record<string, Command> = {
  lab: {
    usage: 'lab SCENARIO [--in-process] [--html FILE] [--keep]',
    summary: 'run a mesh-lab scenario (a YAML or JSON file, or a shipped one by name) against real nodes in network namespaces (needs root; --in-process: all nodes in this process); prints the report, exits 0 only when every check held',
    options: ['in-process', 'html', 'keep'],
    args: 1,
    exitWhenDone: true,
    run: async ({ args, values }) => {
      const { parseScenario } = await import('../lab/scenario.js')
      const { runScenario } = await import('../lab/run.js')
      const { htmlReport } = await import('../lab/html-report.js')
      const { textReport } = await import('../lab/text-report.js')
      const { text, name } = await readScenario(args[0])
      const scenario = parseScenario(text, name)
      const inProcess = values['in-process'] === true
      if (!inProcess && typeof process.getuid === 'function' && process.getuid() !== 0) {
        throw new InvalidRequestError(`the lab builds network namespaces, which needs root (this is uid ${process.getuid()}); run it as root, or pass --in-process to run every node in this process with injected faults`)
      }
      const tty = process.stderr.isTTY === true
      const started = Date.now()
      const report = await runScenario(scenario, {
        mode: inProcess ? 'in-process' : 'namespaces',
        keepData: values.keep === true,
        progress: line => { process.stderr.write(`${tty ? '\x1b[2m' : ''}[lab ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}${tty ? '\x1b[0m' : ''}\n`) }
      })
      const html = str(values.html)
      if (html != null) await writeFile(html, htmlReport(report))
      if (!report.passed) process.exitCode = 1
      return { json: report, text: textReport(report) + (html != null ? `\nHTML report: ${html}` : '') }
    }
  }
}
