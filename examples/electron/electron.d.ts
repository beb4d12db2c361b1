/**
 * The part of Electron's API main.ts and preload.ts use, declared here so that the example
 * type-checks in this repository, where the `electron` package (and its binary) is not
 * installed. In an app of your own, delete this file and `npm install electron`.
 */
declare module 'electron' {
  interface MessagePortMain {
    postMessage(message: unknown): void
    on(type: 'message', listener: (event: { data: unknown }) => void): this
    on(type: 'close', listener: () => void): this
    start(): void
    close(): void
  }
  export class MessageChannelMain {
    readonly port1: MessagePortMain
    readonly port2: MessagePortMain
  }
  interface WebContents {
    postMessage(channel: string, message: unknown, transfer?: MessagePortMain[]): void
    on(event: 'did-finish-load', listener: () => void): this
  }
  export class BrowserWindow {
    constructor(options: { width?: number; height?: number; webPreferences?: { preload?: string; contextIsolation?: boolean } })
    readonly webContents: WebContents
    loadFile(path: string): Promise<void>
  }
  export const app: {
    whenReady(): Promise<void>
    getPath(name: 'userData'): string
    on(event: 'before-quit' | 'window-all-closed', listener: (event: { preventDefault(): void }) => void): void
    quit(): void
  }
  export const ipcRenderer: {
    on(channel: string, listener: (event: { ports: unknown[] }) => void): void
  }
}
