// The CRM page. A person picks a demo user; the page shows the threads that user may see and subscribes to
// their topics, `thread:<id>`. A comment event only names the thread that changed (`{ id, threadId }`), and
// the page reloads that thread's comments over REST ("notify, then fetch"). The server authorizes every
// topic: asking for another workspace's thread would be refused with 403 before anything streams.
// The stream is fastify-views/client (served at /client.js): the token goes in the Authorization header, as
// for every other request, and the client resumes, backs off and stops on a 401/403 by itself.
import { subscribe } from '/client.js'

const status = document.getElementById('status')
const picker = document.getElementById('user')
const who = document.getElementById('who')
const container = document.getElementById('threads')

// The session of the user picked: replaced as a whole when another user is picked.
let session = null

function setLive (live) {
  status.textContent = live ? 'Live' : 'Offline'
  status.className = live ? 'live' : 'offline'
}

function signIn (user) {
  session?.close()
  session = new Session(user)
  session.start()
  history.replaceState(null, '', `?user=${encodeURIComponent(user.id)}`)
}

class Session {
  constructor (user) {
    this.user = user
    this.threads = []
    this.stream = null
    this.loaded = false
    this.closed = false
    // Updates apply one after another, so a slow reply cannot overwrite a newer one.
    this.updates = Promise.resolve()
  }

  serially (update) {
    this.updates = this.updates.then(() => this.closed ? undefined : update()).catch((error) => console.error('update failed', error))
  }

  api (url, init = {}) {
    return fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${this.user.token}` } })
  }

  async start () {
    const [me, threads] = await Promise.all([this.api('/me').then((r) => r.json()), this.api('/threads').then((r) => r.json())])
    if (this.closed) return
    who.textContent = me.workspace === null ? `${me.role}, every workspace` : `${me.role} in workspace ${me.workspace}`
    this.threads = threads
    container.replaceChildren(...threads.map((thread) => this.renderThread(thread)))
    this.connect()
  }

  close () {
    this.closed = true
    this.stream?.close()
    setLive(false)
  }

  connect () {
    if (this.closed) return
    const topics = this.threads.map((thread) => `thread:${thread.id}`)
    const stream = subscribe('/events', topics, { headers: { authorization: `Bearer ${this.user.token}` }, maxDelayMs: 5000 })
    this.stream = stream
    stream.onState(({ state }) => {
      setLive(state === 'open')
      // The first time the stream opens, load everything; after a reconnect the server replays what was missed.
      if (state === 'open' && !this.loaded) { this.loaded = true; this.reloadAll() }
    })
    stream.onError((error) => { if (error.final) console.error('the event stream stopped', error.problem ?? error) })
    stream.onReset(() => this.reloadAll())
    for (const name of ['comment:created', 'comment:updated', 'comment:deleted']) {
      stream.on(name, ({ threadId }) => this.serially(() => this.loadThread(threadId)))
    }
  }

  reloadAll () {
    for (const thread of this.threads) this.serially(() => this.loadThread(thread.id))
  }

  async loadThread (threadId) {
    const list = container.querySelector(`section[data-thread="${threadId}"] ul`)
    if (!list) return
    const comments = await (await this.api(`/threads/${threadId}/comments`)).json()
    if (this.closed) return
    list.replaceChildren(...comments.map((comment) => {
      const item = document.createElement('li')
      item.className = 'comment'
      item.dataset.id = String(comment.id)
      item.append(Object.assign(document.createElement('span'), { className: 'author', textContent: comment.author }), comment.content)
      return item
    }))
  }

  renderThread (thread) {
    const section = document.createElement('section')
    section.dataset.thread = String(thread.id)
    const title = document.createElement('h2')
    title.append(thread.title, ' ', Object.assign(document.createElement('small'), { textContent: thread.workspace }))
    const form = document.createElement('form')
    const input = Object.assign(document.createElement('input'), { name: 'content', placeholder: 'Add a comment', required: true, maxLength: 2000, autocomplete: 'off' })
    form.append(input, Object.assign(document.createElement('button'), { textContent: 'Post' }))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const content = input.value.trim()
      input.value = ''
      if (content === '') return
      this.serially(async () => {
        await this.api(`/threads/${thread.id}/comments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }) })
        await this.loadThread(thread.id)
      })
    })
    section.append(title, document.createElement('ul'), form)
    return section
  }
}

fetch('/demo-users').then((response) => response.json()).then((users) => {
  picker.replaceChildren(...users.map((user) => Object.assign(document.createElement('option'), { value: user.id, textContent: user.name })))
  const wanted = new URLSearchParams(location.search).get('user')
  const chosen = users.find((user) => user.id === wanted) ?? users[0]
  picker.value = chosen.id
  picker.addEventListener('change', () => signIn(users.find((user) => user.id === picker.value)))
  signIn(chosen)
})
