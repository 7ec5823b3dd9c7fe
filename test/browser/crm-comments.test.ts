/**
 * The CRM page in Chromium: each person picks a demo user and sees only the threads and comments that user
 * may see - what is there when the page opens, and what others write afterwards, live.
 */
import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../../examples/crm-comments/app.js'
import { launchBrowser } from '../helpers/browser.js'
import { http } from '../helpers/http.js'
import { start } from '../helpers/example-app.js'

const LIVE = { timeout: 2_000 }
const comments = (page: Page, thread?: number) => page.locator(thread === undefined ? 'li.comment' : `section[data-thread="${thread}"] li.comment`).allTextContents()
const post = (base: string, user: string, thread: number, content: string) =>
  http(base, 'POST', `/threads/${thread}/comments`, { headers: { authorization: `Bearer ${user}-token` }, body: { content } })

async function openAs (page: Page, base: string, user: string): Promise<void> {
  await page.goto(`${base}/?user=${user}`)
  await page.locator('#status', { hasText: 'Live' }).waitFor({ timeout: 10_000 })
}

t.test('the CRM page shows only the comments the chosen user may see, live', async (t) => {
  const { app, base } = await start(build, { env: {}, drainMs: 0, fastify: { logger: false } })
  t.teardown(() => app.close())
  // Written before anyone opens the page.
  t.equal((await post(base, 'bob', 1, 'renewal call on Monday')).status, 201)
  t.equal((await post(base, 'carol', 3, 'pilot scope agreed')).status, 201)

  const { page } = await launchBrowser(t)
  const alice = await page('alice')
  const carol = await page('carol')
  await openAs(alice, base, 'alice')
  await openAs(carol, base, 'carol')

  t.same(await alice.locator('section h2').allTextContents(), ['Acme renewal acme', 'Acme onboarding acme'])
  t.same(await carol.locator('section h2').allTextContents(), ['Globex pilot globex'])
  t.equal(await alice.locator('#who').textContent(), 'agent in workspace acme')
  await alice.locator('li.comment', { hasText: 'renewal call on Monday' }).waitFor(LIVE)
  await carol.locator('li.comment', { hasText: 'pilot scope agreed' }).waitFor(LIVE)
  t.same(await comments(alice), ['bobrenewal call on Monday'])
  t.same(await comments(carol), ['carolpilot scope agreed'])

  // Bob (Acme) writes through the API: Alice's page shows it.
  t.equal((await post(base, 'bob', 2, 'kickoff booked')).status, 201)
  await alice.locator('section[data-thread="2"] li.comment', { hasText: 'kickoff booked' }).waitFor(LIVE)
  // Carol writes through her page: her page shows it, Alice's never does.
  await carol.locator('section[data-thread="3"] input[name=content]').fill('pilot started')
  await carol.locator('section[data-thread="3"] button').click()
  await carol.locator('li.comment', { hasText: 'pilot started' }).waitFor(LIVE)
  // A last Acme comment: once Alice's page has it, everything before it has been delivered too.
  t.equal((await post(base, 'alice', 1, 'signed')).status, 201)
  await alice.locator('li.comment', { hasText: 'signed' }).waitFor(LIVE)
  t.same(await comments(alice, 1), ['bobrenewal call on Monday', 'alicesigned'])
  t.same(await comments(alice, 2), ['bobkickoff booked'])
  t.same(await comments(alice), ['bobrenewal call on Monday', 'alicesigned', 'bobkickoff booked'], 'nothing of Globex')
  t.same(await comments(carol), ['carolpilot scope agreed', 'carolpilot started'], 'nothing of Acme')

  // Deletions follow as well.
  t.equal((await http(base, 'DELETE', '/comments/1', { headers: { authorization: 'Bearer bob-token' } })).status, 204)
  await alice.locator('li.comment', { hasText: 'renewal call on Monday' }).waitFor({ state: 'detached', ...LIVE })

  // The same window, another user: Dave, a moderator, sees every workspace.
  await alice.selectOption('#user', 'dave')
  await alice.locator('#who', { hasText: 'moderator, every workspace' }).waitFor(LIVE)
  await alice.locator('#status', { hasText: 'Live' }).waitFor(LIVE)
  t.same(await alice.locator('section h2').allTextContents(), ['Acme renewal acme', 'Acme onboarding acme', 'Globex pilot globex'])
  await alice.locator('li.comment', { hasText: 'pilot started' }).waitFor(LIVE)
  t.equal((await post(base, 'carol', 3, 'for the moderator too')).status, 201)
  await alice.locator('section[data-thread="3"] li.comment', { hasText: 'for the moderator too' }).waitFor(LIVE)
  t.match(alice.url(), /\?user=dave$/)
})
