/**
 * How the examples talk to whoever started them. On a terminal: readable log lines (pino-pretty) and the
 * URL to open printed as plain text. Anywhere else (a container, a log collector, the example tests):
 * one JSON line per log entry, as pino writes them. LOG_LEVEL sets the level (info);
 * LOG_FORMAT=json keeps JSON on a terminal too.
 */
import type { FastifyServerOptions } from 'fastify'

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>

export function exampleLogger (options: LoggerOptions = {}): LoggerOptions {
  const logger = { level: process.env.LOG_LEVEL ?? 'info', ...options }
  if (process.stdout.isTTY !== true || process.env.LOG_FORMAT === 'json') return logger
  return {
    ...logger,
    transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } }
  }
}

/** Prints what to open, as plain lines rather than inside a log entry, so it reads (and clicks) as a URL. */
export function announce (lines: string[]): void {
  process.stdout.write(`\n${lines.map((line) => `  ${line}`).join('\n')}\n\n`)
}
