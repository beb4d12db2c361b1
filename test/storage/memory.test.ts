import { memoryStorage } from '../../src/index.js'
import { storageContract } from './contract.js'

storageContract('memory', () => memoryStorage())
