/**
 * Every relative link of the repository's Markdown (README, docs/, the examples' and the bench's READMEs,
 * the CHANGELOG) resolves: the file exists, and a `#anchor` names a heading of the target (GitHub's slugs).
 * The guide moved from the README to docs/ (issue 15) and pages keep moving; a link left pointing at the old
 * place is caught here, not by a reader.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import t from 'tap'
import { REPO } from './packed.js'

const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', 'test-artifacts', '.git', 'coverage', '.tap'])

function markdownFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : markdownFiles(join(dir, entry.name))
    return entry.name.endsWith('.md') ? [join(dir, entry.name)] : []
  })
}

// Fenced blocks and inline code are not Markdown: a `[a](b)` or a `# comment` inside them is text.
function prose (text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, (code) => code.replace(/[[\]()#]/g, ' '))
}

/** GitHub's anchor of a heading (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function slug (heading: string): string {
  const text = heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** The anchors of a Markdown text, with GitHub's -1, -2, ... for repeated headings. */
export function anchors (text: string): Set<string> {
  const seen = new Map<string, number>()
  const found = new Set<string>()
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const match of withoutFences.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const base = slug(match[1])
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    found.add(count === 0 ? base : `${base}-${count}`)
  }
  return found
}

/** The relative links of a Markdown text, as written (`path`, `path#anchor`, `#anchor`). */
export function relativeLinks (text: string): string[] {
  return [...prose(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

/** What is wrong with one link of the file `from`, or undefined when it resolves. */
export function brokenLink (from: string, target: string, read: (file: string) => string = (file) => readFileSync(file, 'utf8')): string | undefined {
  const [path, anchor] = target.split('#', 2) as [string, string | undefined]
  const file = path === '' ? from : join(dirname(from), decodeURIComponent(path))
  if (path !== '' && !existsSync(file)) return `${target}: ${relative(REPO, file)} does not exist`
  if (anchor === undefined || anchor === '') return undefined
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`
  if (!anchors(read(file)).has(decodeURIComponent(anchor).toLowerCase())) return `${target}: ${relative(REPO, file)} has no heading #${anchor}`
  return undefined
}

t.test('the slugs are GitHub\'s', async (t) => {
  t.equal(slug('100,000 clients on this machine'), '100000-clients-on-this-machine')
  t.equal(slug('Delivery: what you can rely on'), 'delivery-what-you-can-rely-on')
  t.equal(slug('The plugin, errors and OpenAPI'), 'the-plugin-errors-and-openapi')
  t.equal(slug('`@sseRoute` and `FVIEWS_ERR_X`'), 'sseroute-and-fviews_err_x')
  t.equal(slug('[Views](views.md) - a view'), 'views---a-view')
  t.same([...anchors('# A\n## A\n```sh\n# not a heading\n```\n### B ##\n')], ['a', 'a-1', 'b'])
})

t.test('links in code are not links, external ones are not checked', async (t) => {
  t.same(relativeLinks('[a](docs/a.md) `[b](no.md)` [c](https://x.y/z) [d](#here "title")\n```md\n[e](gone.md)\n```\n'), ['docs/a.md', '#here'])
})

t.test('a broken file or anchor is reported', async (t) => {
  const readme = join(REPO, 'README.md')
  t.equal(brokenLink(readme, 'docs/README.md'), undefined)
  t.match(brokenLink(readme, 'docs/no-such-page.md'), /docs\/no-such-page\.md does not exist/)
  t.match(brokenLink(readme, '#no-such-heading', () => '# Install\n'), /has no heading #no-such-heading/)
  t.equal(brokenLink(readme, '#install', () => '## Install\n'), undefined)
  t.match(brokenLink(readme, 'package.json#x'), /not Markdown/)
})

const files = markdownFiles(REPO)

t.test('the repository\'s Markdown is found', async (t) => {
  const names = files.map((file) => relative(REPO, file))
  for (const name of ['README.md', 'CHANGELOG.md', 'docs/README.md', 'docs/errors.md', 'bench/README.md', 'examples/quickstart/README.md']) {
    t.ok(names.includes(name), name)
  }
})

t.test('every relative link and anchor resolves', async (t) => {
  let checked = 0
  for (const file of files) {
    const broken = relativeLinks(readFileSync(file, 'utf8')).map((target) => { checked++; return brokenLink(file, target) }).filter((problem) => problem !== undefined)
    t.same(broken, [], `${relative(REPO, file)}: every relative link resolves`)
  }
  t.ok(checked >= 60, `${checked} links checked`)
})
