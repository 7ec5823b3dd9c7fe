// The CRM page. A person picks a demo user; the page shows the threads that user may see and subscribes to
// their topics, `thread:<id>`. A comment event only names the thread that changed (`{ id, threadId }`), and
// the page reloads that thread's comments over REST ("notify, then fetch"). The server authorizes every
// topic: asking for another workspace's thread would be refused with 403 before anything streams.
'use strict'

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
    this.source = null
    this.lastEventId = ''
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
    this.source?.close()
    setLive(false)
  }

  connect () {
    if (this.closed) return
    const topics = this.threads.map((thread) => `thread:${thread.id}`).join(',')
    const resume = this.lastEventId === '' ? '' : `&lastEventId=${encodeURIComponent(this.lastEventId)}`
    // EventSource cannot set headers: the token goes in the query (the server keeps it out of its log).
    const source = new EventSource(`/events?topic=${encodeURIComponent(topics)}&access_token=${encodeURIComponent(this.user.token)}${resume}`)
    this.source = source
    const on = (name, handle) => source.addEventListener(name, (event) => {
      this.lastEventId = event.lastEventId
      handle(JSON.parse(event.data))
    })
    source.addEventListener('open', () => setLive(true))
    source.addEventListener('error', () => {
      setLive(false)
      // After an error status EventSource gives up for good: open a new one that resumes from the last id.
      if (source.readyState === EventSource.CLOSED) setTimeout(() => this.connect(), 2000)
    })
    // The first `subscribed` loads everything; after a reconnect the server replays what was missed.
    on('subscribed', () => { if (!this.loaded) { this.loaded = true; this.reloadAll() } })
    on('reset', () => this.reloadAll())
    for (const name of ['comment:created', 'comment:updated', 'comment:deleted']) {
      on(name, ({ threadId }) => this.serially(() => this.loadThread(threadId)))
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
