import { render } from 'preact'
import { App } from './shell/app.js'
import { events, refresh } from './state.js'
import './theme.js'
import './styles.css'

refresh().then(() => { events.start() }, err => { console.error(err) })
render(<App />, document.getElementById('app') as HTMLElement)
