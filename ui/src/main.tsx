import { render } from 'preact'
import { App } from './shell/app.js'
import { events, refresh, session } from './state.js'
import './theme.js'
import './styles.css'

// The event stream only once signed in (a locked node starts it after unlocking).
refresh().then(() => { if (session.value === 'signed-in') events.start() }, err => { console.error(err) })
render(<App />, document.getElementById('app') as HTMLElement)
