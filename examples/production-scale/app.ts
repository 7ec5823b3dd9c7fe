/**
 * Production scale: the quickstart's task API run as several instances behind one Redis. Redis carries the
 * events (so a change made on any instance reaches subscribers of every instance, and a client resumes on any
 * instance) and, here, the tasks themselves, so every instance answers the same REST reads.
 */
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { FVIEWS_ERR_OPTION_INVALID } from '../../lib/index.js'
import { build as buildQuickstart, type QuickstartOptions, type Task, type TaskRepository } from '../quickstart/app.js'

// Read, change and write one task atomically: two instances changing one task cannot lose either change.
const CHANGE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local task = cjson.decode(raw)
for field, value in pairs(cjson.decode(ARGV[2])) do task[field] = value end
raw = cjson.encode(task)
redis.call('HSET', KEYS[1], ARGV[1], raw)
return raw`

/** The tasks in a Redis hash (`<prefix>tasks`), ids from INCR (`<prefix>tasks:next`). */
export class RedisTaskStore implements TaskRepository {
  private readonly hash: string
  private readonly counter: string

  constructor (private readonly redis: Redis, prefix = '') {
    this.hash = `${prefix}tasks`
    this.counter = `${prefix}tasks:next`
  }

  async all (): Promise<Task[]> {
    const values = await this.redis.hvals(this.hash)
    return values.map((raw) => JSON.parse(raw) as Task).sort((a, b) => a.id - b.id)
  }

  async get (id: number): Promise<Task | undefined> {
    const raw = await this.redis.hget(this.hash, String(id))
    return raw === null ? undefined : JSON.parse(raw) as Task
  }

  async add (title: string): Promise<Task> {
    const task: Task = { id: await this.redis.incr(this.counter), title, done: false }
    await this.redis.hset(this.hash, String(task.id), JSON.stringify(task))
    return task
  }

  async change (id: number, fields: Partial<Omit<Task, 'id'>>): Promise<Task | undefined> {
    const raw = await this.redis.eval(CHANGE, 1, this.hash, String(id), JSON.stringify(fields)) as string | null
    return raw === null ? undefined : JSON.parse(raw) as Task
  }

  async remove (id: number): Promise<boolean> {
    return await this.redis.hdel(this.hash, String(id)) === 1
  }
}

export type ProductionOptions = Omit<QuickstartOptions, 'store'>

export async function build (options: ProductionOptions = {}): Promise<FastifyInstance> {
  const env = options.env ?? process.env
  const url = options.redisUrl ?? env.REDIS_URL
  if (url === undefined || url === '') throw new FVIEWS_ERR_OPTION_INVALID('REDIS_URL', 'production-scale needs a Redis shared by its instances, e.g. redis://127.0.0.1:6379/0')
  // A request fails after two retries rather than waiting for Redis forever.
  const redis = new Redis(url, { maxRetriesPerRequest: 2 })
  const app = await buildQuickstart({ ...options, redisUrl: url, store: new RedisTaskStore(redis, options.topicPrefix ?? env.TOPIC_PREFIX ?? '') })
  app.addHook('onClose', async () => { await redis.quit() })
  return app
}
