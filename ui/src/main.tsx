import { render } from 'preact'
import { App } from './shell/app.js'
import { events, refresh, session } from './state.js'
import './theme.js'
// The text fonts ship with the build (served by the node like the rest of the page), so
// Latin and Chinese text look the same on every machine and nothing is fetched from
// elsewhere; the browser loads only the pieces (unicode ranges) a page uses. Emoji come from
// the system's colour emoji font (see README, "Not yet").
import '@fontsource/noto-sans/400.css'
import '@fontsource/noto-sans/700.css'
import '@fontsource/noto-sans-sc/400.css'
import '@fontsource/noto-sans-sc/700.css'
import './styles.css'

// The event stream only once signed in (a locked node starts it after unlocking).
refresh().then(() => { if (session.value === 'signed-in') events.start() }, err => { console.error(err) })
render(<App />, document.getElementById('app') as HTMLElement)
