/**
 * The preload script: hands the port the main process sends on to the page. With context
 * isolation a MessagePort crosses to the page's world only through window.postMessage.
 */
import { ipcRenderer } from 'electron'

ipcRenderer.on('celeriac-port', (event) => {
  window.postMessage('celeriac-port', '*', event.ports as MessagePort[])
})
