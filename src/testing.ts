/** `celeriac/testing`: a virtual clock and a recorder of sent tasks. */
export { virtualClock } from './testing/virtual-clock.js'
export type { VirtualClock } from './testing/virtual-clock.js'
export { recorder } from './testing/recorder.js'
export type { Recorder, RecordedTask, TaskSelector } from './testing/recorder.js'
