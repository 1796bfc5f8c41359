#!/usr/bin/env node
import '../polyfill.js'
import { parseArgs } from 'node:util'
import { DataDir } from '../data-dir.js'
import { commands, type Command } from './commands.js'

const OPTIONS = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  'network-key': { type: 'string' },
  'passphrase-file': { type: 'string' },
  encrypt: { type: 'boolean' },
  listen: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  api: { type: 'string' },
  'api-socket': { type: 'string' },
  lab: { type: 'boolean' },
  'no-mdns': { type: 'boolean' },
  'unlock-in-browser': { type: 'boolean' },
  'sync-interval': { type: 'string' },
  limit: { type: 'string' },
  'reply-to': { type: 'string' },
  role: { type: 'string' },
  ttl: { type: 'string' },
  for: { type: 'string' },
  out: { type: 'string' },
  'audit-deletes': { type: 'boolean' },
  format: { type: 'string' },
  group: { type: 'string' },
  from: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'has-file': { type: 'boolean' },
  text: { type: 'string' },
  wait: { type: 'string' },
  'no-files': { type: 'boolean' },
  'max-file-size': { type: 'string' },
  'in-process': { type: 'boolean' },
  html: { type: 'string' },
  keep: { type: 'boolean' }
} as const

class UsageError extends Error {}

let exitNow = false

function usage (): string {
  const lines = Object.values(commands).flatMap(c => [`  outpost ${c.usage}`, `      ${c.summary}`])
  return [
    'usage: outpost <command> [--data DIR] [--json]',
    '',
    ...lines,
    '',
    'Every command takes --data DIR (default $OUTPOST_HOME, else ~/.outpost) and --json.'
  ].join('\n')
}

function findCommand (positionals: string[]): { command: Command, args: string[] } {
  const two = positionals.slice(0, 2).join(' ')
  if (commands[two] != null) return { command: commands[two], args: positionals.slice(2) }
  if (commands[positionals[0]] != null) return { command: commands[positionals[0]], args: positionals.slice(1) }
  if (positionals.length === 0) throw new UsageError('no command given; see `outpost --help`')
  const families = ['group', 'file', 'audit']
  throw new UsageError(`unknown command '${positionals.slice(0, families.includes(positionals[0]) ? 2 : 1).join(' ')}'; see \`outpost --help\``)
}

async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see \`outpost --help\``)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  const { command, args } = findCommand(positionals)
  for (const name of Object.keys(values)) {
    if (!['data', 'json', 'help'].includes(name) && !command.options.includes(name)) {
      throw new UsageError(`option --${name} does not apply to '${command.usage.split(' [')[0]}'`)
    }
  }
  if (args.length < command.args || args.length > (command.maxArgs ?? command.args)) {
    throw new UsageError(`usage: outpost ${command.usage}`)
  }
  const output = await command.run({ args, values, dataDir: new DataDir(values.data) })
  exitNow = command.exitWhenDone === true
  if (output != null) {
    const text = values.json === true ? JSON.stringify(output.json) : output.text
    if (text != null && text !== '') process.stdout.write(text + '\n')
  }
  return 0
}

main(process.argv.slice(2)).then(code => {
  process.exitCode ??= code
  if (exitNow) process.exit()
}, (err: Error) => {
  // One line that says what is wrong and what to do.
  process.stderr.write(`outpost: ${err.message.split('\n')[0]}\n`)
  process.exitCode = err instanceof UsageError ? 2 : 1
})
