// The quickstart page. The list follows the server by "notify, then fetch": an event names the task that
// changed, and the page reads that task over REST, the source of truth.
//
// - When the stream first opens, the whole list is loaded.
// - The client reconnects by itself and sends the id of the last event it received; the server replays
//   exactly the events missed meanwhile, so nothing is reloaded after a reconnect.
// - `reset` means the server could not replay them (it restarted without Redis, say): reload the list.
// - Live/Offline follows the connection state.
import { subscribe } from '/client.js'

const list = document.getElementById('tasks')
const empty = document.getElementById('empty')
const status = document.getElementById('status')

let loaded = false
// Updates apply one after another, in the order they were asked for: a slow reply cannot undo a newer one.
let updates = Promise.resolve()
const serially = (update) => { updates = updates.then(update).catch((error) => console.error('update failed', error)) }

async function api (method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${url}: ${response.status}`)
  return response
}

// ---- rendering

function render (task) {
  const item = document.createElement('li')
  item.dataset.id = String(task.id)
  item.className = task.done ? 'done' : ''
  const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: task.done, title: 'Done' })
  box.addEventListener('change', () => serially(async () => {
    const response = await api('PATCH', `/tasks/${task.id}`, { done: box.checked })
    if (response.ok) upsert(await response.json())
  }))
  const title = Object.assign(document.createElement('span'), { textContent: task.title })
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Delete', className: 'delete' })
  remove.addEventListener('click', () => serially(async () => {
    await api('DELETE', `/tasks/${task.id}`)
    removeItem(task.id)
  }))
  item.append(box, title, remove)
  return item
}

const itemOf = (id) => list.querySelector(`li[data-id="${id}"]`)
const showEmpty = () => { empty.hidden = list.children.length > 0 }

function upsert (task) {
  const item = render(task)
  const existing = itemOf(task.id)
  if (existing) existing.replaceWith(item)
  else {
    // Keep the list in id order (creation order).
    const next = [...list.children].find((other) => Number(other.dataset.id) > task.id)
    list.insertBefore(item, next ?? null)
  }
  showEmpty()
}

function removeItem (id) {
  itemOf(id)?.remove()
  showEmpty()
}

async function loadAll () {
  const tasks = await (await api('GET', '/tasks')).json()
  list.replaceChildren(...tasks.sort((a, b) => a.id - b.id).map(render))
  showEmpty()
}

async function loadOne (id) {
  const response = await api('GET', `/tasks/${id}`)
  if (response.status === 404) removeItem(id) // deleted since the event was sent
  else upsert(await response.json())
}

document.getElementById('add').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = event.target.elements.title
  const title = input.value.trim()
  input.value = ''
  if (title !== '') {
    serially(async () => {
      const response = await api('POST', '/tasks', { title })
      upsert(await response.json())
    })
  }
})

// ---- the event stream

function setLive (live) {
  status.textContent = live ? 'Live' : 'Offline'
  status.className = live ? 'live' : 'offline'
}

// fastify-views/client (served at /client.js): it resumes from the last event id on every reconnect, backs
// off (honouring Retry-After when the instance is full), and reconnects a stream that went silent.
const stream = subscribe('/events', ['tasks'], { maxDelayMs: 5000 })
stream.onState(({ state }) => {
  setLive(state === 'open')
  // The subscription is live once the stream opens: load the list the events then keep current. After a
  // reconnect, the events missed are replayed, so nothing is reloaded.
  if (state === 'open' && !loaded) { loaded = true; serially(loadAll) }
})
// The server could not replay what was missed (it restarted without Redis, say): reload the list.
stream.onReset(() => serially(loadAll))
stream.on('task:created', ({ id }) => serially(() => loadOne(id)))
stream.on('task:updated', ({ id }) => serially(() => loadOne(id)))
stream.on('task:deleted', ({ id }) => serially(() => removeItem(id)))
