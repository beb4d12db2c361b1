/** The page's tasks: the same dataset tasks as the Node examples, run in Web Workers here. */
export { defineDatasetTasks, chunked } from '../node/dataset-tasks.js'
