import { readFile } from 'node:fs/promises'
import { InvalidRequestError, PassphraseRequiredError } from '../errors.js'

/** A passphrase file's content; one trailing newline is not part of it (editors add one). */
export async function readPassphraseFile (file: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw new InvalidRequestError(`cannot read the passphrase file ${file}`)
  }
  const passphrase = text.replace(/\r?\n$/, '')
  if (passphrase.length === 0) throw new InvalidRequestError(`the passphrase file ${file} is empty`)
  return passphrase
}

/**
 * Reads a line from the terminal without echoing it (raw mode, so no dependency is needed).
 * The prompt goes to stderr: stdout stays the command's output (one JSON document with --json).
 */
export async function promptPassphrase (prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  return await new Promise<string>((resolve, reject) => {
    let text = ''
    const finish = (): void => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish()
          resolve(text)
          return
        } else if (ch === '\u0003' || (ch === '\u0004' && text === '')) { // Ctrl-C, Ctrl-D
          finish()
          reject(new InvalidRequestError('cancelled: no passphrase was given'))
          return
        } else if (ch === '\u007f' || ch === '\b') {
          text = [...text].slice(0, -1).join('')
        } else if (ch >= ' ') {
          text += ch
        }
      }
    }
    stdin.on('data', onData)
  })
}

function canPrompt (): boolean {
  return process.stdin.isTTY === true && typeof process.stdin.setRawMode === 'function'
}

/** A new passphrase typed twice (`init --encrypt`). */
export async function promptNewPassphrase (): Promise<string> {
  if (!canPrompt()) throw new InvalidRequestError('--encrypt asks for the passphrase in a terminal; without one, give --passphrase-file FILE')
  const first = await promptPassphrase('New passphrase: ')
  if (first.length === 0) throw new InvalidRequestError('the passphrase is empty')
  if (await promptPassphrase('Repeat the passphrase: ') !== first) throw new InvalidRequestError('the two passphrases differ; nothing was changed')
  return first
}

/**
 * Runs `run` with the passphrase from --passphrase-file; without the option, runs it
 * without one and, if the data directory turns out to be encrypted and stdin is a terminal,
 * asks for the passphrase and runs it again. (Without a terminal the error says to pass
 * --passphrase-file.) The vault refuses before it changes anything, so a retry is safe.
 */
export async function withPassphrase<T> (file: string | undefined, run: (passphrase: string | undefined) => Promise<T>): Promise<T> {
  if (file != null) return await run(await readPassphraseFile(file))
  try {
    return await run(undefined)
  } catch (err) {
    if ((err as Error).name !== PassphraseRequiredError.NAME || !canPrompt()) throw err
  }
  return await run(await promptPassphrase('Passphrase: '))
}
