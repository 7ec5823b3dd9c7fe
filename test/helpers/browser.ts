/**
 * Debian's Chromium driven by playwright-core: no downloaded browsers. When a test fails, every open page
 * is saved as a screenshot under test-artifacts/ (git-ignored) for the CI log to point at.
 */
import { mkdir } from 'node:fs/promises'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

interface TapLike { teardown: (fn: () => unknown) => void, passing: () => boolean, name: string }

export async function launchBrowser (t: TapLike): Promise<{ browser: Browser, page: (label: string) => Promise<Page> }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: FLAGS, headless: true })
  const pages: Array<{ label: string, page: Page }> = []
  t.teardown(async () => {
    if (!t.passing()) {
      const dir = new URL('../../test-artifacts/', import.meta.url)
      await mkdir(dir, { recursive: true })
      for (const { label, page } of pages) {
        const file = new URL(`${t.name.replace(/[^a-z0-9]+/gi, '-')}-${label}.png`, dir)
        await page.screenshot({ path: file.pathname, fullPage: true }).catch(() => {})
      }
    }
    await browser.close()
  })
  return {
    browser,
    page: async (label: string) => {
      const context = await browser.newContext()
      const page = await context.newPage()
      pages.push({ label, page })
      return page
    }
  }
}
